//! Ising throughput in attempted spin flips per nanosecond:
//! * checkerboard Metropolis and heat bath on the 2D L = 4096 lattice at Tc,
//!   1 and 2 threads (one independent 32-bit uniform per site visit; its
//!   low 16 bits are drawn only in the one visit in 65536 that needs them);
//! * the baseline: `benches/ising_baseline.c`, the straightforward C loop
//!   (typewriter sweep, one xoshiro256** draw per site), compiled here with
//!   `cc -O3 -march=native` and run as a subprocess;
//! * multi-spin-coded Metropolis (64 spins per word, one independent 32-bit
//!   uniform per site generated bit-sliced), 1 and 2 threads;
//! * replica multi-spin coding (64 replicas per word, each at its own
//!   temperature, one Philox word per site shared through rotations), at 64
//!   temperatures and with all replicas at Tc (the rotated-mask path):
//!   attempted flips/ns = 64 L^2 / sweep time, 1 and 2 threads, wall time
//!   (best of 5) and per core from the threads' CPU time (the machine is
//!   shared: CPU time is the fairer per-core figure);
//! * Wolff cluster updates at Tc (spins flipped per ns, L = 1024);
//! * worm algorithm at Tc (worm steps per ns, L = 256);
//! * dense Hopfield network, N = 10^4, K = 100, p = 2 and 4, T = 0.1
//!   (attempted flips per ns).
//!
//! Criterion reports elements (sites) per second; the closing table prints
//! flips/ns, best of 5 sweeps, next to the C baseline.
//!
//!     cargo bench --bench ising -- --warm-up-time 1 --measurement-time 2

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::mc::hopfield::{Hopfield, HopfieldParams, HopfieldUpdate};
use fieldkern::mc::ising::{IsingLattice, IsingParams, IsingUpdate};
use fieldkern::mc::ising_msc::IsingMsc;
use fieldkern::mc::ising_replicas::{IsingReplicas, IsingReplicasParams, REPLICAS};
use fieldkern::mc::worm::{IsingWorm, WormParams};
use fieldkern::parallel::set_num_threads;

const L: usize = 4096;

fn lattice(l: usize, hot: bool) -> IsingLattice {
    IsingLattice::new(&IsingParams {
        lx: l,
        ly: l,
        seed: 1,
        hot_start: hot,
        ..IsingParams::default()
    })
    .unwrap()
}

const VARIANTS: [(&str, IsingUpdate, usize); 4] = [
    ("metropolis", IsingUpdate::Metropolis, 1),
    ("metropolis", IsingUpdate::Metropolis, 2),
    ("heat_bath", IsingUpdate::HeatBath, 1),
    ("heat_bath", IsingUpdate::HeatBath, 2),
];

fn bench_sweeps(c: &mut Criterion) {
    let mut lat = lattice(L, true);
    let mut group = c.benchmark_group("ising_2d_L4096_Tc");
    group.throughput(Throughput::Elements((L * L) as u64));
    group.sample_size(10);
    for (name, update, threads) in VARIANTS {
        set_num_threads(threads).unwrap();
        group.bench_with_input(
            BenchmarkId::new(name, format!("{threads}t")),
            &threads,
            |b, _| b.iter(|| lat.sweep(black_box(update), 1, &mut [], &mut []).unwrap()),
        );
    }
    let mut msc = IsingMsc::new(&IsingParams {
        lx: L,
        ly: L,
        seed: 1,
        hot_start: true,
        ..IsingParams::default()
    })
    .unwrap();
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        group.bench_with_input(
            BenchmarkId::new("multi_spin_metropolis", format!("{threads}t")),
            &threads,
            |b, _| b.iter(|| msc.sweep(black_box(1), &mut [], &mut []).unwrap()),
        );
    }
    group.finish();
    let mut reps = replicas(64);
    let mut group = c.benchmark_group("ising_replicas_2d_L4096");
    group.throughput(Throughput::Elements((REPLICAS * L * L) as u64));
    group.sample_size(10);
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        group.bench_with_input(
            BenchmarkId::new("replica_metropolis", format!("{threads}t")),
            &threads,
            |b, _| b.iter(|| reps.sweep(black_box(1), &mut [], &mut []).unwrap()),
        );
    }
    group.finish();
}

/// 64 replicas of the L = 4096 lattice (h = 0, J = 1, hot start) at 64
/// temperatures 1.5 .. 3.4 around Tc, or (`n_temps = 1`) all at Tc.
fn replicas(n_temps: usize) -> IsingReplicas {
    let tc = 2.0 / (1.0 + 2f64.sqrt()).ln();
    let temps: Vec<f64> = if n_temps == 1 {
        vec![tc]
    } else {
        (0..REPLICAS).map(|b| 1.5 + 0.03 * b as f64).collect()
    };
    IsingReplicas::new(
        &IsingReplicasParams {
            lx: L,
            ly: L,
            seed: 1,
            hot_start: true,
            ..IsingReplicasParams::default()
        },
        &temps,
    )
    .unwrap()
}

/// CPU time (ns) of all threads of this process so far, from
/// `/proc/self/task/*/schedstat` (0 where unavailable).
fn process_cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Best-of-5 flips/ns of one checkerboard sweep.
fn sweep_rate(lat: &mut IsingLattice, update: IsingUpdate) -> f64 {
    lat.sweep(update, 1, &mut [], &mut []).unwrap();
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            lat.sweep(update, 1, &mut [], &mut []).unwrap();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    lat.n_sites() as f64 / best * 1e-9
}

