//! Throughput of the particle integrators other than BAOAB (which
//! `benches/particles.rs` covers), each on the workload of the research it
//! serves, at 1 and 2 threads:
//!
//! * velocity Verlet (NVE) on the WCA fluid, N = 32768, rho = 0.8, 3D;
//! * Brownian dynamics on the same fluid, Gaussian and uniform noise;
//! * active Brownian particles in 2D with WCA repulsion, N = 32768 at area
//!   fraction ~0.6 (the MIPS workload), Gaussian and uniform noise;
//! * ABPs with vision-cone steering and goal fixation (the pedestrian
//!   model), N = 1024 with the O(N^2) all-pairs cone and with the Verlet
//!   list, and N = 65536 with the list;
//! * Kuramoto oscillators with phase noise, N = 10^6 (O(N) mean field),
//!   Gaussian and uniform noise.
//!
//! Criterion reports particle-steps/s (elements = particles x steps); the
//! closing table prints the same for 1 and 2 threads, best of 5.
//!
//!     cargo bench --bench integrators

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use fieldkern::forces::{ForceField, ForceFieldParams, PairKind};
use fieldkern::integrate::active::{ActiveBrownian, ActiveParams};
use fieldkern::integrate::brownian::{Brownian, BrownianParams};
use fieldkern::integrate::kuramoto::{Kuramoto, KuramotoParams};
use fieldkern::integrate::noise::NoiseKind;
use fieldkern::integrate::verlet::VelocityVerlet;
use fieldkern::integrate::SimBox;
use fieldkern::parallel::set_num_threads;

#[path = "common/particle_arrays.rs"]
mod particle_arrays;
use particle_arrays::Sys;

/// `m^dim` particles on a simple lattice at number density `rho` in a
/// periodic box, with a WCA field (sigma = epsilon = 1); deterministic
/// velocities of unit variance per component (3D: kT ~ 1, as in the BAOAB
/// benchmark) or headings (2D).
fn wca_lattice(dim: usize, m: usize, rho: f64) -> (Sys, ForceField) {
    let n = m.pow(dim as u32);
    let l = (n as f64 / rho).powf(1.0 / dim as f64);
    let a = l / m as f64;
    let wave = |k: usize, c: f64| (c * k as f64).sin();
    let mut s = Sys {
        dim,
        x: (0..n).map(|k| a * ((k % m) as f64 + 0.5)).collect(),
        y: (0..n).map(|k| a * (((k / m) % m) as f64 + 0.5)).collect(),
        z: if dim == 3 {
            (0..n).map(|k| a * ((k / (m * m)) as f64 + 0.5)).collect()
        } else {
            Vec::new()
        },
        vx: Vec::new(),
        vy: Vec::new(),
        vz: Vec::new(),
        ox: Vec::new(),
        oy: Vec::new(),
    };
    if dim == 3 {
        let amp = std::f64::consts::SQRT_2;
        s.vx = (0..n).map(|k| amp * wave(k, 1.1)).collect();
        s.vy = (0..n).map(|k| amp * wave(k, 2.3)).collect();
        s.vz = (0..n).map(|k| amp * wave(k, 3.7)).collect();
    } else {
        s.ox = (0..n).map(|k| (2.9 * k as f64).cos()).collect();
        s.oy = (0..n).map(|k| (2.9 * k as f64).sin()).collect();
    }
    let ff = ForceField::new(ForceFieldParams {
        sbox: SimBox::periodic(dim, [l; 3]),
        ntypes: 1,
        capacity: n,
        skin: 0.3,
        max_neighbors: 48,
    })
    .unwrap();
    let mut ff = ff;
    ff.add_pair(PairKind::Wca, &[1.0], &[1.0], &[0.0]).unwrap();
    (s, ff)
}

/// One benchmarked kernel: `step(first_step, steps)` advances its own state.
struct Kernel {
    name: String,
    particles: usize,
    steps: usize,
    step: Box<dyn FnMut(u64, usize)>,
}

