//! Stochastic integrators against exact results: BAOAB in a harmonic trap,
//! Brownian free diffusion and trap variance, active Brownian particle MSD,
//! Kuramoto order parameter for Lorentzian frequencies and its mean-field
//! step against the pairwise sum.
#![allow(clippy::needless_range_loop)]

mod particles_util;

use fieldkern::forces::{ForceField, Trap};
use fieldkern::integrate::active::{ActiveBrownian, ActiveParams};
use fieldkern::integrate::brownian::{Brownian, BrownianParams};
use fieldkern::integrate::kuramoto::{order_parameter, Kuramoto, KuramotoParams};
use fieldkern::integrate::langevin::{Baoab, LangevinParams};
use fieldkern::integrate::noise::NoiseKind;
use particles_util::{block_mean_se, open_field, State};

fn trap_field(dim: usize, n: usize, k: f64) -> ForceField {
    let mut ff = open_field(dim, n);
    ff.add_trap(Trap::Harmonic {
        k,
        centre: [0.0; 3],
    })
    .unwrap();
    ff
}

/// BAOAB samples the harmonic trap's configurational distribution exactly
/// for any stable dt (Leimkuhler & Matthews 2013), so <x^2> = kT/k; the
/// kinetic temperature <m v^2> = kT holds up to O(dt^2) = 1e-4 here, below
/// the statistical error. 1000 independent particles in 3D, 2000 samples
/// 25 steps (0.5 / gamma) apart after 10 / gamma of equilibration; standard
/// errors from 20 blocks of the per-sample averages; 3 SE tolerance.
#[test]
fn baoab_harmonic_trap_samples_exact_variance_and_temperature() {
    let (n, k, kt) = (1000, 2.0, 1.5);
    let mut s = State::new(3, n);
    let mut ff = trap_field(3, n, k);
    let mut lg = Baoab::new(
        3,
        n,
        LangevinParams {
            dt: 0.02,
            gamma: 1.0,
            kt,
            seed: 17,
            stream: 3,
        },
    )
    .unwrap();
    lg.step(Some(&mut ff), &mut s.view(), 0, 500).1.unwrap();
    let (mut x2, mut v2) = (Vec::new(), Vec::new());
    let mut step = 500;
    for _ in 0..2000 {
        lg.step(Some(&mut ff), &mut s.view(), step, 25).1.unwrap();
        step += 25;
        let q: f64 = (0..n)
            .map(|i| s.x[i] * s.x[i] + s.y[i] * s.y[i] + s.z[i] * s.z[i])
            .sum();
        x2.push(q / (3 * n) as f64);
        v2.push(s.mv2() / (3 * n) as f64);
    }
    let (mx, sx) = block_mean_se(&x2, 20);
    let (mv, sv) = block_mean_se(&v2, 20);
    println!(
        "<x^2> = {mx} +- {sx} (exact {}), <v^2> = {mv} +- {sv} (exact {kt})",
        kt / k
    );
    assert!((mx - kt / k).abs() < 3.0 * sx, "<x^2> = {mx} +- {sx}");
    assert!((mv - kt).abs() < 3.0 * sv, "<v^2> = {mv} +- {sv}");
}

