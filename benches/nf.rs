//! Neural-field throughput: the reference field R^3 -> Fourier
//! features (48 rows of B = 16 frequencies per axis, 96 dims) -> 3 hidden
//! layers of 64 SiLU -> 1, at batch 1, 64, 4096 and 65536, 1 and 2 threads;
//! forward + input gradient at batch 4096 against forward alone. The f32 FMA
//! peak of this machine is measured in the same run (a register-resident
//! f32x16 FMA loop, 12 independent accumulators, on every thread), so the
//! table also gives the fraction of peak the dense layers reach
//! (2 * 14400 flop per point; the 48 sin/cos of the encoding are not counted).
//!
//!     cargo bench --bench nf -- --warm-up-time 1 --measurement-time 2
//!
//! PyTorch comparison: when benches/results/torch_baseline.csv exists
//! (written by `benches/torch_baseline.py`, the same model and points in
//! PyTorch CPU eager and, with `--compile`, torch.compile; not run by CI),
//! the table gains a column `x torch`: fieldkern points/s over the best
//! PyTorch variant's at the same call, thread count and batch. Run the
//! script on the same idle machine first for meaningful ratios.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::parallel::{run, set_num_threads};
use fieldkern::simd::f32x16;

#[path = "common/nf_model.rs"]
mod nf_model;
use fieldkern::nf::{Activation, Encoding, LayerSpec, Model, ModelSpec};
use nf_model::{model, points, weights};

const BATCHES: [usize; 4] = [1, 64, 4096, 65536];

/// f32 flop/s of `threads` threads running a register-resident FMA loop
/// (12 independent f32x16 accumulators hide the FMA latency). Best of 5.
fn fma_peak(threads: usize) -> f64 {
    set_num_threads(threads).unwrap();
    const ITERS: usize = 20_000_000;
    let kernel = |_t: usize| {
        let a = black_box(f32x16::splat(0.999_999));
        let b = black_box(f32x16::splat(1e-7));
        let mut acc = [f32x16::splat(1.0); 12];
        for _ in 0..ITERS {
            for x in acc.iter_mut() {
                *x = x.mul_add(a, b);
            }
        }
        black_box(acc);
    };
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            run(threads, &kernel);
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    (threads * ITERS * 12 * 16 * 2) as f64 / best
}

fn bench_nf(c: &mut Criterion) {
    let w = weights();
    let mut m = model(&w);
    let mut group = c.benchmark_group("nf_forward_fourier96_3x64silu");
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        for n in BATCHES {
            let x = points(n);
            let mut y = vec![0f32; n];
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new(format!("{threads}t"), n), &n, |b, _| {
                b.iter(|| m.forward(black_box(&x), &mut y).unwrap())
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("nf_forward_gradient_fourier96_3x64silu");
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        let n = 4096;
        let x = points(n);
        let (mut y, mut g) = (vec![0f32; n], vec![0f32; 3 * n]);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new(format!("{threads}t"), n), &n, |b, _| {
            b.iter(|| m.gradient(black_box(&x), &mut y, &mut g).unwrap())
        });
    }
    group.finish();
}

/// Best-of-k seconds per call, with k sized to ~0.3 s of work.
fn best_time(mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.3 / once) as usize).clamp(3, 20_000);
    let mut best = f64::INFINITY;
    // Batches of calls so that tiny batches are not timer-bound.
    let inner = ((1e-3 / once) as usize).clamp(1, 1000);
    for _ in 0..reps.div_ceil(inner).max(3) {
        let t = Instant::now();
        for _ in 0..inner {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / inner as f64);
    }
    best
}

/// Rows `(call, variant, threads, batch, points/s)` of
/// benches/results/torch_baseline.csv, if the file exists.
fn torch_baseline() -> Vec<(String, String, usize, usize, f64)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/results/torch_baseline.csv"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("call,"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.to_string(),
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
                f.get(4)?.parse().ok()?,
            ))
        })
        .collect()
}

/// `"  N.NNx torch (variant)"`: `rate` over the best PyTorch variant's
/// points/s for the same call, threads and batch; empty without a baseline.
fn torch_ratio(
    baseline: &[(String, String, usize, usize, f64)],
    call: &str,
    threads: usize,
    n: usize,
    rate: f64,
) -> String {
    baseline
        .iter()
        .filter(|r| r.0 == call && r.2 == threads && r.3 == n)
        .max_by(|a, b| a.4.total_cmp(&b.4))
        .map(|r| format!("  {:>6.1}x torch ({})", rate / r.4, r.1))
        .unwrap_or_default()
}