fn kernels() -> Vec<Kernel> {
    let mut out = Vec::new();
    // Velocity Verlet, WCA 3D, N = 32^3, dt = 0.005 (as the BAOAB benchmark).
    {
        let (mut s, mut ff) = wca_lattice(3, 32, 0.8);
        let n = s.x.len();
        let mut v = VelocityVerlet::new(3, n, 0.005).unwrap();
        out.push(Kernel {
            name: "verlet_wca_32768".into(),
            particles: n,
            steps: 10,
            step: Box::new(move |s0, k| {
                v.step(Some(&mut ff), &mut s.view(), s0, k).1.unwrap();
            }),
        });
    }
    for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
        // Brownian dynamics, WCA 3D, N = 32^3.
        let (mut s, mut ff) = wca_lattice(3, 32, 0.8);
        let n = s.x.len();
        let mut b = Brownian::new(
            3,
            n,
            BrownianParams {
                dt: 1e-4,
                mobility: 1.0,
                kt: 1.0,
                seed: 1,
                stream: 0,
            },
        )
        .unwrap();
        b.set_noise(kind);
        out.push(Kernel {
            name: format!("brownian_wca_32768_{kind:?}"),
            particles: n,
            steps: 10,
            step: Box::new(move |s0, k| {
                b.step(Some(&mut ff), &mut s.view(), s0, k).1.unwrap();
            }),
        });
        // ABPs, WCA 2D, N = 181^2 = 32761 at rho = 0.76 (area fraction
        // pi/4 rho = 0.6), v0 = 5, Dr = 3, kT = 1.
        let (mut s, mut ff) = wca_lattice(2, 181, 0.76);
        let n = s.x.len();
        let mut a = ActiveBrownian::new(
            2,
            n,
            ActiveParams {
                dt: 1e-4,
                v0: 5.0,
                dr: 3.0,
                mobility: 1.0,
                kt: 1.0,
                seed: 2,
                ..Default::default()
            },
        )
        .unwrap();
        a.set_noise(kind);
        out.push(Kernel {
            name: format!("abp_mips_32761_{kind:?}"),
            particles: n,
            steps: 10,
            step: Box::new(move |s0, k| {
                a.step(Some(&mut ff), &mut s.view(), s0, k).1.unwrap();
            }),
        });
    }
    // Pedestrian ABPs: vision cone (Omega = 2, psi = pi/4, range 5, R0 = 2)
    // and goal fixation, in a periodic box at rho = 0.3: N = 32^2 over all
    // pairs and over a Verlet list (skin 0.5, about 29 neighbours within
    // 5.5); N = 256^2 over the list only (all pairs: ~4 s per step).
    for (side, list) in [(32, false), (32, true), (256, true)] {
        let (mut s, mut ff) = wca_lattice(2, side, 0.3);
        let n = s.x.len();
        let mut a = ActiveBrownian::new(
            2,
            n,
            ActiveParams {
                dt: 1e-3,
                v0: 1.0,
                dr: 0.1,
                mobility: 1.0,
                kt: 0.01,
                seed: 3,
                vision_omega: 2.0,
                vision_angle: std::f64::consts::FRAC_PI_4,
                vision_range: 5.0,
                vision_decay: 2.0,
                goal_k: 0.5,
                goal: [10.0, 10.0],
                ..Default::default()
            },
        )
        .unwrap();
        if list {
            a.reserve_vision_neighbours(64, 0.5).unwrap();
        }
        out.push(Kernel {
            name: format!(
                "abp_vision_cone_{n}{}",
                if list { "_verlet_list" } else { "" }
            ),
            particles: n,
            steps: 10,
            step: Box::new(move |s0, k| {
                a.step(Some(&mut ff), &mut s.view(), s0, k).1.unwrap();
            }),
        });
    }
    // Kuramoto with Lorentzian frequencies (quantiles, width 0.1), K = 1,
    // phase noise D = 0.05, N = 10^6.
    for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
        let n = 1_000_000;
        let omega: Vec<f64> = (0..n)
            .map(|i| 0.1 * (std::f64::consts::PI * ((i as f64 + 0.5) / n as f64 - 0.5)).tan())
            .collect();
        let mut theta: Vec<f64> = (0..n)
            .map(|i| (0.37 * i as f64) % std::f64::consts::TAU)
            .collect();
        let mut ku = Kuramoto::new(
            n,
            KuramotoParams {
                dt: 0.01,
                coupling: 1.0,
                noise: 0.05,
                seed: 4,
                stream: 0,
            },
        )
        .unwrap();
        ku.set_noise(kind);
        out.push(Kernel {
            name: format!("kuramoto_noisy_1e6_{kind:?}"),
            particles: n,
            steps: 5,
            step: Box::new(move |s0, k| {
                ku.step(&mut theta, &omega, s0, k).unwrap();
            }),
        });
    }
    out
}

fn bench_integrators(c: &mut Criterion) {
    let mut group = c.benchmark_group("integrators");
    group.sample_size(10);
    for mut k in kernels() {
        let mut step = 0u64;
        group.throughput(Throughput::Elements((k.particles * k.steps) as u64));
        group.bench_function(BenchmarkId::new(k.name.clone(), k.particles), |b| {
            b.iter(|| {
                (k.step)(black_box(step), k.steps);
                step += k.steps as u64;
            })
        });
    }
    group.finish();
}

fn summary_table() {
    println!("\nintegrators (particle-steps/s, best of 5 calls after one warm-up call):");
    println!(
        "{:<30} {:>10} {:>14} {:>14}",
        "kernel", "N", "1 thread", "2 threads"
    );
    let mut rates = Vec::new();
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        for (j, mut k) in kernels().into_iter().enumerate() {
            (k.step)(0, k.steps);
            let mut best = f64::INFINITY;
            for r in 0..5 {
                let t0 = Instant::now();
                (k.step)(((r + 1) * k.steps) as u64, k.steps);
                best = best.min(t0.elapsed().as_secs_f64());
            }
            let rate = (k.particles * k.steps) as f64 / best;
            if threads == 1 {
                rates.push((k.name, k.particles, rate, 0.0));
            } else {
                rates[j].3 = rate;
            }
        }
    }
    for (name, n, r1, r2) in rates {
        println!("{name:<30} {n:>10} {r1:>14.3e} {r2:>14.3e}");
    }
}

criterion_group!(benches, bench_integrators);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary_table();
}
