//! BTW sandpile throughput: topplings per ns while driving a recurrent
//! sandpile at random sites, L = 160 and L = 1024 (sequential kernel, one
//! thread). Criterion reports grains/s; the closing table prints topplings/ns,
//! best of 5.
//!
//! `fk_sandpile_activity_all_sources` (`Sandpile::site_activity_all_sources`)
//! at L = 32 and 64: for one recurrent configuration C, the site activity
//! summed over all sources, `A(R) = sum_{R'} N(R, R')` with `N(R, R')` the
//! topplings of R when one grain is added at R' to C (L^2 avalanches, each
//! from the same C; Ganguly, arXiv:2510.09631). Criterion reports sources
//! (avalanches) per second; the table prints topplings/ns, the topplings per
//! source and the time per call, best of 5, on 1 and 2 threads (and all of
//! the pool's threads when it has more) with as many reserved workers
//! (`fk_sandpile_reserve_activity_workers`), and at the paper's largest
//! L = 160.
//!
//!     cargo bench --bench sandpile

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::mc::sandpile::Sandpile;
use fieldkern::parallel::{num_threads, set_num_threads};

/// A recurrent sandpile (the all-3 start is recurrent; a warm-up of
/// min(L^2 / 4, 2000) grains moves it towards typical configurations).
fn recurrent(side: usize) -> Sandpile {
    let mut s = Sandpile::new(side, 1, 0).unwrap();
    s.set_heights(&vec![3u8; side * side]).unwrap();
    s.drive_random((side * side / 4).min(2000), |_, _| {});
    s
}

fn grains_for(side: usize) -> usize {
    if side <= 256 {
        20_000
    } else {
        300
    }
}

fn bench_sandpile(c: &mut Criterion) {
    let mut group = c.benchmark_group("sandpile_drive");
    group.sample_size(10);
    for side in [160usize, 1024] {
        let mut s = recurrent(side);
        let grains = grains_for(side);
        group.throughput(Throughput::Elements(grains as u64));
        group.bench_with_input(BenchmarkId::new("random_drive", side), &side, |b, _| {
            b.iter(|| {
                let mut t = 0u64;
                s.drive_random(black_box(grains), |_, a| t += a.size);
                t
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("sandpile_activity_all_sources");
    group.sample_size(10);
    for side in ACTIVITY_SIDES {
        let mut s = recurrent(side);
        let mut out = vec![0u64; side * side];
        group.throughput(Throughput::Elements((side * side) as u64));
        group.bench_with_input(BenchmarkId::new("sources", side), &side, |b, _| {
            b.iter(|| s.site_activity_all_sources(black_box(&mut out)).unwrap())
        });
    }
    group.finish();
}

/// Lattice sides of the all-sources activity benchmark.
const ACTIVITY_SIDES: [usize; 2] = [32, 64];

fn summary_table() {
    println!("\nsandpile summary (1 thread, best of 5):");
    println!(
        "{:<10} {:>10} {:>16} {:>14}",
        "L", "grains", "topplings/grain", "topplings/ns"
    );
    for side in [160usize, 1024] {
        let mut s = recurrent(side);
        let grains = grains_for(side);
        let mut best = 0.0f64;
        let mut per_grain = 0.0;
        for _ in 0..5 {
            let t0 = Instant::now();
            let mut t = 0u64;
            s.drive_random(grains, |_, a| t += a.size);
            let rate = t as f64 / t0.elapsed().as_secs_f64() * 1e-9;
            best = best.max(rate);
            per_grain = t as f64 / grains as f64;
        }
        println!("{side:<10} {grains:>10} {per_grain:>16.1} {best:>14.3}");
    }
    println!(
        "\nsandpile all-sources activity (fk_sandpile_activity_all_sources, best of 5; workers = threads):"
    );
    println!(
        "{:<10} {:>8} {:>10} {:>18} {:>14} {:>12}",
        "L", "threads", "sources", "topplings/source", "topplings/ns", "ms/call"
    );
    let max_threads = num_threads();
    for side in ACTIVITY_SIDES.into_iter().chain([160]) {
        let mut s = recurrent(side);
        let mut out = vec![0u64; side * side];
        let mut counts = vec![1, 2];
        if max_threads > 2 {
            counts.push(max_threads);
        }
        for threads in counts.into_iter().filter(|&t| t <= max_threads) {
            set_num_threads(threads).unwrap();
            s.reserve_activity_workers(threads).unwrap();
            let mut best = f64::INFINITY;
            let mut total = 0;
            for _ in 0..if side > 64 { 2 } else { 5 } {
                let t0 = Instant::now();
                total = s.site_activity_all_sources(&mut out).unwrap();
                best = best.min(t0.elapsed().as_secs_f64());
            }
            let sources = side * side;
            println!(
                "{side:<10} {threads:>8} {sources:>10} {:>18.1} {:>14.3} {:>12.3}",
                total as f64 / sources as f64,
                total as f64 / best * 1e-9,
                best * 1e3
            );
        }
        set_num_threads(max_threads).unwrap();
    }
}

criterion_group!(benches, bench_sandpile);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
