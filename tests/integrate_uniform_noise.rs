//! The opt-in uniform noise (`NoiseKind::Uniform`, the noise of LAMMPS'
//! `fix langevin`) against exact results that tell it from Gaussian noise.
//!
//! In a harmonic trap (or without force) every integrator is linear, so the
//! state at step `n` is `sum_j r_j xi_(n-j)` with a deterministic impulse
//! response `r_j`. Its variance `sum r_j^2` depends on the noise only through
//! `<xi^2> = 1` and is the same for both kinds, while its excess kurtosis is
//! `kappa4(xi) sum r_j^4 / (sum r_j^2)^2` with `kappa4 = 0` for Gaussian and
//! `-6/5` for uniform noise. The tests compute `r_j` from the documented
//! update formulas and compare both moments, for both kinds: the variance
//! shows the uniform noise is the same thermostat, the kurtosis that each
//! kind really is the distribution it claims.

mod particles_util;

use fieldkern::forces::{BatchField, Trap};
use fieldkern::integrate::brownian::{Brownian, BrownianParams};
use fieldkern::integrate::langevin::{Baoab, LangevinParams};
use fieldkern::integrate::noise::NoiseKind;
use fieldkern::Result;
use particles_util::{open_field, State};

/// Fourth cumulant of a unit-variance noise element.
fn kappa4(kind: NoiseKind) -> f64 {
    match kind {
        NoiseKind::Gaussian => 0.0,
        NoiseKind::Uniform => -1.2,
    }
}

/// Per-block estimates of `<q^2>` and of the excess kurtosis
/// `<q^4>/<q^2>^2 - 3` over samples `q` (one row per block), reduced to
/// means and standard errors over the blocks.
struct Moments {
    var: (f64, f64),
    excess: (f64, f64),
}

fn block_moments(blocks: &[Vec<f64>]) -> Moments {
    let per_block: Vec<(f64, f64)> = blocks
        .iter()
        .map(|q| {
            let n = q.len() as f64;
            let m2 = q.iter().map(|a| a * a).sum::<f64>() / n;
            let m4 = q.iter().map(|a| a.powi(4)).sum::<f64>() / n;
            (m2, m4 / (m2 * m2) - 3.0)
        })
        .collect();
    let mean_se = |v: Vec<f64>| {
        let b = v.len() as f64;
        let m = v.iter().sum::<f64>() / b;
        let var = v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / (b - 1.0);
        (m, (var / b).sqrt())
    };
    Moments {
        var: mean_se(per_block.iter().map(|p| p.0).collect()),
        excess: mean_se(per_block.iter().map(|p| p.1).collect()),
    }
}

/// A harmonic trap `F = -k x` as a batch field: forces BAOAB onto its
/// general (force-buffer) path.
struct BatchTrap(f64);

impl BatchField for BatchTrap {
    fn eval(
        &mut self,
        x: &[f64],
        y: &[f64],
        z: &[f64],
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
    ) -> Result<f64> {
        let k = self.0;
        let mut u = 0.0;
        for i in 0..x.len() {
            fx[i] += -k * x[i];
            fy[i] += -k * y[i];
            fz[i] += -k * z[i];
            u += 0.5 * k * (x[i] * x[i] + y[i] * y[i] + z[i] * z[i]);
        }
        Ok(u)
    }
}

/// One BAOAB step of a unit-mass particle in the trap `k`, per axis, as
/// documented: `B A O A B` with `O: v = c1 v + c2 xi`.
fn baoab_map(k: f64, h: f64, c1: f64, c2: f64, [x, v]: [f64; 2], xi: f64) -> [f64; 2] {
    let v = v - h * k * x;
    let x = x + h * v;
    let v = c1 * v + c2 * xi;
    let x = x + h * v;
    [x, v - h * k * x]
}

/// Exact stationary variance and excess kurtosis of `x` and `v` from the
/// impulse response of [`baoab_map`]: `[(var_x, ex_x), (var_v, ex_v)]`.
fn baoab_exact(k: f64, h: f64, c1: f64, c2: f64, kind: NoiseKind) -> [(f64, f64); 2] {
    let mut r = baoab_map(k, h, c1, c2, [0.0, 0.0], 1.0);
    let (mut s2, mut s4) = ([0.0; 2], [0.0; 2]);
    for _ in 0..10_000 {
        for a in 0..2 {
            s2[a] += r[a] * r[a];
            s4[a] += r[a].powi(4);
        }
        r = baoab_map(k, h, c1, c2, r, 0.0);
    }
    assert!(r[0].abs() + r[1].abs() < 1e-30, "impulse response decays");
    [0, 1].map(|a| (s2[a], kappa4(kind) * s4[a] / (s2[a] * s2[a])))
}