fn summary_table() {
    let w = weights();
    let mut m = model(&w);
    let baseline = torch_baseline();
    {
        // Same model as benches/torch_baseline.py, which prints these too.
        let mut y = [0f32; 4];
        m.forward(&points(4), &mut y).unwrap();
        println!("\nfieldkern outputs at the first 4 bench points: {y:?}");
    }
    if baseline.is_empty() {
        println!("(no benches/results/torch_baseline.csv: run benches/torch_baseline.py for PyTorch ratios)");
    }
    let flop_per_point = 2.0 * m.dense_macs_per_point() as f64;
    println!(
        "\nneural field R^3 -> Fourier(96) -> 3x64 SiLU -> 1 ({} dense flop/point); \
         machine shared, best of several runs:",
        flop_per_point
    );
    // The machine may be shared: take the best of three peak measurements.
    let peaks = [
        (0..3).map(|_| fma_peak(1)).fold(0.0, f64::max),
        (0..3).map(|_| fma_peak(2)).fold(0.0, f64::max),
    ];
    println!(
        "measured f32 FMA peak: {:.1} Gflop/s (1 thread), {:.1} Gflop/s (2 threads)",
        peaks[0] * 1e-9,
        peaks[1] * 1e-9
    );
    println!(
        "{:<22} {:>7} {:>8} {:>14} {:>10} {:>9}",
        "call", "threads", "batch", "points/s", "Gflop/s", "% peak"
    );
    for (ti, threads) in [1usize, 2].into_iter().enumerate() {
        set_num_threads(threads).unwrap();
        for n in BATCHES {
            let x = points(n);
            let mut y = vec![0f32; n];
            let t = best_time(|| m.forward(black_box(&x), &mut y).unwrap());
            let rate = n as f64 / t;
            println!(
                "{:<22} {:>7} {:>8} {:>14.4e} {:>10.1} {:>8.1}%{}",
                "forward",
                threads,
                n,
                rate,
                rate * flop_per_point * 1e-9,
                100.0 * rate * flop_per_point / peaks[ti],
                torch_ratio(&baseline, "forward", threads, n, rate)
            );
        }
        let n = 4096;
        let x = points(n);
        let (mut y, mut g) = (vec![0f32; n], vec![0f32; 3 * n]);
        let tf = best_time(|| m.forward(black_box(&x), &mut y).unwrap());
        let tg = best_time(|| m.gradient(black_box(&x), &mut y, &mut g).unwrap());
        println!(
            "{:<22} {:>7} {:>8} {:>14.4e} {:>10} {:>9}{}   (= {:.2}x forward time)",
            "forward+gradient",
            threads,
            n,
            n as f64 / tg,
            "",
            "",
            torch_ratio(&baseline, "forward+gradient", threads, n, n as f64 / tg),
            tg / tf
        );
    }
    hash_grid_line();
}

/// Instant-NGP's standard grid: 16 levels of 2 features, 2^19 entries per
/// level, base resolution 16, growth 1.447 (finest 2048), 3D; followed by one
/// 32 -> 1 linear layer so the figure is the encoding's cost.
fn hash_grid_line() {
    let (levels, features, log2) = (16, 2, 19);
    let table: Vec<f32> = (0..levels * (1usize << log2) * features)
        .map(|i| ((i % 1013) as f32 - 506.0) * 1e-5)
        .collect();
    let grid = fieldkern::nf::hashgrid::HashGrid::new(3, levels, features, log2, 16, 1.447, &table)
        .unwrap();
    let w = vec![0.03f32; 32];
    let mut m = Model::new(&ModelSpec {
        in_dim: 3,
        encoding: Encoding::HashGrid(Box::new(grid)),
        skip_layer: None,
        layers: vec![LayerSpec {
            out_dim: 1,
            activation: Activation::Identity,
            weight: &w,
            bias: None,
        }],
        task_slots: 0,
        ..ModelSpec::conditioning_none()
    })
    .unwrap();
    let n = 65536;
    let x: Vec<f32> = points(n).iter().map(|v| 0.5 + 0.49 * v).collect();
    let mut y = vec![0f32; n];
    let mut g = vec![0f32; 3 * n];
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        let t = best_time(|| m.forward(black_box(&x), &mut y).unwrap());
        println!(
            "{:<22} {:>7} {:>8} {:>14.4e}   (16 levels x 2^19 x 2, 3D, + 32->1 linear)",
            "hash-grid encoding",
            threads,
            n,
            n as f64 / t
        );
        let t = best_time(|| m.gradient(black_box(&x), &mut y, &mut g).unwrap());
        println!(
            "{:<22} {:>7} {:>8} {:>14.4e}   (value + input gradient, same model)",
            "hash-grid gradient",
            threads,
            n,
            n as f64 / t
        );
    }
}

criterion_group!(benches, bench_nf);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
