//! Exact checks of replica multi-spin coding (`src/mc/ising_replicas.rs`)
//! written from its module documentation alone, closing gaps found by a
//! mutation audit of the kernel and of its C entry points:
//! * sweeps equal an independent scalar reference on lattices large enough
//!   to be split into several row tasks (2D non-square, 3D with a row width
//!   that is not a multiple of 8); the reference reads the raw checkerboard
//!   storage through the documented layout and puts replica `b` at the
//!   documented temperature `T[b mod n]` of the list passed in, so neither
//!   the kernel's own layout helpers nor its temperature table are trusted;
//! * the hot start is the documented Philox mapping, stored in the documented
//!   checkerboard layout;
//! * a replica whose rotated word EQUALS its threshold flips (`w_b <= t`),
//!   through each of the three acceptance paths (one temperature: rotated
//!   mask; table bucket with one end; crowded bucket with 64 ends), 2D and
//!   3D. A random word hits equality with probability 2^-32 per replica, so
//!   the statistical and random-word tests cannot see an off-by-one there;
//!   here the temperatures are solved for so that equality is certain;
//! * invalid input is rejected by the safe core and by the C entry points,
//!   and leaves the state unchanged.
//!
//! Tests that change the thread count hold `support::alloc::exclusive()`.

mod support;

use fieldkern::ffi::ising::{
    fk_ising_replicas_create, fk_ising_replicas_destroy, fk_ising_replicas_observables,
    fk_ising_replicas_params, fk_ising_replicas_params_default, fk_ising_replicas_set_temperatures,
};
use fieldkern::ffi::status::fk_status;
use fieldkern::mc::ising_replicas::{IsingReplicas, IsingReplicasParams, REPLICAS};
use fieldkern::parallel::set_num_threads;
use fieldkern::rng::philox::Philox;
use fieldkern::rng::stream::Stream;
use fieldkern::ErrorKind;
use support::alloc::exclusive;
use support::ising_replicas_ref::{
    extent, flip_probability, reference_sweeps, site_word_of_philox, threshold,
};

/// Documented storage index of `(x, y, z)`: colour `c = (x + y + z) mod 2`,
/// element `c N/2 + r (lx/2) + x/2`, `r = y + ly z`.
fn storage_index(p: &IsingReplicasParams, x: usize, y: usize, z: usize) -> usize {
    let (lx, ly, lz) = extent(p);
    let n = lx * ly * lz;
    (x + y + z) % 2 * (n / 2) + (y + ly * z) * (lx / 2) + x / 2
}

/// Row-major site words read from the raw storage through the documented
/// layout.
fn row_major(p: &IsingReplicasParams, lat: &IsingReplicas) -> Vec<u64> {
    let (lx, ly, lz) = extent(p);
    let raw = lat.words();
    assert_eq!(raw.len(), lx * ly * lz);
    let mut out = Vec::with_capacity(raw.len());
    for z in 0..lz {
        for y in 0..ly {
            for x in 0..lx {
                out.push(raw[storage_index(p, x, y, z)]);
            }
        }
    }
    out
}

/// `(dim, lx, ly, lz, J, h, temperatures)` of a sweep test case.
type Case = (usize, usize, usize, usize, f64, f64, &'static [f64]);

/// Sweeps on lattices of several row tasks (a task is 2^13 sites of one
/// colour: 136 x 128 is 2 tasks of 120 and 8 rows, 20 x 16 x 52 is 2 tasks
/// of 819 and 13 rows) equal the scalar reference bit for bit, for the
/// one-temperature fast path, the h = 0 table path and a field; started at
/// sweep 5 from a hot start. The existing reference test uses single-task
/// lattices only, and the thread-count test compares runs with the same
/// task split, so a row index taken relative to the task (rather than the
/// lattice) in the random-number addressing or the neighbour rows was
/// invisible. Exact: any difference is a bug.
#[test]
fn multi_task_sweeps_equal_the_documented_scalar_reference() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let cases: [Case; 4] = [
        (2, 136, 128, 1, 1.0, 0.0, &[2.3]),
        (2, 136, 128, 1, 0.9, 0.25, &[1.9, 2.6, 3.4]),
        (3, 20, 16, 52, 1.0, 0.0, &[4.5]),
        (3, 20, 16, 52, 1.0, 0.0, &[3.8, 4.4, 5.1, 6.0, 4.0]),
    ];
    for (case, &(dim, lx, ly, lz, j, h, temps)) in cases.iter().enumerate() {
        let p = IsingReplicasParams {
            dim,
            lx,
            ly,
            lz,
            coupling: j,
            field: h,
            seed: 1000 + case as u64,
            stream: 3,
            hot_start: true,
        };
        let mut lat = IsingReplicas::new(&p, temps).unwrap();
        lat.set_sweeps_done(5);
        let mut words = row_major(&p, &lat);
        lat.sweep(2, &mut [], &mut []).unwrap();
        reference_sweeps(&p, temps, &mut words, 5, 2);
        assert!(
            row_major(&p, &lat) == words,
            "case {case}: kernel and reference differ"
        );
    }
}