/// BAOAB in a harmonic trap with a large step (k = 1, m = 1, kT = 1.3,
/// gamma = 2, dt = 0.5, so c1 = 1/e and the impulse response is short and
/// the uniform noise's kurtosis survives in the stationary state):
/// stationary `<x^2>` (= kT/k exactly for BAOAB), `<v^2>` and both excess
/// kurtoses against the impulse-response values, for both noise kinds and
/// both BAOAB paths (the fused one-body step and the general path through a
/// batch field). 10000 particles in 3D after 200 steps from rest (the
/// response has decayed below 1e-30 by then), 200 samples 5 steps apart,
/// 20 blocks; 4 standard errors (32 comparisons). Uniform noise predicts
/// excess kurtoses of -0.242 for `x` and -0.796 for `v`; the standard
/// errors are near 0.002.
#[test]
fn baoab_trap_moments_follow_the_noise_distribution() {
    let (n, k, kt, gamma, dt) = (10_000usize, 1.0, 1.3, 2.0f64, 0.5f64);
    let (h, c1) = (0.5 * dt, (-gamma * dt).exp());
    let c2 = ((1.0 - c1 * c1) * kt).sqrt();
    assert!((baoab_exact(k, h, c1, c2, NoiseKind::Gaussian)[0].0 - kt / k).abs() < 1e-12);
    for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
        for fused in [true, false] {
            let mut ff = open_field(3, n);
            if fused {
                ff.add_trap(Trap::Harmonic {
                    k,
                    centre: [0.0; 3],
                })
                .unwrap();
            } else {
                ff.add_batch_field(Box::new(BatchTrap(k))).unwrap();
            }
            let mut lg = Baoab::new(
                3,
                n,
                LangevinParams {
                    dt,
                    gamma,
                    kt,
                    seed: 23,
                    stream: 1,
                },
            )
            .unwrap();
            lg.set_noise(kind);
            assert_eq!(lg.noise(), kind);
            let mut s = State::new(3, n);
            lg.step(Some(&mut ff), &mut s.view(), 0, 200).1.unwrap();
            let (mut xs, mut vs) = (vec![Vec::new(); 20], vec![Vec::new(); 20]);
            let mut step = 200;
            for sample in 0..200 {
                lg.step(Some(&mut ff), &mut s.view(), step, 5).1.unwrap();
                step += 5;
                let b = sample / 10;
                xs[b].extend(s.x.iter().chain(&s.y).chain(&s.z));
                vs[b].extend(s.vx.iter().chain(&s.vy).chain(&s.vz));
            }
            let exact = baoab_exact(k, h, c1, c2, kind);
            for (what, blocks, (var, ex)) in [("x", &xs, exact[0]), ("v", &vs, exact[1])] {
                let m = block_moments(blocks);
                println!(
                    "{kind:?} fused {fused} {what}: <{what}^2> = {:.5} +- {:.5} (exact {var:.5}), excess kurtosis {:.4} +- {:.4} (exact {ex:.4})",
                    m.var.0, m.var.1, m.excess.0, m.excess.1
                );
                assert!(
                    (m.var.0 - var).abs() < 4.0 * m.var.1,
                    "{kind:?} fused {fused}: <{what}^2>"
                );
                assert!(
                    (m.excess.0 - ex).abs() < 4.0 * m.excess.1,
                    "{kind:?} fused {fused}: {what} kurtosis"
                );
            }
        }
    }
}

/// Free Brownian motion: after `s` steps each axis has moved
/// `sqrt(2 D dt) (xi_1 + .. + xi_s)`, variance `2 D s dt` for both kinds and
/// excess kurtosis `kappa4 / s` (-1.2 after one uniform step, -0.3 after
/// four). 40000 particles in 2D and 3D, 20 blocks of particles, 4 standard
/// errors (16 comparisons).
#[test]
fn brownian_displacements_follow_the_noise_distribution() {
    let (n, mu, kt, dt) = (40_000usize, 0.5, 2.0, 0.01);
    let d = mu * kt;
    for dim in [2usize, 3] {
        for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
            let mut bd = Brownian::new(
                dim,
                n,
                BrownianParams {
                    dt,
                    mobility: mu,
                    kt,
                    seed: 8,
                    stream: dim as u64,
                },
            )
            .unwrap();
            bd.set_noise(kind);
            let mut s = State::new(dim, n);
            let mut done = 0;
            for steps in [1usize, 4] {
                bd.step(None, &mut s.view(), done as u64, steps - done)
                    .1
                    .unwrap();
                done = steps;
                let per = n / 20;
                let blocks: Vec<Vec<f64>> = (0..20)
                    .map(|b| {
                        let r = b * per..(b + 1) * per;
                        let mut q: Vec<f64> = s.x[r.clone()].to_vec();
                        q.extend(&s.y[r.clone()]);
                        if dim == 3 {
                            q.extend(&s.z[r]);
                        }
                        q
                    })
                    .collect();
                let m = block_moments(&blocks);
                let (var, ex) = (2.0 * d * dt * steps as f64, kappa4(kind) / steps as f64);
                println!(
                    "{dim}D {kind:?} after {steps} steps: variance {:.6} +- {:.6} (exact {var:.6}), excess kurtosis {:.4} +- {:.4} (exact {ex:.4})",
                    m.var.0, m.var.1, m.excess.0, m.excess.1
                );
                assert!((m.var.0 - var).abs() < 4.0 * m.var.1, "{dim}D {kind:?}");
                assert!(
                    (m.excess.0 - ex).abs() < 4.0 * m.excess.1,
                    "{dim}D {kind:?}"
                );
            }
        }
    }
}