/// Compiles and runs the C baseline; `None` (with a message) if no compiler.
fn c_baseline(mode: &str) -> Option<f64> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::temp_dir().join(format!("fieldkern_ising_baseline_{}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(&cc)
        .args(["-O3", "-march=native", "-std=c99"])
        .arg(root.join("benches/ising_baseline.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-lm")
        .status();
    if !matches!(built, Ok(s) if s.success()) {
        eprintln!("C baseline: cannot compile with `{cc}`");
        return None;
    }
    let out = Command::new(&exe)
        .args([L.to_string(), "5".into(), mode.into()])
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&exe);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
}

fn summary_table() {
    println!("\nising summary, 2D L = {L} at Tc, attempted flips/ns (best of 5 sweeps):");
    println!(
        "{:<34} {:>7} {:>10} {:>12}",
        "kernel", "threads", "flips/ns", "per core"
    );
    let mut lat = lattice(L, true);
    let mut ours = [0.0f64; 2];
    for (name, update, threads) in VARIANTS {
        set_num_threads(threads).unwrap();
        let r = sweep_rate(&mut lat, update);
        if threads == 1 {
            ours[usize::from(update == IsingUpdate::HeatBath)] = r;
        }
        println!(
            "{:<34} {:>7} {:>10.3} {:>12.3}",
            format!("fieldkern checkerboard {name}"),
            threads,
            r,
            r / threads as f64
        );
    }
    let mut msc = IsingMsc::new(&IsingParams {
        lx: L,
        ly: L,
        seed: 1,
        hot_start: true,
        ..IsingParams::default()
    })
    .unwrap();
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        msc.sweep(1, &mut [], &mut []).unwrap();
        let best = (0..5)
            .map(|_| {
                let t = Instant::now();
                msc.sweep(1, &mut [], &mut []).unwrap();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let r = msc.n_sites() as f64 / best * 1e-9;
        println!(
            "{:<34} {:>7} {:>10.3} {:>12.3}",
            "fieldkern multi-spin metropolis",
            threads,
            r,
            r / threads as f64
        );
    }
    for (label, temps) in [
        ("fieldkern replica multi-spin", 64),
        ("fieldkern replica multi-spin, 1 T", 1),
    ] {
        let mut reps = replicas(temps);
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            reps.sweep(1, &mut [], &mut []).unwrap();
            let flips = (REPLICAS * L * L) as f64;
            let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
            for _ in 0..5 {
                let (t, c) = (Instant::now(), process_cpu_ns());
                reps.sweep(1, &mut [], &mut []).unwrap();
                best = best.min(t.elapsed().as_secs_f64());
                best_cpu = best_cpu.min((process_cpu_ns() - c) as f64);
            }
            println!(
                "{:<34} {:>7} {:>10.3} {:>12.3}   (64 replicas, {temps} temperature(s); per core from CPU time: {:.3})",
                label,
                threads,
                flips / best * 1e-9,
                flips / best * 1e-9 / threads as f64,
                flips / best_cpu
            );
        }
    }
    for (i, mode) in ["metropolis", "heatbath"].iter().enumerate() {
        if let Some(r) = c_baseline(mode) {
            println!(
                "{:<34} {:>7} {:>10.3} {:>12.3}   fieldkern 1t / C = {:.2}x",
                format!("C baseline (gcc -O3) {mode}"),
                1,
                r,
                r,
                ours[i] / r
            );
        }
    }
    set_num_threads(1).unwrap();
    let mut w = lattice(1024, false);
    w.wolff(500, &mut [], &mut []).unwrap();
    let t = Instant::now();
    let flipped = w.wolff(500, &mut [], &mut []).unwrap();
    let rate = flipped as f64 / t.elapsed().as_secs_f64() * 1e-9;
    println!(
        "{:<34} {:>7} {:>10.3} {:>12.3}   (spins flipped/ns, L = 1024)",
        "fieldkern Wolff", 1, rate, rate
    );
    let mut worm = IsingWorm::new(&WormParams {
        lx: 256,
        ly: 256,
        coupling: 1.0,
        temperature: fieldkern::mc::ising::CRITICAL_TEMPERATURE_2D,
        seed: 1,
        stream: 0,
    })
    .unwrap();
    worm.run(10_000_000);
    let steps = 20_000_000;
    let t = Instant::now();
    worm.run(steps);
    let rate = steps as f64 / t.elapsed().as_secs_f64() * 1e-9;
    println!(
        "{:<34} {:>7} {:>10.3} {:>12.3}   (worm steps/ns, L = 256)",
        "fieldkern worm", 1, rate, rate
    );
    for order in [2u32, 4] {
        let mut net = Hopfield::new(
            &HopfieldParams {
                order,
                n_neurons: 10_000,
                n_patterns: 100,
                temperature: 0.1,
                update: HopfieldUpdate::Glauber,
                seed: 1,
                stream: 0,
            },
            None,
        )
        .unwrap();
        net.sweep(1).unwrap();
        let t = Instant::now();
        net.sweep(5).unwrap();
        let rate = 5.0 * 10_000.0 / t.elapsed().as_secs_f64() * 1e-9;
        println!(
            "{:<34} {:>7} {:>10.4} {:>12.4}   (attempted flips/ns, N = 10^4, K = 100)",
            format!("fieldkern Hopfield p = {order}"),
            1,
            rate,
            rate
        );
    }
}

criterion_group!(benches, bench_sweeps);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
