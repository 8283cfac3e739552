//! Site-activity distribution of the BTW sandpile (Ganguly, "Scaling Behavior
//! in the Avalanche Activity Distribution of the Abelian Sandpile Model",
//! arXiv:2510.09631): `A(R) = sum_{R'} N(R, R')`, `N(R, R')` the topplings
//! of `R` when one grain is added at `R'` to a recurrent configuration.
//!
//! Every test holds `support::alloc::exclusive()`.

#![allow(clippy::needless_range_loop)]

mod support;

use fieldkern::mc::sandpile::Sandpile;
use fieldkern::parallel::set_num_threads;
use support::alloc::{count_allocations, exclusive};

/// A sandpile in the recurrent state: the all-3 configuration (recurrent)
/// followed by `warm` random grains.
fn recurrent(side: usize, seed: u64, warm: usize) -> Sandpile {
    let mut s = Sandpile::new(side, seed, 0).unwrap();
    s.set_heights(&vec![3u8; side * side]).unwrap();
    s.drive_random(warm, |_, _| {});
    s
}

/// `f = Delta^-1 1` on an L x L lattice with open boundaries (Delta the
/// toppling matrix: 4 on the diagonal, -1 between nearest neighbours), i.e.
/// `f(R) = sum_{R'} G(R, R')`, by Gauss-Seidel iteration to a residual
/// below 1e-12 (Delta is symmetric positive definite, so it converges).
fn green_row_sums(side: usize) -> Vec<f64> {
    let n = side * side;
    let mut f = vec![0.0f64; n];
    loop {
        let mut change = 0.0f64;
        for y in 0..side {
            for x in 0..side {
                let i = y * side + x;
                let mut s = 1.0;
                if x > 0 {
                    s += f[i - 1];
                }
                if x + 1 < side {
                    s += f[i + 1];
                }
                if y > 0 {
                    s += f[i - side];
                }
                if y + 1 < side {
                    s += f[i + side];
                }
                let v = s / 4.0;
                change = change.max((v - f[i]).abs());
                f[i] = v;
            }
        }
        if change < 1e-13 {
            return f;
        }
    }
}

#[test]
fn mean_all_sources_activity_equals_the_green_function_row_sums() {
    let _g = exclusive();
    let side = 8;
    let n = side * side;
    let exact = green_row_sums(side);
    // Residual check of the solver: Delta f = 1.
    for y in 0..side {
        for x in 0..side {
            let i = y * side + x;
            let mut r = 4.0 * exact[i] - 1.0;
            if x > 0 {
                r -= exact[i - 1];
            }
            if x + 1 < side {
                r -= exact[i + 1];
            }
            if y > 0 {
                r -= exact[i - side];
            }
            if y + 1 < side {
                r -= exact[i + side];
            }
            assert!(r.abs() < 1e-10, "solver residual {r}");
        }
    }
    // 64 batches of 64 configurations, 4 L^2 random grains apart; batch
    // means of A(R) give the standard error including residual time
    // correlation.
    let (batches, per_batch, gap) = (64, 64, 4 * n);
    let mut s = recurrent(side, 3, 16 * n);
    let mut a = vec![0u64; n];
    let mut batch_means = vec![vec![0.0f64; n]; batches];
    for bm in batch_means.iter_mut() {
        for _ in 0..per_batch {
            s.drive_random(gap, |_, _| {});
            let before = s.heights().to_vec();
            s.site_activity_all_sources(&mut a).unwrap();
            assert_eq!(s.heights(), &before[..], "configuration changed");
            for (m, &v) in bm.iter_mut().zip(&a) {
                *m += v as f64 / per_batch as f64;
            }
        }
    }
    // Per site: z = (mean - exact) / se with 63 degrees of freedom. 64 sites
    // (not independent) at |z| < 4.5: a false alarm has probability below
    // 64 * 2e-5 ~ 1e-3 even with Student-t tails (t_63 at 4.5: ~3e-5).
    let mut worst = 0.0f64;
    let mut total_mean = 0.0;
    let mut totals = vec![0.0f64; batches];
    for i in 0..n {
        let v: Vec<f64> = batch_means.iter().map(|b| b[i]).collect();
        let m = v.iter().sum::<f64>() / batches as f64;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (batches - 1) as f64;
        let se = (var / batches as f64).sqrt();
        let z = (m - exact[i]) / se;
        worst = worst.max(z.abs());
        total_mean += m;
        for (t, b) in totals.iter_mut().zip(&batch_means) {
            *t += b[i];
        }
    }
    let exact_total: f64 = exact.iter().sum();
    let var = totals
        .iter()
        .map(|t| (t - total_mean) * (t - total_mean))
        .sum::<f64>()
        / (batches - 1) as f64;
    let z_total = (total_mean - exact_total) / (var / batches as f64).sqrt();
    println!("E[A] vs Green row sums, L = {side}: worst site |z| = {worst:.2}, total {total_mean:.3} vs {exact_total:.3} (z = {z_total:.2})");
    assert!(worst < 4.5, "worst site |z| = {worst}");
    // The sum over sites: one test at 4 sigma (p ~ 6e-5).
    assert!(z_total.abs() < 4.0, "total z = {z_total}");
}

