//! Physics of replica multi-spin coding (`src/mc/ising_replicas.rs`):
//! * each replica's energy per spin on a 64 x 64 torus against the exact
//!   finite-lattice value (Kaufman 1949), 16 replicas at each of
//!   T in {1.5, 2.0, 2.269, 3.0} in ONE run, and |m| below Tc against Yang;
//! * detailed balance of one replica's marginal on the 4 x 2 torus (all 256
//!   states, Pearson chi-square), with the other replicas at other
//!   temperatures;
//! * replicas at the same temperature do not synchronise through their
//!   shared random words: their overlaps stay as small as those of truly
//!   independent lattices.
//!
//! The Kaufman, binning and Boltzmann helpers are those of
//! `tests/mc_ising_physics.rs` (copied: test binaries cannot share them
//! without editing `tests/support`).

mod support;

use fieldkern::mc::ising_replicas::{IsingReplicas, IsingReplicasParams, REPLICAS};
use support::ising_exact::{boltzmann, exact_energy_per_spin, yang_magnetisation};
use support::stats::{binned_mean_and_error, chi_square_upper};

/// One run of 64 replicas on a 64^2 torus, replica b at
/// `T[b % 4]`, T in {1.5, 2.0, 2.269, 3.0} (16 replicas each), cold start;
/// 20000 equilibration sweeps, then 32 bins of 4000 sweeps. Per sweep the
/// 16 replicas of a temperature are averaged first (they are correlated
/// through the shared random words), and the binned error of that series is
/// the error bar. 4000 sweeps per bin is much longer than the energy
/// autocorrelation time (~100 sweeps at Tc for L = 64), so the binned error
/// is reliable to ~13% (1/sqrt(2 * 31)); a 5 sigma band over the 6
/// comparisons fails a correct kernel with probability ~4e-6. Power (sigma
/// bounds asserted): away from Tc sigma < 4e-4 (a bias of 2e-3 per spin is
/// caught), at T = 2.269 sigma < 2e-3, as for the int8 kernels' test.
#[test]
fn each_replica_energy_matches_kaufman_and_magnetisation_matches_yang() {
    let temps = [1.5, 2.0, 2.269, 3.0];
    let l = 64;
    let mut lat = IsingReplicas::new(
        &IsingReplicasParams {
            lx: l,
            ly: l,
            seed: 41,
            ..IsingReplicasParams::default()
        },
        &temps,
    )
    .unwrap();
    lat.sweep(20_000, &mut [], &mut []).unwrap();
    let (bins, bin_len) = (32, 4000);
    let n = bins * bin_len;
    let (mut e, mut m) = (vec![0.0; n * REPLICAS], vec![0.0; n * REPLICAS]);
    lat.sweep(n, &mut e, &mut m).unwrap();
    for (ti, &t) in temps.iter().enumerate() {
        let per_sweep = |x: &[f64], abs: bool| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    (ti..REPLICAS)
                        .step_by(4)
                        .map(|b| {
                            if abs {
                                x[i * REPLICAS + b].abs()
                            } else {
                                x[i * REPLICAS + b]
                            }
                        })
                        .sum::<f64>()
                        / 16.0
                })
                .collect()
        };
        let (mean, err) = binned_mean_and_error(&per_sweep(&e, false), bins);
        let exact = exact_energy_per_spin(l, t);
        let power = if t == 2.269 { 2e-3 } else { 4e-4 };
        println!("T = {t}: e = {mean:.6} +- {err:.1e}, exact {exact:.6}");
        assert!(err < power, "T = {t}: error bar {err} too large");
        assert!(
            (mean - exact).abs() < 5.0 * err,
            "T = {t}: e = {mean} +- {err}, exact (64^2 torus) {exact}"
        );
        if t < 2.1 {
            // Correlation length far below L: finite-size corrections to
            // <|m|> negligible against the error (as in the int8 test).
            let (mm, merr) = binned_mean_and_error(&per_sweep(&m, true), bins);
            let yang = yang_magnetisation(t);
            println!("T = {t}: |m| = {mm:.6} +- {merr:.1e}, Yang {yang:.6}");
            assert!(
                (mm - yang).abs() < 5.0 * merr,
                "T = {t}: |m| = {mm} +- {merr}, Yang {yang}"
            );
        }
        // Every replica on its own, too (its binned error is larger, ~4x).
        for b in (ti..REPLICAS).step_by(4) {
            let series: Vec<f64> = (0..n).map(|i| e[i * REPLICAS + b]).collect();
            let (mb, eb) = binned_mean_and_error(&series, bins);
            assert!(
                (mb - exact).abs() < 5.0 * eb.max(err),
                "T = {t}, replica {b}: e = {mb} +- {eb}, exact {exact}"
            );
        }
    }
}