/// Replica `b` runs at `T[b mod n]` of the list passed (module docs), for
/// every list length 1..=64, at creation and after `set_temperatures`. The
/// sweep reference test reads the kernel's own per-replica table, so a
/// wrong mapping (e.g. blocks of replicas per temperature) was only caught
/// statistically.
#[test]
fn replica_b_runs_at_temperature_b_mod_n() {
    let list: Vec<f64> = (0..64).map(|i| 1.0 + 0.125 * i as f64).collect();
    let p = IsingReplicasParams {
        lx: 4,
        ly: 4,
        ..IsingReplicasParams::default()
    };
    let mut lat = IsingReplicas::new(&p, &list[..1]).unwrap();
    for n in 1..=64 {
        let fresh = IsingReplicas::new(&p, &list[..n]).unwrap();
        lat.set_temperatures(&list[..n]).unwrap();
        for b in 0..REPLICAS {
            assert_eq!(fresh.temperatures()[b], list[b % n], "n = {n}, replica {b}");
            assert_eq!(lat.temperatures()[b], list[b % n], "n = {n}, replica {b}");
        }
    }
}

/// Hot start (module docs): row-major site `s` gets `w0 | w1 << 32` of block
/// `s` of `(seed, IsingReplicasHotStart.with_sub(stream))`, stored at the
/// documented checkerboard index; checked on the raw storage, 2D
/// non-square and 3D. The sweep tests take the kernel's start as given, so
/// they could not see a wrong start (e.g. replicas 32..63 copying 0..31).
#[test]
fn hot_start_is_the_documented_philox_mapping_in_the_documented_layout() {
    for (dim, lx, ly, lz, seed, stream) in [(2, 10, 6, 1, 12, 4), (3, 6, 4, 8, 13, 1 << 40)] {
        let p = IsingReplicasParams {
            dim,
            lx,
            ly,
            lz,
            seed,
            stream,
            hot_start: true,
            ..IsingReplicasParams::default()
        };
        let lat = IsingReplicas::new(&p, &[2.0]).unwrap();
        let g = Philox::new(seed, Stream::IsingReplicasHotStart.with_sub(stream));
        let words = row_major(&p, &lat);
        for (s, &w) in words.iter().enumerate() {
            let b = g.block(s as u64);
            let want = u64::from(b[0]) | u64::from(b[1]) << 32;
            assert_eq!(w, want, "dim {dim} site {s}");
            assert_eq!(lat.site_word(s), want, "dim {dim} site {s} (site_word)");
        }
    }
}

/// Smallest positive `T` (bisection over the ordered bit patterns of
/// positive f64) whose threshold for spin +1 and local field `local` is at
/// least `target`; the caller asserts it is exactly `target` (the threshold
/// moves by far less than 1 per ulp of T at these values, so every integer
/// is attained).
fn temperature_with_threshold(local: f64, target: u32) -> f64 {
    let f = |bits: u64| threshold(flip_probability(f64::from_bits(bits), 1.0, local));
    let (mut lo, mut hi) = (1e-3f64.to_bits(), 1e15f64.to_bits());
    assert!(f(lo) <= target && f(hi) >= target);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if f(mid) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let t = f64::from_bits(if f(lo) >= target { lo } else { hi });
    assert_eq!(
        threshold(flip_probability(t, 1.0, local)),
        target,
        "no temperature gives threshold {target:#x}"
    );
    t
}

