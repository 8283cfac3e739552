//! Neural force-field term throughput: BAOAB Langevin steps of N particles
//! whose only force is a neural potential `U(r)` (the term behind
//! `fk_forcefield_add_neural_field`, here through its safe Rust entry
//! `ForceField::add_neural_field` with an owned model; the C entry borrows
//! the model from a handle, which adds a tag check per evaluation), for the
//! issue-5 benchmark field R^3 -> Fourier features (48 rows of B = 16
//! frequencies per axis, 96 dims) -> 3 hidden layers of 64 SiLU -> 1 (the
//! same weights as benches/nf.rs), N = 4096 and 65536, 1 and 2 threads.
//!
//! Each call runs `K` steps (`K = 2^18 / N`: 64 at N = 4096, 4 at 65536).
//! BAOAB evaluates the force once per step, plus once at the start of every
//! call (forces are not carried between calls), so a call costs `K + 1`
//! network evaluations: a caller stepping one step per call pays twice.
//! Criterion reports particle-steps/s. The closing table adds the bare
//! `Model::gradient` (what `fk_nf_gradient` runs) at batch N on the same
//! thread count, the ratio time per step / gradient time, and the ratio
//! time per call / ((K + 1) gradient times), whose excess over 1 is the cost
//! of the integration around the network (f64 -> f32 input packing, force
//! and energy accumulation, the B-A-O-A-B updates and their Philox noise).
//!
//!     cargo bench --bench nf_forcefield -- --warm-up-time 1 --measurement-time 2

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::forces::{ForceField, ForceFieldParams, NeuralMode};
use fieldkern::integrate::langevin::{Baoab, LangevinParams};
use fieldkern::integrate::SimBox;
use fieldkern::parallel::set_num_threads;

#[path = "common/nf_model.rs"]
mod nf_model;
#[path = "common/particle_arrays.rs"]
mod particle_arrays;
use nf_model::{model, points, weights, Weights};
use particle_arrays::Sys;

const SIZES: [usize; 2] = [4096, 65536];

/// Steps per call at `n` particles.
fn steps_per_call(n: usize) -> usize {
    ((1 << 18) / n).max(1)
}

/// N particles in an open 3D box with the neural potential as the only
/// force term, and a BAOAB integrator (dt = 1e-3, gamma = 1, kT = 1).
fn system(w: &Weights, n: usize) -> (Sys, ForceField, Baoab) {
    let p = points(n);
    let coord = |d: usize| (0..n).map(|i| f64::from(p[3 * i + d])).collect();
    let mut s = Sys::at_rest_3d(n, 0.0);
    (s.x, s.y, s.z) = (coord(0), coord(1), coord(2));
    let mut ff =
        ForceField::new(ForceFieldParams::without_neighbour_list(SimBox::open(3), n)).unwrap();
    ff.add_neural_field(model(w), 3, 1, NeuralMode::Potential, 1.0)
        .unwrap();
    let lg = Baoab::new(
        3,
        n,
        LangevinParams {
            dt: 1e-3,
            gamma: 1.0,
            kt: 1.0,
            seed: 5,
            stream: 0,
        },
    )
    .unwrap();
    (s, ff, lg)
}

fn bench_nf_forcefield(c: &mut Criterion) {
    let w = weights();
    let mut group = c.benchmark_group("baoab_neural_potential_fourier96_3x64silu");
    group.sample_size(10);
    for n in SIZES {
        let (mut s, mut ff, mut lg) = system(&w, n);
        lg.step(Some(&mut ff), &mut s.view(), 0, 2).1.unwrap();
        let mut step = 2u64;
        let k = steps_per_call(n);
        group.throughput(Throughput::Elements((n * k) as u64));
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            group.bench_with_input(BenchmarkId::new(format!("{threads}t"), n), &n, |b, _| {
                b.iter(|| {
                    lg.step(Some(&mut ff), &mut s.view(), step, k).1.unwrap();
                    step += k as u64;
                })
            });
        }
    }
    group.finish();
}

/// Best-of-r seconds per call, r sized to ~0.5 s of work (at least 3).
fn best_time(mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.5 / once) as usize).clamp(3, 1000);
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn summary_table() {
    let w = weights();
    println!(
        "\nneural force-field term: BAOAB step with only U(r) = R^3 -> Fourier(96) -> 3x64 SiLU -> 1, \
         vs the bare gradient at the same batch; machine shared, best of several runs:"
    );
    println!(
        "{:>8} {:>5} {:>7} {:>18} {:>16} {:>14} {:>22}",
        "N",
        "K",
        "threads",
        "particle-steps/s",
        "gradient pts/s",
        "step/gradient",
        "call/((K+1) gradient)"
    );
    for n in SIZES {
        let (mut s, mut ff, mut lg) = system(&w, n);
        let mut m = model(&w);
        let x = points(n);
        let (mut v, mut g) = (vec![0f32; n], vec![0f32; 3 * n]);
        let mut step = 0u64;
        let k = steps_per_call(n);
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            let tc = best_time(|| {
                lg.step(Some(&mut ff), &mut s.view(), step, k).1.unwrap();
                step += k as u64;
            });
            // K + 1 gradients per timed call: the same work and wall time as
            // one K-step call, so both see the same share of a shared machine.
            let tg = best_time(|| {
                for _ in 0..=k {
                    m.gradient(black_box(&x), &mut v, &mut g).unwrap();
                }
            }) / (k + 1) as f64;
            let ts = tc / k as f64;
            println!(
                "{n:>8} {k:>5} {threads:>7} {:>18.4e} {:>16.4e} {:>13.3}x {:>21.3}x",
                n as f64 / ts,
                n as f64 / tg,
                ts / tg,
                tc / ((k + 1) as f64 * tg)
            );
        }
    }
}

criterion_group!(benches, bench_nf_forcefield);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