/// BAOAB's friction: with no force the B and A sub-steps leave velocities
/// alone and O maps `v -> c1 v + c2 xi`, `c1 = exp(-gamma dt)`, so from
/// equilibrium `<v(t).v(0)> / (d kT/m) = exp(-gamma t)` exactly at step
/// times (the equipartition tests cannot see gamma: any c1 with its matching
/// c2 keeps the Maxwell distribution). 20000 particles in 3D, t = 0.5,
/// gamma = 2; both the fused one-body path (a zero-stiffness trap) and the
/// general path (no force field); 3.5 standard errors (two comparisons).
#[test]
fn baoab_velocity_autocorrelation_decays_at_the_friction_rate() {
    let (n, kt, gamma, dt, steps) = (20_000, 1.5, 2.0, 0.01, 50);
    for fused in [true, false] {
        let mut s = State::new(3, n);
        s.thermalise(kt, 12);
        let v0 = (s.vx.clone(), s.vy.clone(), s.vz.clone());
        let mut lg = Baoab::new(
            3,
            n,
            LangevinParams {
                dt,
                gamma,
                kt,
                seed: 4,
                stream: 0,
            },
        )
        .unwrap();
        let mut ff = trap_field(3, n, 0.0);
        let field = if fused { Some(&mut ff) } else { None };
        lg.step(field, &mut s.view(), 0, steps).1.unwrap();
        let c: Vec<f64> = (0..n)
            .map(|i| (s.vx[i] * v0.0[i] + s.vy[i] * v0.1[i] + s.vz[i] * v0.2[i]) / (3.0 * kt))
            .collect();
        let (m, var, _, _) = moments(&c);
        let se = (var / n as f64).sqrt();
        let exact = (-gamma * dt * steps as f64).exp();
        println!("fused {fused}: <v(t).v(0)>/(3 kT) = {m} +- {se}, exact {exact}");
        assert!(
            (m - exact).abs() < 3.5 * se,
            "fused {fused}: {m} +- {se} vs {exact}"
        );
    }
}

/// Per-particle masses (inverse masses 1/4, 1 and 4, 500 particles each):
/// equipartition holds per mass class, `<m v^2> = kT` per axis, and the
/// configurational variance `<x^2> = kT/k` does not depend on the mass. The
/// O((omega dt)^2) kinetic-temperature error is below 2e-4 relative at the
/// stiffest class (omega dt = 0.028); 1500 samples 25 steps apart, block
/// standard errors, 3.5 SE (six comparisons).
#[test]
fn baoab_equipartition_holds_per_mass_class() {
    let (per_class, k, kt, dt) = (500, 2.0, 1.5, 0.01);
    let inv_masses = [0.25, 1.0, 4.0];
    let n = per_class * inv_masses.len();
    let mut s = State::new(3, n);
    s.inv_mass = (0..n).map(|i| inv_masses[i % 3]).collect();
    let mut ff = trap_field(3, n, k);
    let mut lg = Baoab::new(
        3,
        n,
        LangevinParams {
            dt,
            gamma: 2.0,
            kt,
            seed: 5,
            stream: 1,
        },
    )
    .unwrap();
    lg.step(Some(&mut ff), &mut s.view(), 0, 1000).1.unwrap();
    let mut step = 1000;
    let (mut x2, mut v2) = (vec![Vec::new(); 3], vec![Vec::new(); 3]);
    for _ in 0..1500 {
        lg.step(Some(&mut ff), &mut s.view(), step, 25).1.unwrap();
        step += 25;
        let (mut qx, mut kv) = ([0.0; 3], [0.0; 3]);
        for i in 0..n {
            qx[i % 3] += s.x[i] * s.x[i] + s.y[i] * s.y[i] + s.z[i] * s.z[i];
            let v2 = s.vx[i] * s.vx[i] + s.vy[i] * s.vy[i] + s.vz[i] * s.vz[i];
            kv[i % 3] += v2 / s.inv_mass[i];
        }
        for c in 0..3 {
            x2[c].push(qx[c] / (3 * per_class) as f64);
            v2[c].push(kv[c] / (3 * per_class) as f64);
        }
    }
    for c in 0..3 {
        let (mx, sx) = block_mean_se(&x2[c], 20);
        let (mv, sv) = block_mean_se(&v2[c], 20);
        let im = inv_masses[c];
        println!(
            "1/m = {im}: <x^2> = {mx} +- {sx} (exact {}), <m v^2> = {mv} +- {sv}",
            kt / k
        );
        assert!(
            (mx - kt / k).abs() < 3.5 * sx,
            "1/m = {im}: <x^2> = {mx} +- {sx}"
        );
        assert!(
            (mv - kt).abs() < 3.5 * sv,
            "1/m = {im}: <m v^2> = {mv} +- {sv}"
        );
    }
}

