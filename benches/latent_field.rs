//! Latent-field force evaluation: an EGNN force term (F = 2 features,
//! M = 8 messages, phi_e 5 -> 16 -> 8 SiLU, phi_x 8 -> 1 sigmoid, cutoff 2)
//! plus a neural-field potential (3 -> 14 softplus -> 1, value + gradient)
//! in one force field, N = 256 and 1024 particles at number density 1 in
//! 3D (about 33 neighbours within the cutoff), 1 and 2 threads. Reports
//! force evaluations as particles/s and EGNN edges/s. The EGNN term tests
//! all n(n - 1) pairs (its cost grows as n^2 for the scan; the MLP cost as
//! the edge count).
//!
//!     cargo bench --bench latent_field -- --warm-up-time 1 --measurement-time 2

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::forces::{ForceField, ForceFieldParams, NeuralMode};
use fieldkern::integrate::state::Positions;
use fieldkern::integrate::SimBox;
use fieldkern::nf::egnn::{Egnn, EgnnSpec};
use fieldkern::nf::{Activation, Encoding, LayerSpec, Model, ModelSpec};
use fieldkern::parallel::set_num_threads;

const SIZES: [usize; 2] = [256, 1024];
const CUTOFF: f32 = 2.0;

fn rng(seed: u64) -> impl FnMut(f32) -> f32 {
    let mut s = seed;
    move |a: f32| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a
    }
}

fn dense(r: &mut impl FnMut(f32) -> f32, i: usize, o: usize, a: f32) -> (Vec<f32>, Vec<f32>) {
    let w = (0..i * o).map(|_| r(a / (i as f32).sqrt())).collect();
    let b = (0..o).map(|_| r(0.1)).collect();
    (w, b)
}

struct Setup {
    ff: ForceField,
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
    types: Vec<u32>,
    edges: usize,
}

fn setup(n: usize) -> Setup {
    let mut r = rng(17);
    let (e0, e1, px, ph) = (
        dense(&mut r, 5, 16, 1.0),
        dense(&mut r, 16, 8, 1.0),
        dense(&mut r, 8, 1, 1.0),
        dense(&mut r, 10, 2, 1.0),
    );
    let layer = |o, act, w: &'static [f32], b: &'static [f32]| LayerSpec {
        out_dim: o,
        activation: act,
        weight: w,
        bias: Some(b),
    };
    let leak = |v: Vec<f32>| -> &'static [f32] { Box::leak(v.into_boxed_slice()) };
    let egnn = Egnn::new(&EgnnSpec {
        features: 2,
        message_dim: 8,
        phi_e: vec![
            layer(16, Activation::Silu, leak(e0.0), leak(e0.1)),
            layer(8, Activation::Silu, leak(e1.0), leak(e1.1)),
        ],
        phi_x: vec![layer(1, Activation::Sigmoid, leak(px.0), leak(px.1))],
        phi_h: vec![layer(2, Activation::Identity, leak(ph.0), leak(ph.1))],
        cutoff: CUTOFF,
        coord_scale: 1.0,
        residual: true,
        max_nodes: n,
    })
    .unwrap();
    let (p0, p1) = (dense(&mut r, 3, 14, 1.0), dense(&mut r, 14, 1, 1.0));
    let field = Model::new(&ModelSpec {
        in_dim: 3,
        encoding: Encoding::Identity,
        skip_layer: None,
        layers: vec![
            layer(14, Activation::Softplus, leak(p0.0), leak(p0.1)),
            layer(1, Activation::Identity, leak(p1.0), leak(p1.1)),
        ],
        task_slots: 0,
        ..ModelSpec::conditioning_none()
    })
    .unwrap();
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: SimBox::open(3),
        ntypes: 2,
        capacity: n,
        skin: 0.0,
        max_neighbors: 1,
    })
    .unwrap();
    ff.add_egnn(egnn, &[1.0, 0.5, -1.0, 0.5], 1.0).unwrap();
    ff.add_neural_field(field, 3, 1, NeuralMode::Potential, 1.0)
        .unwrap();
    let half = 0.5 * (n as f64).cbrt();
    let mut c = || f64::from(r(1.0)) * half;
    let (x, y, z): (Vec<f64>, Vec<f64>, Vec<f64>) = (
        (0..n).map(|_| c()).collect(),
        (0..n).map(|_| c()).collect(),
        (0..n).map(|_| c()).collect(),
    );
    let rc2 = f64::from(CUTOFF * CUTOFF);
    let edges = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .filter(|&(i, j)| {
            i != j && (x[i] - x[j]).powi(2) + (y[i] - y[j]).powi(2) + (z[i] - z[j]).powi(2) <= rc2
        })
        .count();
    let types = (0..n as u32).map(|i| i % 2).collect();
    Setup {
        ff,
        x,
        y,
        z,
        types,
        edges,
    }
}

fn eval(s: &mut Setup, f: &mut [Vec<f64>; 3]) {
    let pos = Positions {
        dim: 3,
        x: &s.x,
        y: &s.y,
        z: &s.z,
        types: &s.types,
    };
    let [fx, fy, fz] = f;
    s.ff.compute(&pos, 0, fx, fy, fz, false).unwrap();
}

fn bench_latent(c: &mut Criterion) {
    let mut g = c.benchmark_group("latent_field_forces");
    for threads in [1usize, 2] {
        set_num_threads(threads).unwrap();
        for n in SIZES {
            let mut s = setup(n);
            let mut f = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(format!("{threads}t"), n), &n, |b, _| {
                b.iter(|| eval(black_box(&mut s), &mut f))
            });
        }
    }
    g.finish();
}

fn best_time(s: &mut Setup, f: &mut [Vec<f64>; 3]) -> f64 {
    eval(s, f);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..5 {
            eval(s, f);
        }
        best = best.min(t.elapsed().as_secs_f64() / 5.0);
    }
    best
}

fn summary_table() {
    println!("\nlatent field: EGNN term + neural potential, one force evaluation (machine shared, best of 5x5):");
    println!(
        "{:>7} {:>6} {:>9} {:>12} {:>14} {:>14}",
        "threads", "n", "edges", "ms/eval", "particles/s", "edges/s"
    );
    for threads in [1usize, 2] {
        set_num_threads(threads).unwrap();
        for n in SIZES {
            let mut s = setup(n);
            let mut f = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            let t = best_time(&mut s, &mut f);
            println!(
                "{:>7} {:>6} {:>9} {:>12.3} {:>14.4e} {:>14.4e}",
                threads,
                n,
                s.edges,
                t * 1e3,
                n as f64 / t,
                s.edges as f64 / t
            );
        }
    }
}

criterion_group!(benches, bench_latent);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