/// Per-configuration histograms of u = A/L^2 over the sites, on the fixed
/// bins `edges`: returns, per configuration, the fraction of sites per bin
/// divided by the bin width (an estimate of F(u) = L^2 P(A, L)).
fn activity_histograms(side: usize, seed: u64, configs: usize, edges: &[f64]) -> Vec<Vec<f64>> {
    let n = side * side;
    let l2 = n as f64;
    let mut s = recurrent(side, seed, 8 * n);
    s.reserve_activity_workers(2).unwrap();
    let mut a = vec![0u64; n];
    let mut out = Vec::with_capacity(configs);
    for _ in 0..configs {
        s.drive_random(n / 2, |_, _| {});
        s.site_activity_all_sources(&mut a).unwrap();
        let mut h = vec![0.0f64; edges.len() - 1];
        for &v in &a {
            let u = v as f64 / l2;
            if u < edges[0] || u >= edges[edges.len() - 1] {
                continue;
            }
            let b = edges.partition_point(|&e| e <= u) - 1;
            h[b] += 1.0;
        }
        for (b, x) in h.iter_mut().enumerate() {
            *x /= l2 * integer_width(edges[b], edges[b + 1], l2);
        }
        out.push(h);
    }
    out
}

/// Width in u of the bin `[lo, hi)` as seen by integer activities: the
/// number of integers A with `lo <= A / L^2 < hi`, divided by L^2 (so the
/// density estimate is not distorted by the discreteness of A).
fn integer_width(lo: f64, hi: f64, l2: f64) -> f64 {
    let first = (lo * l2).ceil();
    let end = (hi * l2).ceil();
    (end - first) / l2
}

/// Mean and standard error per bin over batches of consecutive
/// configurations.
fn batch_stats(h: &[Vec<f64>], batches: usize) -> (Vec<f64>, Vec<f64>) {
    let per = h.len() / batches;
    let nb = h[0].len();
    let means: Vec<Vec<f64>> = (0..batches)
        .map(|k| {
            (0..nb)
                .map(|b| h[k * per..(k + 1) * per].iter().map(|r| r[b]).sum::<f64>() / per as f64)
                .collect()
        })
        .collect();
    let m: Vec<f64> = (0..nb)
        .map(|b| means.iter().map(|r| r[b]).sum::<f64>() / batches as f64)
        .collect();
    let se: Vec<f64> = (0..nb)
        .map(|b| {
            let v = means.iter().map(|r| (r[b] - m[b]).powi(2)).sum::<f64>() / (batches - 1) as f64;
            (v / batches as f64).sqrt()
        })
        .collect();
    (m, se)
}

/// Weighted least-squares straight line `y = c0 + c1 x`; returns
/// `(c0, c1, se(c1), chi^2)`.
fn line_fit(x: &[f64], y: &[f64], sy: &[f64]) -> (f64, f64, f64, f64) {
    let (mut s, mut sx, mut sxx, mut sxy, mut sy_) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in 0..x.len() {
        let w = 1.0 / (sy[i] * sy[i]);
        s += w;
        sx += w * x[i];
        sxx += w * x[i] * x[i];
        sxy += w * x[i] * y[i];
        sy_ += w * y[i];
    }
    let d = s * sxx - sx * sx;
    let c1 = (s * sxy - sx * sy_) / d;
    let c0 = (sxx * sy_ - sx * sxy) / d;
    let chi2 = (0..x.len())
        .map(|i| ((y[i] - c0 - c1 * x[i]) / sy[i]).powi(2))
        .sum();
    (c0, c1, (s / d).sqrt(), chi2)
}