/// Euler-Maruyama is exact for free diffusion: after t, |dr|^2 / (2 D t) is
/// a chi-square with d degrees of freedom, so MSD = 2 d D t with standard
/// error 2 D t sqrt(2 d / N) over N independent particles; 3 SE tolerance.
#[test]
fn brownian_free_diffusion_msd_is_2_dim_d_t() {
    for dim in [2, 3] {
        let n = 20000;
        let (mu, kt, dt, steps) = (0.5, 2.0, 0.01, 100);
        let d = mu * kt;
        let mut s = State::new(dim, n);
        let mut bd = Brownian::new(
            dim,
            n,
            BrownianParams {
                dt,
                mobility: mu,
                kt,
                seed: 1,
                stream: dim as u64,
            },
        )
        .unwrap();
        let (done, r) = bd.step(None, &mut s.view(), 0, steps);
        r.unwrap();
        assert_eq!(done, steps);
        let t = dt * steps as f64;
        let msd = (0..n)
            .map(|i| {
                s.x[i] * s.x[i] + s.y[i] * s.y[i] + if dim == 3 { s.z[i] * s.z[i] } else { 0.0 }
            })
            .sum::<f64>()
            / n as f64;
        let exact = 2.0 * dim as f64 * d * t;
        let se = 2.0 * d * t * (2.0 * dim as f64 / n as f64).sqrt();
        println!("dim {dim}: MSD = {msd}, exact {exact} +- {se}");
        assert!((msd - exact).abs() < 3.0 * se);
    }
}

/// In a harmonic trap, Euler-Maruyama's stationary variance per axis is
/// exactly (kT/k) / (1 - mu k dt / 2) (-> kT/k as dt -> 0). 2000 particles,
/// 3D, 400 samples 50 steps apart (0.5 relaxation times) after 10
/// relaxation times; block standard error (20 blocks), 3 SE.
#[test]
fn brownian_trap_variance_is_kt_over_k() {
    let (n, k, mu, kt, dt) = (2000, 4.0, 0.5, 1.0, 0.005);
    let mut s = State::new(3, n);
    let mut ff = trap_field(3, n, k);
    let mut bd = Brownian::new(
        3,
        n,
        BrownianParams {
            dt,
            mobility: mu,
            kt,
            seed: 4,
            stream: 0,
        },
    )
    .unwrap();
    bd.step(Some(&mut ff), &mut s.view(), 0, 1000).1.unwrap();
    let mut x2 = Vec::new();
    let mut step = 1000;
    for _ in 0..400 {
        bd.step(Some(&mut ff), &mut s.view(), step, 50).1.unwrap();
        step += 50;
        let q: f64 = (0..n)
            .map(|i| s.x[i] * s.x[i] + s.y[i] * s.y[i] + s.z[i] * s.z[i])
            .sum();
        x2.push(q / (3 * n) as f64);
    }
    let (m, se) = block_mean_se(&x2, 20);
    let exact = kt / k / (1.0 - mu * k * dt / 2.0);
    println!("<x^2> = {m} +- {se}, exact {exact} (kT/k = {})", kt / k);
    assert!((m - exact).abs() < 3.0 * se);
}

/// 2D ABPs without interactions: MSD(t) = 4 D t + 2 v0^2/Dr^2 (Dr t +
/// exp(-Dr t) - 1). With Gaussian noise the orientation is rotated by exact
/// Gaussian angle increments, so the only discretisation error is
/// O(dt Dr) = 1e-3 relative. With uniform noise each step's heading
/// correlation is `sin(sqrt 3 s)/(sqrt 3 s)` instead of `exp(-s^2/2)`,
/// `s^2 = 2 Dr dt`: a relative difference of `s^4/20` per step, 8e-4 over
/// the 4000 steps, inside the same allowance. Tolerance: 3 standard errors
/// of the mean over 5000 independent particles (SE from the sample variance
/// of |dr|^2) plus the 1e-3 relative bias.
#[test]
fn abp_2d_msd_follows_the_active_diffusion_formula() {
    for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
        abp_2d_msd(kind);
    }
}