/// Replicas 0, 13 and 62 (at T = 3.0, 2.5 and 4.0 among four
/// temperatures, J = 1, h = 0.3) each sample the Boltzmann distribution of
/// all 256 states of the 4 x 2 torus. 4e5 samples 4 sweeps apart: every
/// expected count is above ~15 (T = 2.5 is the coldest), successive samples
/// are nearly independent on this tiny lattice, so Pearson's statistic is
/// chi-square with 255 degrees of freedom; 4-sigma bound per replica. A
/// replica sampling at the neighbouring replica's temperature instead gives
/// several times the bound.
#[test]
fn each_replica_alone_samples_boltzmann_over_all_256_states_of_4x2() {
    let temps = [3.0, 2.5, 3.5, 4.0];
    let (lx, ly, j, h) = (4, 2, 1.0, 0.3);
    let mut lat = IsingReplicas::new(
        &IsingReplicasParams {
            lx,
            ly,
            coupling: j,
            field: h,
            seed: 99,
            hot_start: true,
            ..IsingReplicasParams::default()
        },
        &temps,
    )
    .unwrap();
    let watched = [0usize, 13, 62];
    let probs: Vec<Vec<f64>> = watched
        .iter()
        .map(|&b| boltzmann(lx, ly, j, h, temps[b % 4]))
        .collect();
    let samples = 400_000;
    let mut counts = vec![vec![0u64; 256]; watched.len()];
    let mut spins = vec![0i8; lx * ly];
    for _ in 0..samples {
        lat.sweep(4, &mut [], &mut []).unwrap();
        for (k, &b) in watched.iter().enumerate() {
            lat.replica_spins_into(b, &mut spins).unwrap();
            let state: usize = spins
                .iter()
                .enumerate()
                .map(|(i, &s)| usize::from(s < 0) << i)
                .sum();
            counts[k][state] += 1;
        }
    }
    let bound = chi_square_upper(255.0, 4.0);
    for (k, &b) in watched.iter().enumerate() {
        let chi2: f64 = counts[k]
            .iter()
            .zip(&probs[k])
            .map(|(&c, &q)| {
                let e = q * samples as f64;
                (c as f64 - e).powi(2) / e
            })
            .sum();
        println!("replica {b}: chi2 = {chi2:.1}, bound {bound:.1}");
        assert!(chi2 < bound, "replica {b}: chi2 = {chi2}, bound {bound}");
    }
}

/// Overlaps `q_ab = (1/N) sum_i s_i^a s_i^b` of all pairs of replicas of one
/// lattice, and of replica a of one lattice with replica b of another
/// (different seed: truly independent chains).
fn overlaps(x: &IsingReplicas, y: &IsingReplicas) -> (Vec<f64>, Vec<f64>) {
    let n = x.n_sites();
    let (wx, wy): (Vec<u64>, Vec<u64>) = (0..n).map(|s| (x.site_word(s), y.site_word(s))).unzip();
    let q = |a: usize, b: usize, other: &[u64]| -> f64 {
        let agree = wx
            .iter()
            .zip(other)
            .filter(|(&u, &v)| (u >> a ^ v >> b) & 1 == 0)
            .count();
        (2.0 * agree as f64 - n as f64) / n as f64
    };
    let mut same = Vec::new();
    let mut cross = Vec::new();
    for a in 0..REPLICAS {
        for b in a + 1..REPLICAS {
            same.push(q(a, b, &wx));
            cross.push(q(a, b, &wy));
        }
    }
    (same, cross)
}

/// 64 replicas at T = 3.0 (above Tc, short correlation length) on a 64^2
/// torus, all sharing the random words. If the shared words made replicas
/// coalesce, same-lattice overlaps would grow towards 1; instead they must
/// be distributed like the overlaps with an independent lattice. Statistic:
/// mean of q^2 over the 2016 pairs and 20 snapshots 200 sweeps apart. For
/// independent replicas E[q^2] = chi / N (~ 1e-3 here); the cross-lattice
/// mean estimates it. Pairs share replicas, so the 40320 values are far
/// from independent; we allow a factor 1.5 between the two means (the
/// relative spread of each mean is a few percent over 20 decorrelated
/// snapshots), and require every |q_ab| < 0.25 (about 8 sigma of a single
/// overlap): a synchronising pair (q -> 1) fails both.
#[test]
fn replicas_at_one_temperature_do_not_synchronise() {
    let make = |seed| {
        IsingReplicas::new(
            &IsingReplicasParams {
                lx: 64,
                ly: 64,
                seed,
                hot_start: true,
                ..IsingReplicasParams::default()
            },
            &[3.0],
        )
        .unwrap()
    };
    let (mut x, mut y) = (make(5), make(6));
    x.sweep(2000, &mut [], &mut []).unwrap();
    y.sweep(2000, &mut [], &mut []).unwrap();
    let (mut sum_same, mut sum_cross, mut count) = (0.0, 0.0, 0.0);
    let mut max_same = 0.0f64;
    let mut adjacent = 0.0;
    for _ in 0..20 {
        x.sweep(200, &mut [], &mut []).unwrap();
        y.sweep(200, &mut [], &mut []).unwrap();
        let (same, cross) = overlaps(&x, &y);
        sum_same += same.iter().map(|q| q * q).sum::<f64>();
        sum_cross += cross.iter().map(|q| q * q).sum::<f64>();
        max_same = same.iter().fold(max_same, |m, q| m.max(q.abs()));
        // Pairs (a, a + 1): the closest rotations (offset 1/64).
        let mut i = 0;
        for a in 0..REPLICAS {
            for b in a + 1..REPLICAS {
                if b == a + 1 {
                    adjacent += same[i];
                }
                i += 1;
            }
        }
        count += same.len() as f64;
    }
    let (ms, mc) = (sum_same / count, sum_cross / count);
    let adjacent = adjacent / (20.0 * 63.0);
    println!("mean q^2 same {ms:.3e}, cross {mc:.3e}; max |q| {max_same:.3}; adjacent mean q {adjacent:.2e}");
    assert!(
        ms < 1.5 * mc && mc < 1.5 * ms,
        "mean q^2: same lattice {ms:.3e}, independent lattices {mc:.3e}"
    );
    assert!(max_same < 0.25, "max |q_ab| = {max_same}");
}
