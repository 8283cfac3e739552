//! Random-number throughput: Philox4x32-10 fills (uniform and normal doubles)
//! at 1 and 2 threads against a sequential `rand_pcg` Pcg64 fill, on 10^7
//! numbers. Criterion reports elements/s; the closing table prints
//! numbers/ns and GB/s written (8 bytes per double), best of 10.
//!
//!     cargo bench --bench rng

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::parallel::set_num_threads;
use fieldkern::rng::fill::{fill_normal_f64, fill_uniform_f64};
use rand_core::Rng;
use rand_pcg::Pcg64;

const N: usize = 10_000_000;

fn pcg64_uniform_fill(rng: &mut Pcg64, out: &mut [f64]) {
    for x in out.iter_mut() {
        *x = (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0);
    }
}

/// Sequential baseline for normals: Pcg64 uniforms + scalar Box-Muller (libm).
fn pcg64_normal_fill(rng: &mut Pcg64, out: &mut [f64]) {
    for pair in out.chunks_mut(2) {
        let u1 = ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0);
        let u2 = (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0);
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        pair[0] = r * c;
        if pair.len() > 1 {
            pair[1] = r * s;
        }
    }
}

type Fill = fn(&mut [f64]);

fn variants() -> Vec<(&'static str, usize, Fill)> {
    vec![
        ("philox_uniform_f64", 1, |o| {
            fill_uniform_f64(1, 0, 0, o).unwrap()
        }),
        ("philox_uniform_f64", 2, |o| {
            fill_uniform_f64(1, 0, 0, o).unwrap()
        }),
        ("philox_normal_f64", 1, |o| {
            fill_normal_f64(1, 0, 0, o).unwrap()
        }),
        ("philox_normal_f64", 2, |o| {
            fill_normal_f64(1, 0, 0, o).unwrap()
        }),
        ("pcg64_sequential_uniform_f64", 1, |o| {
            pcg64_uniform_fill(&mut Pcg64::new(1, 0), o)
        }),
        ("pcg64_sequential_normal_f64", 1, |o| {
            pcg64_normal_fill(&mut Pcg64::new(1, 0), o)
        }),
    ]
}

fn bench_fills(c: &mut Criterion) {
    let mut out = vec![0.0f64; N];
    let mut group = c.benchmark_group("rng_fill_1e7");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    for (name, threads, fill) in variants() {
        set_num_threads(threads).unwrap();
        group.bench_with_input(
            BenchmarkId::new(name, format!("{threads}t")),
            &threads,
            |b, _| b.iter(|| fill(black_box(&mut out))),
        );
    }
    group.finish();
}

fn summary_table() {
    let mut out = vec![0.0f64; N];
    println!("\nrng fill summary, 10^7 doubles, best of 10:");
    println!(
        "{:<32} {:>7} {:>12} {:>10}",
        "kernel", "threads", "numbers/ns", "GB/s"
    );
    for (name, threads, fill) in variants() {
        set_num_threads(threads).unwrap();
        fill(&mut out);
        let best = (0..10)
            .map(|_| {
                let t = Instant::now();
                fill(black_box(&mut out));
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!(
            "{:<32} {:>7} {:>12.3} {:>10.2}",
            name,
            threads,
            N as f64 / best * 1e-9,
            8.0 * N as f64 / best * 1e-9
        );
    }
}

criterion_group!(benches, bench_fills);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