fn abp_2d_msd(kind: NoiseKind) {
    let n = 5000;
    let (v0, dr, mu, kt, dt) = (1.0, 1.0, 1.0, 0.1, 1e-3);
    let mut s = State::new(2, n);
    s.ox = vec![1.0; n];
    s.oy = vec![0.0; n];
    // Random initial orientations.
    let mut u = vec![0.0; n];
    fieldkern::rng::fill::fill_uniform_f64(8, 8, 0, &mut u).unwrap();
    for i in 0..n {
        let a = std::f64::consts::TAU * u[i];
        s.ox[i] = a.cos();
        s.oy[i] = a.sin();
    }
    let mut abp = ActiveBrownian::new(2, n, abp_params(v0, dr, mu, kt, dt, 21)).unwrap();
    abp.set_noise(kind);
    let d = mu * kt;
    let mut step = 0u64;
    for t_end in [0.5, 1.0, 2.0, 4.0] {
        let target = (t_end / dt) as u64;
        abp.step(None, &mut s.view(), step, (target - step) as usize)
            .1
            .unwrap();
        step = target;
        let t = step as f64 * dt;
        let r2: Vec<f64> = (0..n).map(|i| s.x[i] * s.x[i] + s.y[i] * s.y[i]).collect();
        let (m, var, _, _) = moments(&r2);
        let se = (var / n as f64).sqrt();
        let exact = 4.0 * d * t + 2.0 * v0 * v0 / (dr * dr) * (dr * t + (-dr * t).exp() - 1.0);
        println!("{kind:?} t = {t}: MSD = {m} +- {se}, exact {exact}");
        assert!(
            (m - exact).abs() < 3.0 * se + 1e-3 * exact,
            "{kind:?} t = {t}"
        );
        let norm_err = (0..n)
            .map(|i| (s.ox[i].hypot(s.oy[i]) - 1.0).abs())
            .fold(0.0, f64::max);
        assert!(norm_err < 1e-12);
    }
}

/// ABPs in a harmonic trap `U = k r^2 / 2` (independent particles): each
/// axis obeys `x' = v0 e_x - mu k x + sqrt(2 D) xi` with `<e_x(t) e_x(0)> =
/// exp(-(d - 1) Dr t) / d`, so the stationary variance per axis is
/// `<x^2> = D/(mu k) + v0^2 / (d mu k (mu k + (d - 1) Dr))` (the thermal
/// part plus the active noise filtered by the trap; e.g. Pototsky & Stark,
/// EPL 98, 50004 (2012)). mu = 0.5, k = 2, v0 = 1, Dr = 1, kT = 0.2: 0.35 in
/// 2D, 0.1 + 1/9 in 3D. 10000 particles after 8 relaxation times;
/// Euler-Maruyama's bias is O(mu k dt) = 1e-3 relative; 3.5 standard errors
/// (two comparisons) plus that bias.
#[test]
fn abp_in_a_harmonic_trap_has_the_active_stationary_variance() {
    let n = 10_000;
    let (v0, dr, mu, kt, k, dt) = (1.0, 1.0, 0.5, 0.2, 2.0, 1e-3);
    for dim in [2, 3] {
        let mut s = State::new(dim, n);
        let mut g = vec![0.0; 3 * n];
        fieldkern::rng::fill::fill_normal_f64(9, 9, 0, &mut g).unwrap();
        // Isotropic initial headings: normalised Gaussian vectors.
        s.ox = vec![0.0; n];
        s.oy = vec![0.0; n];
        s.oz = vec![0.0; if dim == 3 { n } else { 0 }];
        for i in 0..n {
            let e = &g[3 * i..3 * i + dim];
            let norm = e.iter().map(|v| v * v).sum::<f64>().sqrt();
            s.ox[i] = e[0] / norm;
            s.oy[i] = e[1] / norm;
            if dim == 3 {
                s.oz[i] = e[2] / norm;
            }
        }
        let mut ff = trap_field(dim, n, k);
        let mut abp = ActiveBrownian::new(dim, n, abp_params(v0, dr, mu, kt, dt, 23)).unwrap();
        abp.step(Some(&mut ff), &mut s.view(), 0, 8000).1.unwrap();
        let r2: Vec<f64> = (0..n)
            .map(|i| {
                let z2 = if dim == 3 { s.z[i] * s.z[i] } else { 0.0 };
                (s.x[i] * s.x[i] + s.y[i] * s.y[i] + z2) / dim as f64
            })
            .collect();
        let (m, var, _, _) = moments(&r2);
        let se = (var / n as f64).sqrt();
        let (mk, d) = (mu * k, dim as f64);
        let exact = mu * kt / mk + v0 * v0 / (d * mk * (mk + (d - 1.0) * dr));
        println!("{dim}D: <x^2> = {m} +- {se}, exact {exact}");
        assert!((m - exact).abs() < 3.5 * se + 1e-3 * exact, "{dim}D");
    }
}

