//! Statistics helpers for tests whose tolerances come from standard errors.

/// Sample mean, variance, skewness and excess kurtosis (population moments
/// about the sample mean).
pub fn moments(x: &[f64]) -> (f64, f64, f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &v in x {
        let d = v - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    (mean, m2, m3 / m2.powf(1.5), m4 / (m2 * m2) - 3.0)
}

/// Pearson chi-square of observed counts against equal expected counts.
pub fn chi_square_uniform(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| {
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

/// Upper bound of a chi-square with `dof` degrees of freedom at `z` standard
/// normal deviations, by the Wilson-Hilferty cube-root approximation
/// (accurate to a few parts in 10^3 for dof >= 30).
pub fn chi_square_upper(dof: f64, z: f64) -> f64 {
    let a = 2.0 / (9.0 * dof);
    dof * (1.0 - a + z * a.sqrt()).powi(3)
}

/// Sample correlation of `x[i]` and `y[i]`.
pub fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Mean and binned standard error of a series cut into `bins` equal bins.
pub fn binned_mean_and_error(x: &[f64], bins: usize) -> (f64, f64) {
    let len = x.len() / bins;
    let means: Vec<f64> = (0..bins)
        .map(|b| x[b * len..(b + 1) * len].iter().sum::<f64>() / len as f64)
        .collect();
    let mean = means.iter().sum::<f64>() / bins as f64;
    let var = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (bins - 1) as f64;
    (mean, (var / bins as f64).sqrt())
}