/// Cold start, J = 1, h = 0: before the first half-sweep every replica at
/// site (0, 0, 0) (colour 0, row 0, k = 0) is in class `(m = 0, s = +1)`,
/// `local = 2 dim`, and uses word `w` (block 0, word 0 of sweep 0). We solve
/// for temperatures making replica `b`'s threshold hit a chosen value, so
/// that equality `w_b == t_b` happens for sure in each acceptance path:
/// * one temperature with `t = w` (rotated-mask path; replica 0 at
///   equality, every replica's decision is decided at the boundary word);
/// * replicas alternate between `T*` (`t = w`, replica 0 at equality) and a
///   temperature whose threshold's top byte is `hi + 1`, which no odd
///   replica's rotated top byte `(hi + 4 b) mod 256` equals: bucket `hi`
///   has exactly one end (single-end table path);
/// * 64 temperatures with `t_b = w + b 2^26`: every replica at equality, all
///   64 ends in bucket `hi` (crowded path).
///
/// In each, replica 0 (and in the crowded case every replica) must flip at
/// that site (`w_b <= t_b`), and the whole lattice after one sweep must
/// equal the scalar reference. Exact.
#[test]
fn a_rotated_word_equal_to_the_threshold_flips_in_every_acceptance_path() {
    let _g = exclusive();
    set_num_threads(1).unwrap();
    for (dim, lx, ly, lz) in [(2, 6, 4, 1), (3, 4, 6, 4)] {
        for seed in [3u64, 4] {
            let p = IsingReplicasParams {
                dim,
                lx,
                ly,
                lz,
                seed,
                stream: 9,
                hot_start: false,
                ..IsingReplicasParams::default()
            };
            let local = (2 * dim) as f64;
            let w = site_word_of_philox(&p, 0, 0, 0, 0);
            assert_eq!(storage_index(&p, 0, 0, 0), 0);
            let t_star = temperature_with_threshold(local, w);
            let hi = w >> 24;
            let other_target = ((hi + 1) & 255) << 24 | 0x0012_3456;
            let t_other = temperature_with_threshold(local, other_target);
            let crowded: Vec<f64> = (0..REPLICAS as u32)
                .map(|b| temperature_with_threshold(local, w.wrapping_add(b << 26)))
                .collect();
            let alternating = [t_star, t_other];
            let paths: [(&str, &[f64], u64); 3] = [
                ("one temperature", &[t_star], 1),
                ("single-end bucket", &alternating, 1),
                ("crowded bucket", &crowded, u64::MAX),
            ];
            for (name, temps, must_flip) in paths {
                let mut lat = IsingReplicas::new(&p, temps).unwrap();
                let mut words = row_major(&p, &lat);
                lat.sweep(1, &mut [], &mut []).unwrap();
                let got = row_major(&p, &lat);
                // Site 0 is colour 0: the colour-1 half-sweep leaves it alone.
                assert_eq!(
                    !got[0] & must_flip,
                    must_flip,
                    "dim {dim} seed {seed} {name}: replicas at w_b == t_b did not flip \
                     (site 0 word {:#x})",
                    got[0]
                );
                reference_sweeps(&p, temps, &mut words, 0, 1);
                assert!(
                    got == words,
                    "dim {dim} seed {seed} {name}: kernel and reference differ"
                );
            }
        }
    }
}

fn params() -> IsingReplicasParams {
    IsingReplicasParams {
        lx: 6,
        ly: 4,
        hot_start: true,
        seed: 2,
        ..IsingReplicasParams::default()
    }
}

fn kind_of(r: fieldkern::Result<IsingReplicas>) -> ErrorKind {
    r.map(|_| ()).expect_err("invalid input accepted").kind
}

/// The safe core rejects what the docs forbid: a non-finite J or h, a
/// temperature at ANY index (first, middle, last) that is NaN, infinite or
/// <= 0, 0 or 65 temperatures, odd or < 2 sides (each of lx, ly and, in 3D,
/// lz), dim not 2 or 3; `set_temperatures` rejects the same lists and leaves
/// the temperatures and the following sweeps unchanged.
#[test]
fn invalid_parameters_and_temperatures_are_rejected_and_change_nothing() {
    let ok = [2.0, 2.5, 3.0];
    for (j, h) in [
        (f64::NAN, 0.0),
        (f64::INFINITY, 0.0),
        (1.0, f64::NAN),
        (1.0, f64::NEG_INFINITY),
    ] {
        let p = IsingReplicasParams {
            coupling: j,
            field: h,
            ..params()
        };
        assert_eq!(
            kind_of(IsingReplicas::new(&p, &ok)),
            ErrorKind::NonFinite,
            "J {j} h {h}"
        );
    }
    let mut bad_lists: Vec<(Vec<f64>, ErrorKind)> = Vec::new();
    for i in 0..3 {
        for (v, kind) in [
            (f64::NAN, ErrorKind::NonFinite),
            (f64::INFINITY, ErrorKind::NonFinite),
            (0.0, ErrorKind::OutOfRange),
            (-1.0, ErrorKind::OutOfRange),
        ] {
            let mut l = ok.to_vec();
            l[i] = v;
            bad_lists.push((l, kind));
        }
    }
    bad_lists.push((Vec::new(), ErrorKind::InvalidSize));
    bad_lists.push((vec![2.0; REPLICAS + 1], ErrorKind::InvalidSize));
    for (l, kind) in &bad_lists {
        assert_eq!(kind_of(IsingReplicas::new(&params(), l)), *kind, "{l:?}");
    }
    assert!(IsingReplicas::new(&params(), &[2.0; REPLICAS]).is_ok());
    for (dim, lx, ly, lz, kind) in [
        (2, 5, 4, 1, ErrorKind::InvalidSize),
        (2, 4, 7, 1, ErrorKind::InvalidSize),
        (2, 0, 4, 1, ErrorKind::InvalidSize),
        (3, 4, 4, 3, ErrorKind::InvalidSize),
        (3, 4, 4, 1, ErrorKind::InvalidSize),
        (3, 4, 3, 4, ErrorKind::InvalidSize),
        (1, 4, 4, 1, ErrorKind::OutOfRange),
        (4, 4, 4, 4, ErrorKind::OutOfRange),
    ] {
        let p = IsingReplicasParams {
            dim,
            lx,
            ly,
            lz,
            ..params()
        };
        assert_eq!(
            kind_of(IsingReplicas::new(&p, &ok)),
            kind,
            "{dim}D {lx} x {ly} x {lz}"
        );
    }
    // set_temperatures: rejected, and the run continues as if never called.
    let mut lat = IsingReplicas::new(&params(), &ok).unwrap();
    let mut control = lat.clone();
    for (l, kind) in &bad_lists {
        assert_eq!(lat.set_temperatures(l).unwrap_err().kind, *kind, "{l:?}");
    }
    assert_eq!(lat.temperatures(), control.temperatures());
    lat.sweep(3, &mut [], &mut []).unwrap();
    control.sweep(3, &mut [], &mut []).unwrap();
    assert!(lat.words() == control.words());
}