/// ABP parameters: propulsion `v0`, rotational diffusion `dr`, mobility
/// `mu`, temperature `kt`, step `dt`, noise seed; no steering.
fn abp_params(v0: f64, dr: f64, mu: f64, kt: f64, dt: f64, seed: u64) -> ActiveParams {
    ActiveParams {
        dt,
        v0,
        dr,
        mobility: mu,
        kt,
        seed,
        stream: 0,
        ..Default::default()
    }
}

fn moments(x: &[f64]) -> (f64, f64, f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / (n - 1.0);
    (m, v, 0.0, 0.0)
}

/// Kuramoto with Lorentzian natural frequencies of half-width gamma
/// (deterministic quantiles, N = 10^4): r = sqrt(1 - 2 gamma / K) above
/// K_c = 2 gamma (Kuramoto 1975), and r = O(N^-1/2) below. Finite-size
/// fluctuations of r are O(N^-1/2) = 0.01; tolerance 2 N^-1/2 above K_c and
/// r < 5 N^-1/2 below.
#[test]
fn kuramoto_lorentzian_order_parameter_matches_theory() {
    let n = 10_000;
    let gamma = 0.5;
    let omega: Vec<f64> = (0..n)
        .map(|i| gamma * (std::f64::consts::PI * ((i as f64 + 0.5) / n as f64 - 0.5)).tan())
        .collect();
    let tol = 1.0 / (n as f64).sqrt();
    for (k, start_synced) in [(2.0, true), (3.0, true), (0.5, false)] {
        let mut theta = vec![0.0; n];
        if !start_synced {
            fieldkern::rng::fill::fill_uniform_f64(3, 0, 0, &mut theta).unwrap();
            theta.iter_mut().for_each(|t| *t *= std::f64::consts::TAU);
        }
        let mut ku = Kuramoto::new(
            n,
            KuramotoParams {
                dt: 0.02,
                coupling: k,
                noise: 0.0,
                seed: 0,
                stream: 0,
            },
        )
        .unwrap();
        ku.step(&mut theta, &omega, 0, 3000).unwrap();
        let mut rs = Vec::new();
        for b in 0..100 {
            ku.step(&mut theta, &omega, 3000 + 20 * b, 20).unwrap();
            rs.push(order_parameter(&theta).0);
        }
        let r = rs.iter().sum::<f64>() / rs.len() as f64;
        let kc = 2.0 * gamma;
        if k > kc {
            let exact = (1.0 - kc / k).sqrt();
            println!("K = {k}: r = {r}, theory {exact}");
            assert!((r - exact).abs() < 2.0 * tol, "K = {k}: r = {r} vs {exact}");
        } else {
            println!("K = {k}: r = {r} (below K_c)");
            assert!(r < 5.0 * tol, "K = {k}: r = {r}");
        }
    }
}

