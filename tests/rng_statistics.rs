//! Statistical tests of the Philox fills. Every threshold is stated in units
//! of the statistic's standard error (5 standard errors: a false alarm about
//! once in 1.7 million runs per check), or as the chi-square quantile at the
//! same tail probability.

mod support;

use fieldkern::rng::fill::{fill_normal_f64, fill_u32, fill_uniform_f32, fill_uniform_f64};
use support::stats::{chi_square_uniform, chi_square_upper, correlation, moments};

const N: usize = 10_000_000;
const BINS: usize = 1000;
const Z: f64 = 5.0;

/// Two-sided chi-square acceptance for `dof` degrees of freedom at 5 sigma.
fn assert_chi_square_ok(chi2: f64, dof: usize, what: &str) {
    let (lo, hi) = (
        chi_square_upper(dof as f64, -Z),
        chi_square_upper(dof as f64, Z),
    );
    assert!(
        chi2 > lo && chi2 < hi,
        "{what}: chi-square {chi2:.1} with {dof} dof outside the 5-sigma band [{lo:.1}, {hi:.1}]"
    );
}

fn histogram(u: impl Iterator<Item = f64>) -> Vec<u64> {
    let mut counts = vec![0u64; BINS];
    for x in u {
        counts[((x * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    counts
}

#[test]
fn uniform_f64_chi_square_over_1000_bins_on_1e7_draws() {
    let mut u = vec![0.0; N];
    fill_uniform_f64(12345, 0, 0, &mut u).unwrap();
    assert!(u.iter().all(|&x| x > 0.0 && x < 1.0));
    assert_chi_square_ok(
        chi_square_uniform(&histogram(u.iter().copied())),
        BINS - 1,
        "uniform f64",
    );
}

#[test]
fn uniform_f32_chi_square_over_1000_bins_on_1e7_draws() {
    let mut u = vec![0.0f32; N];
    fill_uniform_f32(777, 3, 0, &mut u).unwrap();
    assert!(u.iter().all(|&x| x > 0.0 && x < 1.0));
    assert_chi_square_ok(
        chi_square_uniform(&histogram(u.iter().map(|&x| f64::from(x)))),
        BINS - 1,
        "uniform f32",
    );
}

#[test]
fn u32_words_are_uniform_in_their_top_and_bottom_bits() {
    let mut w = vec![0u32; N];
    fill_u32(99, 1, 0, &mut w).unwrap();
    let mut top = vec![0u64; 1024];
    let mut bottom = vec![0u64; 1024];
    for &x in &w {
        top[(x >> 22) as usize] += 1;
        bottom[(x & 1023) as usize] += 1;
    }
    assert_chi_square_ok(chi_square_uniform(&top), 1023, "u32 top 10 bits");
    assert_chi_square_ok(chi_square_uniform(&bottom), 1023, "u32 bottom 10 bits");
}

/// erfc(x) with fractional error < 1.2e-7 (Chebyshev fit, Numerical Recipes
/// 3rd ed. 6.2); far below the 1% per-bin resolution of the test below.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[test]
fn normal_moments_within_5_standard_errors_and_cdf_chi_square() {
    let mut z = vec![0.0; N];
    fill_normal_f64(2024, 11, 0, &mut z).unwrap();
    let n = N as f64;
    let (mean, var, skew, kurt) = moments(&z);
    // Standard errors of sample moments of N(0,1): mean 1/sqrt(n),
    // variance sqrt(2/n), skewness sqrt(6/n), excess kurtosis sqrt(24/n).
    assert!(mean.abs() < Z / n.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < Z * (2.0 / n).sqrt(), "variance {var}");
    assert!(skew.abs() < Z * (6.0 / n).sqrt(), "skewness {skew}");
    assert!(kurt.abs() < Z * (24.0 / n).sqrt(), "excess kurtosis {kurt}");
    // The whole shape: Phi(z) must be uniform (probability integral transform).
    let phi = z.iter().map(|&x| 0.5 * erfc(-x / std::f64::consts::SQRT_2));
    assert_chi_square_ok(chi_square_uniform(&histogram(phi)), BINS - 1, "normal CDF");
}

/// Sample correlation of independent pairs has standard error 1/sqrt(pairs).
fn assert_uncorrelated(x: &[f64], y: &[f64], what: &str) {
    let r = correlation(x, y);
    let limit = Z / (x.len() as f64).sqrt();
    assert!(
        r.abs() < limit,
        "{what}: correlation {r:.2e} exceeds 5 se = {limit:.2e}"
    );
}

#[test]
fn consecutive_draws_are_uncorrelated() {
    let mut u = vec![0.0; N];
    fill_uniform_f64(5, 5, 0, &mut u).unwrap();
    assert_uncorrelated(&u[..N - 1], &u[1..], "uniform lag 1");
    let mut z = vec![0.0; N];
    fill_normal_f64(5, 5, 0, &mut z).unwrap();
    assert_uncorrelated(&z[..N - 1], &z[1..], "normal lag 1");
    // The two normals of one Box-Muller pair are independent: their squares too.
    let sq: Vec<f64> = z.iter().map(|x| x * x).collect();
    let (even, odd): (Vec<f64>, Vec<f64>) = sq.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
    assert_uncorrelated(&even, &odd, "squares within a Box-Muller pair");
}

#[test]
fn neighbouring_counters_streams_and_seeds_are_uncorrelated() {
    // Word 0 of block b against word 0 of block b + 1 (neighbouring counters).
    let mut w = vec![0u32; N];
    fill_u32(31, 0, 0, &mut w).unwrap();
    let word0: Vec<f64> = w.iter().step_by(4).map(|&x| f64::from(x)).collect();
    assert_uncorrelated(
        &word0[..word0.len() - 1],
        &word0[1..],
        "neighbouring counters",
    );
    // Same counters, neighbouring streams and neighbouring seeds.
    let mut a = vec![0.0; N / 4];
    let mut b = vec![0.0; N / 4];
    fill_uniform_f64(31, 8, 0, &mut a).unwrap();
    fill_uniform_f64(31, 9, 0, &mut b).unwrap();
    assert_uncorrelated(&a, &b, "neighbouring streams");
    fill_uniform_f64(32, 8, 0, &mut b).unwrap();
    assert_uncorrelated(&a, &b, "neighbouring seeds");
}
