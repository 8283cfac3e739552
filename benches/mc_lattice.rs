//! Throughput of the other Monte Carlo II kernels at 1 and 2 threads:
//! Gillespie jumps/ns (10-state chain, 2^16 trajectories; one observation
//! per unit time, and a 64-point grid per unit time), mass-transport site
//! updates/ns (KMP and aggregation with injection, 2^20 sites), coffee
//! automaton site updates/ns (interacting: cells x steps; non-interacting:
//! particles x steps; 512 x 512 cup). Criterion reports elements/s; the
//! closing table prints per-ns figures, best of 5.
//!
//!     cargo bench --bench mc_lattice

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::mc::coffee::{Coffee, CoffeeVariant};
use fieldkern::mc::gillespie::{GillespieBatch, RateMatrix};
use fieldkern::mc::transport::{MassLattice, TransportRule};
use fieldkern::parallel::set_num_threads;

const STATES: usize = 10;
const TRAJECTORIES: usize = 1 << 16;
const SITES: usize = 1 << 20;
const CUP: usize = 512;
/// Observation times per unit time in the grid case.
const GRID: usize = 64;

/// A 10-state ring with forward rate 1, backward 0.5, and jumps i -> i+3 at 0.2.
fn chain() -> RateMatrix {
    let mut q = vec![0.0; STATES * STATES];
    for i in 0..STATES {
        for (d, r) in [(1, 1.0), (STATES - 1, 0.5), (3, 0.2)] {
            q[i * STATES + (i + d) % STATES] += r;
            q[i * STATES + i] -= r;
        }
    }
    RateMatrix::new(&q, STATES, 1e-12).unwrap()
}

/// One benchmark case: a name, a setup, and a run returning work units done.
type Case = (&'static str, Box<dyn FnMut() -> u64>);

fn cases() -> Vec<Case> {
    let mut g = GillespieBatch::new(chain(), TRAJECTORIES, 1, 0).unwrap();
    let mut states = vec![0u32; TRAJECTORIES];
    let mut g_grid = GillespieBatch::new(chain(), TRAJECTORIES, 1, 0).unwrap();
    let mut grid = [0.0; GRID];
    let mut grid_states = vec![0u32; TRAJECTORIES * GRID];
    let mut kmp = MassLattice::new(SITES, TransportRule::KMP, 1, 0).unwrap();
    kmp.set_state(&vec![1 << 20; SITES], 0).unwrap();
    let mut agg = MassLattice::new(SITES, TransportRule::AGGREGATION_INJECTION, 1, 0).unwrap();
    let mut cup = Coffee::new(CUP, CoffeeVariant::Interacting, 1, 0).unwrap();
    let mut walkers = Coffee::new(CUP, CoffeeVariant::NonInteracting, 1, 0).unwrap();
    vec![
        (
            "gillespie_jumps",
            Box::new(move || {
                let before = g.total_jumps();
                let t = g.time() + 1.0;
                g.run(&[t], &mut states, None).unwrap();
                g.total_jumps() - before
            }),
        ),
        (
            "gillespie_jumps_64_point_grid",
            Box::new(move || {
                let before = g_grid.total_jumps();
                let t0 = g_grid.time();
                for (m, t) in grid.iter_mut().enumerate() {
                    *t = t0 + (m + 1) as f64 / GRID as f64;
                }
                g_grid.run(&grid, &mut grid_states, None).unwrap();
                g_grid.total_jumps() - before
            }),
        ),
        (
            "transport_kmp_site_updates",
            Box::new(move || {
                kmp.sweep(4).unwrap();
                4 * SITES as u64
            }),
        ),
        (
            "transport_aggregation_site_updates",
            Box::new(move || {
                agg.sweep(4).unwrap();
                4 * SITES as u64
            }),
        ),
        (
            "coffee_interacting_site_updates",
            Box::new(move || {
                cup.step(4);
                4 * (CUP * CUP) as u64
            }),
        ),
        (
            "coffee_noninteracting_particle_moves",
            Box::new(move || {
                walkers.step(4);
                4 * (CUP * CUP / 2) as u64
            }),
        ),
    ]
}

fn bench_kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("mc_lattice");
    group.sample_size(10);
    for threads in [1usize, 2] {
        set_num_threads(threads).unwrap();
        for (name, mut run) in cases() {
            let units = run();
            group.throughput(Throughput::Elements(units));
            group.bench_with_input(
                BenchmarkId::new(name, format!("{threads}t")),
                &threads,
                |b, _| b.iter(|| black_box(run())),
            );
        }
    }
    group.finish();
}

fn summary_table() {
    println!("\nMonte Carlo II summary (best of 5):");
    println!("{:<40} {:>7} {:>14}", "kernel", "threads", "units/ns");
    for threads in [1usize, 2] {
        set_num_threads(threads).unwrap();
        for (name, mut run) in cases() {
            run();
            let best = (0..5)
                .map(|_| {
                    let t0 = Instant::now();
                    let units = run();
                    units as f64 / t0.elapsed().as_secs_f64() * 1e-9
                })
                .fold(0.0, f64::max);
            println!("{name:<40} {threads:>7} {best:>14.4}");
        }
    }
}

criterion_group!(benches, bench_kernels);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