/// 3D rotational diffusion of ABP orientations: <e(t) . e(0)> =
/// exp(-2 Dr t). 4000 particles, t = 0.5 / Dr; the scheme's bias is
/// O(Dr dt) = 1e-3 relative; tolerance 3 SE (sample spread of e(t).e(0))
/// plus that bias.
/// 3D rotational diffusion is isotropic: from any fixed initial heading
/// `<e(t).e(0)> = exp(-2 Dr t)`. Three groups of 20000 particles start along
/// x, (1,1,1)/sqrt(3) and (1,0,1)/sqrt(2) (a scheme that correlated the
/// rotation-vector components would decay at different rates from different
/// headings; the average over random headings can hide that). The reference
/// is the scheme's own decay: a step maps `e` to `(e + w x e) / |e + w x e|`
/// with `|w x e|^2 = sigma^2 chi^2_2`, `sigma^2 = 2 Dr dt`, so from any
/// heading `E[e'] = lambda e` with `lambda = E[(1 + sigma^2 chi^2_2)^-1/2] =
/// int_0^inf exp(-u) (1 + 2 sigma^2 u)^-1/2 du` and `<e(t).e(0)> =
/// lambda^steps`, which is `exp(-2 Dr t)` to first order in `Dr dt` (checked
/// to 1%). Each group within 3.5 standard errors (three comparisons).
#[test]
fn abp_3d_orientation_decorrelates_as_exp_minus_2_dr_t_from_any_heading() {
    let per_group = 20_000;
    let r3 = 1.0 / 3.0f64.sqrt();
    let r2 = std::f64::consts::FRAC_1_SQRT_2;
    let headings = [[1.0, 0.0, 0.0], [r3, r3, r3], [r2, 0.0, r2]];
    let n = per_group * headings.len();
    let (dr, dt, steps) = (1.0, 1e-3, 500usize);
    let mut s = State::new(3, n);
    s.ox = (0..n).map(|i| headings[i / per_group][0]).collect();
    s.oy = (0..n).map(|i| headings[i / per_group][1]).collect();
    s.oz = (0..n).map(|i| headings[i / per_group][2]).collect();
    let mut abp = ActiveBrownian::new(
        3,
        n,
        ActiveParams {
            dt,
            v0: 1.0,
            dr,
            seed: 8,
            ..Default::default()
        },
    )
    .unwrap();
    abp.step(None, &mut s.view(), 0, steps).1.unwrap();
    let lambda = {
        // Simpson's rule on [0, 60] (the tail beyond is below e^-60).
        let (m, h) = (60_000, 1e-3);
        let f = |u: f64| (-u).exp() / (1.0 + 2.0 * (2.0 * dr * dt) * u).sqrt();
        let inner: f64 = (1..m)
            .map(|k| if k % 2 == 1 { 4.0 } else { 2.0 } * f(k as f64 * h))
            .sum();
        (f(0.0) + inner + f(m as f64 * h)) * h / 3.0
    };
    let exact = lambda.powi(steps as i32);
    let continuum = (-2.0 * dr * dt * steps as f64).exp();
    assert!(
        (exact / continuum - 1.0).abs() < 1e-2,
        "{exact} vs {continuum}"
    );
    for (g, e0) in headings.iter().enumerate() {
        let c: Vec<f64> = (g * per_group..(g + 1) * per_group)
            .map(|i| s.ox[i] * e0[0] + s.oy[i] * e0[1] + s.oz[i] * e0[2])
            .collect();
        let (m, var, _, _) = moments(&c);
        let se = (var / per_group as f64).sqrt();
        println!("heading {e0:?}: <e(t).e(0)> = {m} +- {se}, exact {exact}");
        assert!((m - exact).abs() < 3.5 * se, "heading {e0:?}");
    }
}

