//! Finite-size scaling: the Binder cumulants `U_L(T) = 1 - <m^4> / (3 <m^2>^2)`
//! of L = 16, 32, 64 (2D, Wolff updates) cross within 0.5% of Onsager's
//! `Tc = 2 / ln(1 + sqrt 2)`, and those of L = 8, 16 in 3D cross within 0.5%
//! of the simple-cubic `Tc = 4.5115` (Talapov & Bloete 1996: K_c = 0.2216544).

mod support;

use fieldkern::mc::ising::{binder_cumulant, IsingLattice, IsingParams, CRITICAL_TEMPERATURE_2D};

/// Three temperatures bracketing Tc (2D: 2.24, 2.27, 2.30).
type Temperatures = [f64; 3];
const TEMPERATURES: Temperatures = [2.24, 2.27, 2.30];
const TEMPERATURES_3D: Temperatures = [4.46, 4.51, 4.56];
const TC_3D: f64 = 4.511_5;
const BINS: usize = 16;

/// Magnetisation series (one value per ~N flipped spins) of an L x L lattice
/// at temperature t, cut into `BINS` equal bins.
fn magnetisations(dim: usize, l: usize, t: f64, per_bin: usize, seed: u64) -> Vec<f64> {
    let mut lat = IsingLattice::new(&IsingParams {
        dim,
        lx: l,
        ly: l,
        lz: l,
        temperature: t,
        seed,
        ..IsingParams::default()
    })
    .unwrap();
    let n = lat.n_sites() as u64;
    let flipped = lat.wolff(1000, &mut [], &mut []).unwrap();
    // A fixed number of clusters per observation (see the Wolff energy test).
    let per_obs = (1000 * n).div_ceil(flipped.max(1)) as usize;
    let mut m = Vec::with_capacity(BINS * per_bin);
    for _ in 0..BINS * per_bin {
        lat.wolff(per_obs, &mut [], &mut []).unwrap();
        m.push(lat.observables().magnetisation_per_spin);
    }
    m
}

/// Quadratic through the three (T, U) points, evaluated at `t`.
fn interpolate(ts: &Temperatures, u: &[f64; 3], t: f64) -> f64 {
    let [t0, t1, t2] = *ts;
    u[0] * (t - t1) * (t - t2) / ((t0 - t1) * (t0 - t2))
        + u[1] * (t - t0) * (t - t2) / ((t1 - t0) * (t1 - t2))
        + u[2] * (t - t0) * (t - t1) / ((t2 - t0) * (t2 - t1))
}

/// Where `U_a - U_b` changes sign in [T0, T2] (bisection), if it does.
fn crossing(ts: &Temperatures, ua: &[f64; 3], ub: &[f64; 3]) -> Option<f64> {
    let f = |t: f64| interpolate(ts, ua, t) - interpolate(ts, ub, t);
    let (mut lo, mut hi) = (ts[0], ts[2]);
    if f(lo).signum() == f(hi).signum() {
        return None;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if f(mid).signum() == f(lo).signum() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// U of every (size, temperature) from the series with bin `skip` left out
/// (`None`: all bins).
fn binder_table(series: &[Vec<Vec<f64>>], skip: Option<usize>) -> Vec<[f64; 3]> {
    series
        .iter()
        .map(|per_t| {
            let mut u = [0.0; 3];
            for (k, m) in per_t.iter().enumerate() {
                let len = m.len() / BINS;
                let kept: Vec<f64> = m
                    .chunks(len)
                    .enumerate()
                    .filter(|(b, _)| Some(*b) != skip)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect();
                u[k] = binder_cumulant(&kept).unwrap();
            }
            u
        })
        .collect()
}

/// Jackknife over the 16 bins (every run is independent, so leaving bin j out
/// of all of them at once is a valid jackknife sample) gives the statistical
/// error of each crossing. The assertion allows |T* - Tc| < 0.5% Tc; the test
/// also asserts the jackknife error is below 1/2.5 of that (observed: 0.0035,
/// 0.0022, 0.0015 for the three pairs), so a kernel whose crossing is off by
/// the tolerance sits > 2.5 sigma outside the band. Corrections to scaling
/// of the 2D Ising Binder crossing at these sizes are ~0.1% (Binder 1981;
/// Salas & Sokal 2000), inside the tolerance.
///
/// Runs every (size, temperature), then checks each pair's crossing.
fn check_crossings(
    dim: usize,
    sizes: &[usize],
    ts: &Temperatures,
    tc: f64,
    per_bin: impl Fn(usize) -> usize,
) {
    let series: Vec<Vec<Vec<f64>>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            ts.iter()
                .enumerate()
                .map(|(k, &t)| {
                    magnetisations(dim, l, t, per_bin(l), 100 + 10 * i as u64 + k as u64)
                })
                .collect()
        })
        .collect();
    let full = binder_table(&series, None);
    for a in 0..sizes.len() {
        for b in a + 1..sizes.len() {
            let t_star = crossing(ts, &full[a], &full[b]).unwrap_or_else(|| {
                panic!(
                    "{dim}D: U_{} and U_{} do not cross in {ts:?}: {:?} {:?}",
                    sizes[a], sizes[b], full[a], full[b]
                )
            });
            let jack: Vec<f64> = (0..BINS)
                .map(|j| {
                    let u = binder_table(&series, Some(j));
                    crossing(ts, &u[a], &u[b]).unwrap_or(f64::NAN)
                })
                .collect();
            let mean = jack.iter().sum::<f64>() / BINS as f64;
            let err = ((BINS - 1) as f64 / BINS as f64
                * jack.iter().map(|x| (x - mean).powi(2)).sum::<f64>())
            .sqrt();
            eprintln!(
                "{dim}D L={} vs {}: T* = {t_star} +- {err}, U = {:?} {:?}",
                sizes[a], sizes[b], full[a], full[b]
            );
            assert!(
                err < 0.005 * tc / 2.5,
                "{dim}D: crossing error {err} too large for a useful test"
            );
            assert!(
                (t_star - tc).abs() < 0.005 * tc,
                "{dim}D: U_{} x U_{} cross at T* = {t_star} +- {err}; Tc = {tc}",
                sizes[a],
                sizes[b]
            );
        }
    }
}

#[test]
fn binder_cumulants_of_l16_l32_l64_cross_within_half_a_percent_of_onsager_tc() {
    // Observations per bin: the small lattices are cheap, so they get more
    // (the crossing error of L = 16 x 32 is set by their small slope
    // difference).
    check_crossings(
        2,
        &[16, 32, 64],
        &TEMPERATURES,
        CRITICAL_TEMPERATURE_2D,
        |l| 400 * (64 / l).min(8),
    );
}

/// 3D: corrections to scaling (omega ~ 0.8) move the L = 8 x 16 crossing
/// below Tc; observed T* = 4.498 +- 0.003 (0.3% low, the same with a window
/// half as wide, so not an interpolation artefact), inside the 0.5% tolerance
/// (22 mK). Jackknife error asserted < 9 mK.
#[test]
fn binder_cumulants_of_3d_l8_l16_cross_within_half_a_percent_of_4_5115() {
    check_crossings(3, &[8, 16], &TEMPERATURES_3D, TC_3D, |l| 400 * (16 / l));
}
