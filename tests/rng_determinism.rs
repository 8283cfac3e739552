//! Determinism and allocation behaviour of the fills through the C entry
//! points: bitwise identical for 1, 2 and 3 threads, split-and-resume equals
//! one call, zero heap allocations per call once the pool exists, and one
//! thread starts no worker threads.
//!
//! Every test holds `support::alloc::exclusive()`: the thread count is global
//! and allocation counting sees all threads.

mod support;

use fieldkern::ffi::fk_status;
use fieldkern::ffi::rng::{
    fk_rng_fill_normal_f64, fk_rng_fill_u32, fk_rng_fill_uniform_f32, fk_rng_fill_uniform_f64,
};
use fieldkern::ffi::runtime::{fk_get_num_threads, fk_set_num_threads};
use support::alloc::{count_allocations, exclusive};

const N: usize = 1_000_003;
const SEED: u64 = 0xC0FFEE;
const STREAM: u64 = 17;
const OFFSET: u64 = 5;

/// Calls all four fills into fresh buffers.
fn fill_all(offset: u64, n: usize) -> (Vec<u32>, Vec<f32>, Vec<f64>, Vec<f64>) {
    let (mut a, mut b, mut c, mut d) = (vec![0u32; n], vec![0f32; n], vec![0f64; n], vec![0f64; n]);
    // SAFETY: each buffer holds n elements.
    unsafe {
        assert_eq!(
            fk_rng_fill_u32(SEED, STREAM, offset, a.as_mut_ptr(), n),
            fk_status::FK_OK
        );
        assert_eq!(
            fk_rng_fill_uniform_f32(SEED, STREAM, offset, b.as_mut_ptr(), n),
            fk_status::FK_OK
        );
        assert_eq!(
            fk_rng_fill_uniform_f64(SEED, STREAM, offset, c.as_mut_ptr(), n),
            fk_status::FK_OK
        );
        assert_eq!(
            fk_rng_fill_normal_f64(SEED, STREAM, offset, d.as_mut_ptr(), n),
            fk_status::FK_OK
        );
    }
    (a, b, c, d)
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn fills_are_bitwise_identical_for_one_two_and_three_threads() {
    let _g = exclusive();
    assert_eq!(fk_set_num_threads(1), fk_status::FK_OK);
    let one = fill_all(OFFSET, N);
    for threads in [2, 3] {
        assert_eq!(fk_set_num_threads(threads), fk_status::FK_OK);
        assert_eq!(fk_get_num_threads(), threads);
        let many = fill_all(OFFSET, N);
        assert_eq!(one.0, many.0, "u32, {threads} threads");
        assert!(one
            .1
            .iter()
            .zip(&many.1)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!(
            bits(&one.2),
            bits(&many.2),
            "uniform f64, {threads} threads"
        );
        assert_eq!(bits(&one.3), bits(&many.3), "normal f64, {threads} threads");
    }
}

#[test]
fn filling_in_two_calls_equals_one_call() {
    let _g = exclusive();
    assert_eq!(fk_set_num_threads(2), fk_status::FK_OK);
    let whole = fill_all(OFFSET, N);
    for k in [1usize, 3, 4097, 65_536, N - 1] {
        let head = fill_all(OFFSET, k);
        let tail = fill_all(OFFSET + k as u64, N - k);
        assert_eq!([head.0, tail.0].concat(), whole.0, "u32 split at {k}");
        assert_eq!(
            bits(&[head.2, tail.2].concat()),
            bits(&whole.2),
            "uniform split at {k}"
        );
        assert_eq!(
            bits(&[head.3, tail.3].concat()),
            bits(&whole.3),
            "normal split at {k}"
        );
        let f32s: Vec<u32> = [head.1, tail.1]
            .concat()
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(
            f32s,
            whole.1.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn fills_allocate_nothing_after_warm_up_with_two_threads() {
    let _g = exclusive();
    for threads in [2, 1] {
        assert_eq!(fk_set_num_threads(threads), fk_status::FK_OK);
        let (mut a, mut b, mut c, mut d) =
            (vec![0u32; N], vec![0f32; N], vec![0f64; N], vec![0f64; N]);
        let mut all_fills = |offset: u64| {
            // SAFETY: each buffer holds N elements.
            unsafe {
                [
                    fk_rng_fill_u32(SEED, STREAM, offset, a.as_mut_ptr(), N),
                    fk_rng_fill_uniform_f32(SEED, STREAM, offset, b.as_mut_ptr(), N),
                    fk_rng_fill_uniform_f64(SEED, STREAM, offset, c.as_mut_ptr(), N),
                    fk_rng_fill_normal_f64(SEED, STREAM, offset, d.as_mut_ptr(), N),
                ]
            }
        };
        all_fills(0); // warm-up: the pool exists now
        let mut statuses = [[fk_status::FK_OK; 4]; 25];
        let ((), allocations) = count_allocations(|| {
            for (round, s) in statuses.iter_mut().enumerate() {
                *s = all_fills(round as u64 * N as u64);
            }
        });
        assert!(statuses.iter().flatten().all(|&s| s == fk_status::FK_OK));
        assert_eq!(
            allocations, 0,
            "{threads} threads: {allocations} allocations in 100 fills"
        );
    }
}

fn worker_threads_alive() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with("fieldkern-"))
        .count()
}

/// A new thread names itself once it runs; poll (up to 5 s) until `want` are seen.
fn wait_for_workers(want: usize) -> usize {
    for _ in 0..500 {
        if worker_threads_alive() == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    worker_threads_alive()
}

#[test]
fn one_thread_starts_no_worker_threads_and_n_threads_start_n_minus_one() {
    let _g = exclusive();
    assert_eq!(fk_set_num_threads(1), fk_status::FK_OK);
    let _ = fill_all(0, 100_000);
    assert_eq!(worker_threads_alive(), 0);
    assert_eq!(fk_set_num_threads(3), fk_status::FK_OK);
    assert_eq!(wait_for_workers(2), 2);
    assert_eq!(fk_set_num_threads(1), fk_status::FK_OK);
    assert_eq!(worker_threads_alive(), 0);
}

#[test]
fn invalid_thread_counts_are_rejected_and_leave_the_pool_unchanged() {
    let _g = exclusive();
    assert_eq!(fk_set_num_threads(2), fk_status::FK_OK);
    for bad in [0, -1, i32::MIN, 4097] {
        assert_eq!(fk_set_num_threads(bad), fk_status::FK_ERR_OUT_OF_RANGE);
        assert_eq!(fk_get_num_threads(), 2);
    }
}

#[test]
fn allocation_counter_sees_allocations_made_on_pool_threads() {
    let _g = exclusive();
    assert_eq!(fk_set_num_threads(2), fk_status::FK_OK);
    let allocate_in_every_task = || {
        fieldkern::parallel::run(64, &|t| {
            std::hint::black_box(vec![t as u8; 100]);
        })
    };
    allocate_in_every_task(); // warm-up (first use of thread-locals)
    let (_, allocations) = count_allocations(allocate_in_every_task);
    assert_eq!(
        allocations, 64,
        "the counter must see every allocation, on every thread"
    );
}