/// One noiseless step of the O(N) mean-field update against the definition
/// it replaces, `theta_i += dt [omega_i + (K/N) sum_j sin(theta_j - theta_i)]`
/// summed over all pairs (then wrapped into [0, 2 pi)): equal to 1e-12 (the
/// two sums round differently). N = 5000 spans two mean-field segments.
#[test]
fn kuramoto_step_equals_the_pairwise_sum_definition() {
    let n = 5000;
    let (k, dt) = (1.7, 0.05);
    let mut u = vec![0.0; 2 * n];
    fieldkern::rng::fill::fill_uniform_f64(6, 2, 0, &mut u).unwrap();
    let tau = std::f64::consts::TAU;
    // Partly synchronised phases (r ~ 0.3) and spread frequencies.
    let theta0: Vec<f64> = (0..n)
        .map(|i| (tau * u[i] * u[i]).rem_euclid(tau))
        .collect();
    let omega: Vec<f64> = (0..n).map(|i| 2.0 * u[n + i] - 1.0).collect();
    let mut theta = theta0.clone();
    let mut ku = Kuramoto::new(
        n,
        KuramotoParams {
            dt,
            coupling: k,
            noise: 0.0,
            seed: 1,
            stream: 0,
        },
    )
    .unwrap();
    ku.step(&mut theta, &omega, 0, 1).unwrap();
    let (r, _) = order_parameter(&theta0);
    assert!(r > 0.2, "r = {r}: the mean field should matter");
    for i in 0..n {
        let pull: f64 = theta0.iter().map(|&tj| (tj - theta0[i]).sin()).sum();
        let want = (theta0[i] + dt * (omega[i] + k / n as f64 * pull)).rem_euclid(tau);
        let d = (theta[i] - want).abs();
        assert!(
            d.min(tau - d) < 1e-12,
            "oscillator {i}: {} vs {want}",
            theta[i]
        );
    }
}

/// The order parameter of phases spread symmetrically about psi0,
/// `psi0 +- a` (3000 each, two mean-field segments, stored in [0, 2 pi)):
/// `r = cos a` and `psi = psi0` (in (-pi, pi]) to 1e-12.
#[test]
fn order_parameter_gives_coherence_and_mean_phase() {
    let tau = std::f64::consts::TAU;
    for (psi0, a) in [(2.5f64, 0.7f64), (-2.8, 1.2), (0.3, 0.0)] {
        let theta: Vec<f64> = (0..6000)
            .map(|i| (psi0 + if i % 2 == 0 { a } else { -a }).rem_euclid(tau))
            .collect();
        let (r, psi) = order_parameter(&theta);
        assert!((r - a.cos()).abs() < 1e-12, "r = {r} vs {}", a.cos());
        assert!((psi - psi0).abs() < 1e-12, "psi = {psi} vs {psi0}");
    }
}

/// Noisy XY / Kuramoto phase noise without coupling: each step adds
/// `s xi` to every phase, `s^2 = 2 D dt`, so `<cos(theta(t) - theta(0))>`
/// is `E[cos(s xi)]^steps` exactly (wrapping into [0, 2 pi) does not change
/// the cosine): `exp(-s^2/2)^steps = exp(-D t)` for Gaussian noise and
/// `(sin(sqrt 3 s) / (sqrt 3 s))^steps` for uniform noise (here within 4e-4
/// of each other, far below the error). 20000 oscillators; 3 SE.
#[test]
fn kuramoto_phase_noise_decorrelates_as_exp_minus_d_t() {
    let n = 20_000;
    let (d, dt, steps) = (0.5f64, 0.01f64, 200usize);
    for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
        let mut theta = vec![1.0; n];
        let mut ku = Kuramoto::new(
            n,
            KuramotoParams {
                dt,
                coupling: 0.0,
                noise: d,
                seed: 12,
                stream: 0,
            },
        )
        .unwrap();
        ku.set_noise(kind);
        ku.step(&mut theta, &[], 0, steps).unwrap();
        let c: Vec<f64> = theta.iter().map(|t| (t - 1.0).cos()).collect();
        let (m, var, _, _) = moments(&c);
        let se = (var / n as f64).sqrt();
        let s = (2.0 * d * dt).sqrt();
        let per_step = match kind {
            NoiseKind::Gaussian => (-0.5 * s * s).exp(),
            NoiseKind::Uniform => (3f64.sqrt() * s).sin() / (3f64.sqrt() * s),
        };
        let exact = per_step.powi(steps as i32);
        println!("{kind:?}: <cos dtheta> = {m} +- {se}, exact {exact}");
        assert!((m - exact).abs() < 3.0 * se, "{kind:?}");
    }
}