/// The C entry points validate too: NaN J, a NaN first temperature,
/// hot_start = 2 in create; a NaN first temperature in set_temperatures;
/// observables with n = 63 or 65 (the arrays must hold exactly 64) is
/// FK_ERR_INVALID_SIZE and writes nothing (`tests/c/test_ising_replicas.c`
/// only tries n = 10, a temperature at index 2 and a NaN field).
#[test]
fn c_entry_points_reject_bad_counts_and_non_finite_values() {
    let temps = [2.0, 2.5, 3.0];
    let bad_first = [f64::NAN, 2.5, 3.0];
    let mut out = std::ptr::null_mut();
    // SAFETY: valid params, temperature arrays of the length passed, `out`
    // writable; observables' arrays hold 65 doubles (n <= 65); the handle is
    // destroyed once.
    unsafe {
        let mut p = fk_ising_replicas_params_default();
        p.lx = 6;
        p.ly = 4;
        let try_create = |p: &fk_ising_replicas_params, t: &[f64]| {
            let mut h = std::ptr::null_mut();
            let st = fk_ising_replicas_create(p, t.as_ptr(), t.len(), &mut h);
            assert!(h.is_null(), "*out written on error");
            st
        };
        let mut q = p;
        q.coupling = f64::NAN;
        assert_eq!(try_create(&q, &temps), fk_status::FK_ERR_NON_FINITE);
        let mut q = p;
        q.hot_start = 2;
        assert_eq!(try_create(&q, &temps), fk_status::FK_ERR_OUT_OF_RANGE);
        assert_eq!(try_create(&p, &bad_first), fk_status::FK_ERR_NON_FINITE);
        assert_eq!(try_create(&p, &[2.0; 65]), fk_status::FK_ERR_INVALID_SIZE);

        assert_eq!(
            fk_ising_replicas_create(&p, temps.as_ptr(), temps.len(), &mut out),
            fk_status::FK_OK
        );
        assert_eq!(
            fk_ising_replicas_set_temperatures(out, bad_first.as_ptr(), 3),
            fk_status::FK_ERR_NON_FINITE
        );
        let (mut e, mut m) = ([7.0f64; 65], [7.0f64; 65]);
        for n in [63, 65] {
            assert_eq!(
                fk_ising_replicas_observables(out, e.as_mut_ptr(), m.as_mut_ptr(), n),
                fk_status::FK_ERR_INVALID_SIZE,
                "n = {n}"
            );
            assert!(
                e.iter().chain(&m).all(|&v| v == 7.0),
                "n = {n}: arrays written"
            );
        }
        assert_eq!(
            fk_ising_replicas_observables(out, e.as_mut_ptr(), m.as_mut_ptr(), 64),
            fk_status::FK_OK
        );
        assert_eq!(e[..64], [-2.0; 64], "cold start: e = -2 J per spin");
        assert_eq!(fk_ising_replicas_destroy(out), fk_status::FK_OK);
    }
}