/// Weighted least-squares parabola `y = c0 + c1 x + c2 x^2` (normal
/// equations, 3 x 3 Cramer).
fn parabola_fit(x: &[f64], y: &[f64], sy: &[f64]) -> [f64; 3] {
    let mut m = [[0.0f64; 3]; 3];
    let mut r = [0.0f64; 3];
    for i in 0..x.len() {
        let w = 1.0 / (sy[i] * sy[i]);
        let p = [1.0, x[i], x[i] * x[i]];
        for j in 0..3 {
            r[j] += w * p[j] * y[i];
            for k in 0..3 {
                m[j][k] += w * p[j] * p[k];
            }
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    let mut c = [0.0f64; 3];
    for (j, cj) in c.iter_mut().enumerate() {
        let mut mj = m;
        for k in 0..3 {
            mj[k][j] = r[k];
        }
        *cj = det(&mj) / d;
    }
    c
}

/// One test for the whole P(A, L) study (the configurations are the
/// expensive part, so the collapse, the small-u slope and the crossover are
/// all read from the same histograms).
///
/// Measured (2026-11-28, this seed; see the report of issue 6): the collapse
/// is NOT within errors between L = 16, 32 and 64 (at u ~ 0.01 F grows from
/// ~7 at L = 16 to ~11 at L = 32 and ~13 at L = 64; in the tail u ~ 0.2 it
/// falls from 0.57 to 0.33 to 0.23): finite-size corrections are many
/// standard errors there, and a 10^4-configuration study per size
/// (2026-11-29) finds the same for 64 vs 128 and 128 vs 160, with the
/// corrections shrinking as L grows. So the test asserts that shrinking
/// (block (b) below) rather than a collapse within errors. Small-u slope at
/// L = 64: -0.49 +- 0.02. Crossover: the data fall 1/e below the small-u
/// power law at u* ~ 0.12 (asserted; 0.103 at L = 128 and 0.099 at L = 160
/// in the large study); the point where the fitted u^-1/2 and
/// exp(-c3 u - c4 u^2) forms cross is at u ~ 0.03 (c3 ~ 19 at L = 64;
/// printed, not asserted): "A* ~ 0.1 L^2" holds for the first definition
/// only.
#[test]
fn activity_distribution_nears_its_collapse_as_l_grows_with_small_u_slope_minus_half_and_crossover()
{
    let _g = exclusive();
    // Log bins in u = A / L^2, 8 per decade from 10^-2.5 to 1.
    let nb = 20;
    let edges: Vec<f64> = (0..=nb)
        .map(|k| 10f64.powf(-2.5 + 2.5 * k as f64 / nb as f64))
        .collect();
    let centres: Vec<f64> = (0..nb).map(|b| (edges[b] * edges[b + 1]).sqrt()).collect();
    // (L, configurations); 20 batches each for the standard errors.
    let sizes = [(16usize, 4000usize), (32, 2000), (64, 800), (128, 80)];
    let mut f = Vec::new();
    for &(side, configs) in &sizes {
        let t = std::time::Instant::now();
        let h = activity_histograms(side, 7 + side as u64, configs, &edges);
        let (m, se) = batch_stats(&h, 20);
        println!(
            "L = {side}: {configs} configurations in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        f.push((side, m, se));
    }
    println!(
        "u        {}",
        sizes.map(|(l, _)| format!("F_{l:<3} (se)      ")).join("")
    );
    for b in 0..nb {
        print!("{:.5}  ", centres[b]);
        for (_, m, se) in &f {
            print!("{:8.4} ({:6.4})  ", m[b], se[b]);
        }
        println!();
    }

    // (b) Collapse: chi^2 of F_L - F_2L (printed) over the bins with u in [0.005, 0.3]
    // where both are nonzero (bins at smaller u contain fewer than ~10
    // integer values of A at L = 32, so their density is lattice-dominated).
    let chi2_pair = |i: usize| {
        let (mut chi2, mut dof) = (0.0, 0);
        for b in 0..nb {
            if centres[b] < 0.005 || centres[b] > 0.3 {
                continue;
            }
            let (m1, s1) = (f[i].1[b], f[i].2[b]);
            let (m2, s2) = (f[i + 1].1[b], f[i + 1].2[b]);
            if !(s1 > 0.0 && s2 > 0.0) {
                continue;
            }
            chi2 += (m1 - m2).powi(2) / (s1 * s1 + s2 * s2);
            dof += 1;
        }
        (chi2, dof)
    };
    for i in 0..f.len() - 1 {
        let (chi2, dof) = chi2_pair(i);
        println!(
            "collapse L = {} vs {}: chi^2 = {chi2:.1} for {dof} bins",
            f[i].0,
            f[i + 1].0
        );
    }
    // The asserted form of the collapse: the finite-size corrections shrink
    // as L grows. At the paper's statistics (10^4 configurations per size;
    // measured 2026-11-29, numbers in the report of issue 6) the collapse is
    // NOT within errors for any pair of sizes up to 160 (chi^2 over 14 bins:
    // 32 vs 64: 3631, 64 vs 128: 1978, 128 vs 160: 184), while the rms
    // relative deviation over u in [0.005, 0.1] falls from 14.5% (32 vs 64)
    // to 9.0% (64 vs 128) and 2.6% (128 vs 160): corrections decaying roughly like L^-0.7. Here: the
    // deviation between successive sizes, with its noise part removed
    // (`r^2 - noise^2`, the noise from the standard errors), must fall from
    // (16, 32) to (32, 64) by more than 3 noise units (measured: 0.28 -> 0.13,
    // noise 0.02-0.03). The (64, 128) pair is only printed: with the 80
    // configurations affordable here its noise (~0.065) hides the 0.09
    // deviation.
    let rel_dev = |i: usize| {
        let (mut r2, mut n2, mut bins) = (0.0, 0.0, 0);
        for b in 0..nb {
            let (m1, s1) = (f[i].1[b], f[i].2[b]);
            let (m2, s2) = (f[i + 1].1[b], f[i + 1].2[b]);
            // Bins with a density and an error at both sizes (at L = 16 the
            // smallest u hold no integer A at all).
            if centres[b] < 0.005 || centres[b] > 0.1 || !(s1 > 0.0 && s2 > 0.0 && m2 > 0.0) {
                continue;
            }
            r2 += ((m1 - m2) / m2).powi(2);
            n2 += (s1 * s1 + s2 * s2) / (m2 * m2);
            bins += 1;
        }
        let (r2, n2) = (r2 / bins as f64, n2 / bins as f64);
        ((r2 - n2).max(0.0).sqrt(), n2.sqrt())
    };
    for i in 0..f.len() - 2 {
        let (r1, n1) = rel_dev(i);
        let (r2, n2) = rel_dev(i + 1);
        println!(
            "rms relative deviation L = {} vs {}: {r1:.4} (noise {n1:.4}); L = {} vs {}: {r2:.4} (noise {n2:.4})",
            f[i].0,
            f[i + 1].0,
            f[i + 1].0,
            f[i + 2].0
        );
        if i > 0 {
            continue;
        }
        assert!(
            r2 + 3.0 * n1.hypot(n2) < r1,
            "finite-size deviation does not shrink: L = {} vs {}: {r1:.4}, L = {} vs {}: {r2:.4} (noise {n1:.4}, {n2:.4})",
            f[i].0,
            f[i + 1].0,
            f[i + 1].0,
            f[i + 2].0
        );
    }

    // (c) Small-u slope at L = 64: straight-line fit of ln F vs ln u over
    // u in [0.003, 0.015] (A from ~12 to ~60 at L = 64), errors of ln F =
    // se / F. The measured local slope steepens continuously with u (the
    // exponential factor is already felt at u ~ 0.02), so the window is kept
    // at the smallest u where A is not lattice-dominated. Tolerance: 4 fit
    // standard errors plus 0.05 for the curvature inside the window (the
    // change of the local slope across the window in the fitted large-u form,
    // c3 * 0.012 with c3 ~ 4).
    let (_, m64, se64) = &f[2];
    let pick = |lo: f64, hi: f64, m: &[f64], se: &[f64]| {
        let mut v = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for b in 0..nb {
            if centres[b] >= lo && centres[b] <= hi && m[b] > 0.0 && se[b] > 0.0 {
                v.0.push(centres[b]);
                v.1.push(m[b].ln());
                v.2.push(se[b] / m[b]);
                v.3.push(m[b]);
            }
        }
        v
    };
    let (u_s, lf_s, sl_s, _) = pick(0.003, 0.015, m64, se64);
    let lu: Vec<f64> = u_s.iter().map(|u| u.ln()).collect();
    let (c0, slope, se_slope, chi2_s) = line_fit(&lu, &lf_s, &sl_s);
    println!(
        "small-u slope (L = 64, u in [0.003, 0.015]): {slope:.3} +- {se_slope:.3} (chi^2 {chi2_s:.1}, {} bins)",
        u_s.len()
    );
    assert!(
        (slope + 0.5).abs() < 4.0 * se_slope + 0.05,
        "small-u slope {slope:.3} +- {se_slope:.3} is not -1/2"
    );

    // (d) Crossover: fit ln F = a - c3 u - c4 u^2 on u in [0.1, 0.3] (L =
    // 64) and the pure power law ln F = c0 + slope ln u from (c); u* is where
    // the two fitted forms cross (bisection between 0.02 and 0.3, where the
    // power law is above the exponential form at the low end).
    let (u_l, lf_l, sl_l, _) = pick(0.1, 0.3, m64, se64);
    let c = parabola_fit(&u_l, &lf_l, &sl_l);
    println!(
        "large-u fit (L = 64): ln F = {:.3} - {:.3} u - {:.3} u^2",
        c[0], -c[1], -c[2]
    );
    let gap = |u: f64| (c0 + slope * u.ln()) - (c[0] + c[1] * u + c[2] * u * u);
    let (mut lo, mut hi) = (0.02f64, 0.3f64);
    let crossing = if gap(lo) * gap(hi) < 0.0 {
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if gap(lo) * gap(mid) <= 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(0.5 * (lo + hi))
    } else {
        None
    };
    println!("fitted forms cross at u = {crossing:?} (reported, not asserted)");
    // The crossover asserted: the cutoff scale of F(u) = a u^slope G(u),
    // G(0) = 1, i.e. the u* where the data fall 1/e below the small-u power
    // law (for a pure G = exp(-u/u*) this is u* itself). ln G is
    // interpolated linearly in u between the bin centres; the first
    // downward crossing of -1 is taken.
    let ln_g: Vec<f64> = (0..nb)
        .map(|b| m64[b].ln() - (c0 + slope * centres[b].ln()))
        .collect();
    let u_star = (1..nb)
        .find(|&b| centres[b] > 0.015 && ln_g[b - 1] > -1.0 && ln_g[b] <= -1.0)
        .map(|b| {
            let t = (-1.0 - ln_g[b - 1]) / (ln_g[b] - ln_g[b - 1]);
            centres[b - 1] + t * (centres[b] - centres[b - 1])
        })
        .expect("F never falls 1/e below the small-u power law");
    println!("cutoff scale u* (F 1/e below the small-u power law): {u_star:.4}");
    assert!(
        (0.05..0.2).contains(&u_star),
        "crossover u* = {u_star:.3} is not near 0.1"
    );
}

#[test]
fn all_sources_activity_allocates_nothing() {
    let _g = exclusive();
    let mut s = recurrent(32, 1, 4096);
    let mut a = vec![0u64; 32 * 32];
    let (total, allocations) = count_allocations(|| s.site_activity_all_sources(&mut a).unwrap());
    assert!(total > 0);
    assert_eq!(allocations, 0);
    // With reserved workers on the library's pool (warmed up first: the
    // pool's threads start on first use).
    set_num_threads(2).unwrap();
    s.reserve_activity_workers(2).unwrap();
    s.site_activity_all_sources(&mut a).unwrap();
    let (again, allocations) = count_allocations(|| s.site_activity_all_sources(&mut a).unwrap());
    assert_eq!(again, total);
    assert_eq!(allocations, 0);
}

/// The parallel all-sources activity (sources shared out by rows over the
/// reserved workers) gives the serial result exactly, for any number of
/// workers and pool threads, including more workers than rows and a side
/// not divisible by the worker count; the configuration, per-drive
/// activity and random stream are untouched.
#[test]
fn all_sources_activity_is_the_same_for_any_worker_and_thread_count() {
    let _g = exclusive();
    for side in [7usize, 33] {
        let mut s = recurrent(side, 3, 4 * side * side);
        s.drive_random(50, |_, _| {});
        let heights = s.heights().to_vec();
        let activity = s.activity().to_vec();
        let rng = s.rng_state();
        let mut serial = vec![0u64; side * side];
        set_num_threads(1).unwrap();
        let total = s.site_activity_all_sources(&mut serial).unwrap();
        assert_eq!(total, serial.iter().sum::<u64>());
        for (workers, threads) in [(2, 2), (3, 2), (2, 1), (8, 3), (16, 2), (0, 2)] {
            set_num_threads(threads).unwrap();
            s.reserve_activity_workers(workers).unwrap();
            assert_eq!(s.activity_workers(), workers.max(1));
            let mut par = vec![7u64; side * side];
            let t = s.site_activity_all_sources(&mut par).unwrap();
            assert_eq!(
                (t, &par),
                (total, &serial),
                "L {side}, {workers} workers, {threads} threads"
            );
            assert_eq!(s.heights(), &heights[..]);
            assert_eq!(s.activity(), &activity[..]);
            assert_eq!(s.rng_state(), rng);
        }
    }
    set_num_threads(2).unwrap();
    let mut s = Sandpile::new(4, 0, 0).unwrap();
    assert!(s.reserve_activity_workers(1 << 20).is_err());
    assert_eq!(s.activity_workers(), 1);
}
