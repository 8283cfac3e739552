//! Gillespie trajectories of Markov jump processes (`src/mc/gillespie.rs`):
//! the time-t state distribution equals p(0) exp(tQ) (computed here by
//! uniformisation), the long-time distribution equals the null vector of Q,
//! observation noise has the requested variance, results are bitwise
//! identical for 1 and 2 threads and across split runs, and a run allocates
//! nothing.
//!
//! Every test holds `support::alloc::exclusive()` (thread count is global and
//! allocation counting sees all threads). Chi-square thresholds are the
//! 5-sigma quantiles (Wilson-Hilferty), a false alarm about once in 3.5
//! million checks.

#![allow(clippy::needless_range_loop)] // small dense linear algebra reads clearer with indices

mod support;

use fieldkern::mc::gillespie::{GillespieBatch, RateMatrix};
use fieldkern::parallel::set_num_threads;
use support::alloc::{count_allocations, exclusive};
use support::stats::chi_square_upper;

const N: usize = 4;

/// An irreversible 4-state cycle (a flashing-ratchet-like chain: net current
/// 0 -> 1 -> 2 -> 3 -> 0), rates in inverse time units.
fn q_matrix() -> Vec<f64> {
    let mut q = vec![0.0; N * N];
    let off = [
        (0, 1, 1.0),
        (0, 3, 0.5),
        (1, 2, 2.0),
        (1, 0, 0.3),
        (2, 3, 0.7),
        (2, 0, 0.4),
        (3, 0, 1.5),
        (3, 2, 0.2),
    ];
    for (i, j, r) in off {
        q[i * N + j] = r;
        q[i * N + i] -= r;
    }
    q
}

/// p exp(tQ) by uniformisation: exp(tQ) = sum_k Pois(k; L t) P^k with
/// P = I + Q / L, L >= max exit rate; truncated when the Poisson tail < 1e-16.
fn evolve(p0: &[f64], q: &[f64], t: f64) -> Vec<f64> {
    let lam = (0..N).map(|i| -q[i * N + i]).fold(0.0, f64::max) * 1.05;
    let mut v = p0.to_vec();
    let mut w = (-lam * t).exp();
    let mut out: Vec<f64> = v.iter().map(|x| x * w).collect();
    let mut acc = w;
    let mut k = 0.0;
    while 1.0 - acc > 1e-16 && k < 10_000.0 {
        k += 1.0;
        let mut next = vec![0.0; N];
        for i in 0..N {
            for j in 0..N {
                let pij = if i == j { 1.0 } else { 0.0 } + q[i * N + j] / lam;
                next[j] += v[i] * pij;
            }
        }
        v = next;
        w *= lam * t / k;
        acc += w;
        for j in 0..N {
            out[j] += w * v[j];
        }
    }
    out
}

/// The stationary distribution: pi Q = 0, sum pi = 1 (Gaussian elimination
/// on Q^T with the last equation replaced by the normalisation).
fn stationary(q: &[f64]) -> Vec<f64> {
    let mut a = vec![vec![0.0; N + 1]; N];
    for r in 0..N {
        for c in 0..N {
            a[r][c] = if r == N - 1 { 1.0 } else { q[c * N + r] };
        }
        a[r][N] = if r == N - 1 { 1.0 } else { 0.0 };
    }
    for col in 0..N {
        let piv = (col..N)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap();
        a.swap(col, piv);
        for r in 0..N {
            if r != col {
                let f = a[r][col] / a[col][col];
                for c in col..=N {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
    }
    (0..N).map(|r| a[r][N] / a[r][r]).collect()
}

fn chi_square(counts: &[u64], p: &[f64]) -> f64 {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .zip(p)
        .map(|(&c, &pi)| {
            let e = pi * total as f64;
            (c as f64 - e).powi(2) / e
        })
        .sum()
}

#[test]
fn state_distribution_at_time_t_matches_p0_exp_tq_and_the_null_vector_of_q() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let q = q_matrix();
    let m = 120_000;
    let rates = RateMatrix::new(&q, N, 1e-12).unwrap();
    let mut b = GillespieBatch::new(rates, m, 2026, 1).unwrap();
    // Initial distribution p0 = (0.5, 0.2, 0.2, 0.1), assigned exactly.
    let p0 = [0.5, 0.2, 0.2, 0.1];
    let init: Vec<u32> = (0..m)
        .map(|k| match k % 10 {
            0..=4 => 0,
            5 | 6 => 1,
            7 | 8 => 2,
            _ => 3,
        })
        .collect();
    b.set_states(&init, 0.0).unwrap();
    let times = [0.05, 0.3, 1.0, 2.5, 40.0];
    let nt = times.len();
    let mut states = vec![0u32; m * nt];
    b.run(&times, &mut states, None).unwrap();
    let bound = chi_square_upper((N - 1) as f64, 5.0);
    for (ti, &t) in times.iter().enumerate() {
        let mut counts = [0u64; N];
        for k in 0..m {
            counts[states[k * nt + ti] as usize] += 1;
        }
        let p = evolve(&p0, &q, t);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let chi2 = chi_square(&counts, &p);
        eprintln!("t = {t}: counts {counts:?}, exact {p:?}, chi2 {chi2:.2} (bound {bound:.1})");
        assert!(chi2 < bound, "t = {t}: chi2 {chi2:.2} > {bound:.1}");
    }
    // Long time: the null vector of Q (independently of exp(tQ)).
    let pi = stationary(&q);
    let residual: f64 = (0..N)
        .map(|j| (0..N).map(|i| pi[i] * q[i * N + j]).sum::<f64>().abs())
        .sum();
    assert!(residual < 1e-12);
    let mut counts = [0u64; N];
    for k in 0..m {
        counts[states[k * nt + nt - 1] as usize] += 1;
    }
    let chi2 = chi_square(&counts, &pi);
    eprintln!("stationary {pi:?}: chi2 {chi2:.2}");
    assert!(chi2 < bound, "stationary: chi2 {chi2:.2} > {bound:.1}");
}

#[test]
fn the_stationary_current_of_the_cycle_matches_the_rates() {
    let _g = exclusive();
    // The steady-state 0 -> 1 flux (the ratchet current through that bond).
    // Counted from the time series it is a sum of nearly Poisson counts over
    // independent trajectories, standard error ~ sqrt(count) / (m T); we allow
    // 5 x sqrt(2 count) for the (weak) over-dispersion of renewal counts.
    set_num_threads(2).unwrap();
    let q = q_matrix();
    let pi = stationary(&q);
    let m = 20_000;
    let mut b = GillespieBatch::new(RateMatrix::new(&q, N, 1e-12).unwrap(), m, 5, 0).unwrap();
    b.run(&[30.0], &mut vec![0u32; m], None).unwrap();
    let dt = 0.01;
    let times: Vec<f64> = (1..=1000).map(|i| 30.0 + i as f64 * dt).collect();
    let mut states = vec![0u32; m * times.len()];
    b.run(&times, &mut states, None).unwrap();
    let mut transitions = 0u64;
    for k in 0..m {
        let row = &states[k * times.len()..(k + 1) * times.len()];
        transitions += row.windows(2).filter(|w| w[0] == 0 && w[1] == 1).count() as u64;
    }
    let duration = dt * (times.len() - 1) as f64 * m as f64;
    let rate = transitions as f64 / duration;
    // Sampled on a grid, a 0 -> 1 observation has probability
    // pi_0 [exp(dt Q)]_01 per interval (exact, no small-dt bias); as dt -> 0
    // the rate tends to the flux pi_0 Q_01.
    let mut e0 = [0.0; N];
    e0[0] = 1.0;
    let exact = pi[0] * evolve(&e0, &q, dt)[1] / dt;
    assert!((exact - pi[0] * q[1]).abs() < 0.05 * exact);
    let tol = 5.0 * (2.0 * transitions as f64).sqrt() / duration;
    eprintln!("0->1 flux {rate:.5}, exact {exact:.5}, tol {tol:.5}");
    assert!((rate - exact).abs() < tol);
}

#[test]
fn observation_noise_has_the_requested_standard_deviation() {
    let _g = exclusive();
    let q = q_matrix();
    let m = 50_000;
    let mut b = GillespieBatch::new(RateMatrix::new(&q, N, 1e-12).unwrap(), m, 9, 3).unwrap();
    let levels = [0.0, 1.5, -2.0, 4.0];
    b.set_observable(&levels).unwrap();
    b.set_noise(0.25).unwrap();
    let times = [0.5, 1.0, 1.5, 2.0];
    let mut states = vec![0u32; m * 4];
    let mut obs = vec![0.0; m * 4];
    b.run(&times, &mut states, Some(&mut obs)).unwrap();
    let r: Vec<f64> = obs
        .iter()
        .zip(&states)
        .map(|(o, &s)| (o - levels[s as usize]) / 0.25)
        .collect();
    let (mean, var, _, _) = support::stats::moments(&r);
    let n = r.len() as f64;
    // Standard errors: 1/sqrt(n) for the mean, sqrt(2/n) for the variance.
    assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
    // Lag-one correlation along a trajectory vanishes (fresh normals).
    let (a, c): (Vec<f64>, Vec<f64>) = (0..m).map(|k| (r[4 * k], r[4 * k + 1])).unzip();
    let corr = support::stats::correlation(&a, &c);
    assert!(corr.abs() < 5.0 / (m as f64).sqrt(), "corr {corr}");
}

fn run_batch(threads: usize, split: bool) -> (Vec<u32>, Vec<f64>) {
    set_num_threads(threads).unwrap();
    let q = q_matrix();
    let m = 3000;
    let mut b = GillespieBatch::new(RateMatrix::new(&q, N, 1e-12).unwrap(), m, 77, 4).unwrap();
    b.set_noise(0.1).unwrap();
    let times: Vec<f64> = (1..=40).map(|i| 0.25 * i as f64).collect();
    let mut states = vec![0u32; m * 40];
    let mut obs = vec![0.0; m * 40];
    if split {
        let (mut s1, mut o1) = (vec![0u32; m * 17], vec![0.0; m * 17]);
        let (mut s2, mut o2) = (vec![0u32; m * 23], vec![0.0; m * 23]);
        b.run(&times[..17], &mut s1, Some(&mut o1)).unwrap();
        b.run(&times[17..], &mut s2, Some(&mut o2)).unwrap();
        for k in 0..m {
            states[k * 40..k * 40 + 17].copy_from_slice(&s1[k * 17..(k + 1) * 17]);
            states[k * 40 + 17..(k + 1) * 40].copy_from_slice(&s2[k * 23..(k + 1) * 23]);
            obs[k * 40..k * 40 + 17].copy_from_slice(&o1[k * 17..(k + 1) * 17]);
            obs[k * 40 + 17..(k + 1) * 40].copy_from_slice(&o2[k * 23..(k + 1) * 23]);
        }
    } else {
        b.run(&times, &mut states, Some(&mut obs)).unwrap();
    }
    (states, obs)
}

#[test]
fn trajectories_are_bitwise_identical_for_one_and_two_threads_and_split_runs() {
    let _g = exclusive();
    let (s1, o1) = run_batch(1, false);
    let (s2, o2) = run_batch(2, false);
    let (s3, o3) = run_batch(2, true);
    let bits = |o: &[f64]| o.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(s1, s2);
    assert_eq!(bits(&o1), bits(&o2));
    assert_eq!(s1, s3);
    assert_eq!(bits(&o1), bits(&o3));
}

#[test]
fn a_batch_run_allocates_nothing() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let q = q_matrix();
    let m = 10_000;
    let mut b = GillespieBatch::new(RateMatrix::new(&q, N, 1e-12).unwrap(), m, 1, 0).unwrap();
    b.set_noise(0.5).unwrap();
    let times: Vec<f64> = (1..=10).map(|i| i as f64).collect();
    let mut states = vec![0u32; m * 10];
    let mut obs = vec![0.0; m * 10];
    b.run(&times[..1], &mut states[..m], None).unwrap(); // warm the pool
    let later: Vec<f64> = times.iter().map(|t| t + 1.0).collect();
    let (r, allocations) = count_allocations(|| b.run(&later, &mut states, Some(&mut obs)));
    r.unwrap();
    assert_eq!(allocations, 0);
    assert!(b.total_jumps() > 100_000);
}

/// Scalar re-implementation of the documented mapping for a two-state chain
/// (0 -> 1 at rate `a`, 1 -> 0 at rate `b`; every jump goes to the other
/// state, so the alias draw plays no part): jump `j` of trajectory `k` is
/// Philox block `k * 2^36 + j` of `Stream::Gillespie.with_sub(stream)`, wait
/// `max(-ln u01(w0, w1), MIN_POSITIVE) / q_i` from the entry time (the same
/// vector logarithm the kernel documents, one lane used). The state at a grid
/// time includes every jump whose computed time is `<=` it (right-continuous
/// paths). Observation `o` (counted from `set_states`) of trajectory `k` adds
/// `sd` times the cosine (even `o`) or sine (odd `o`) Box-Muller normal of
/// block `k * 2^36 + o / 2` of `Stream::GillespieNoise.with_sub(stream)`.
fn two_state_reference(
    rates: [f64; 2],
    (seed, stream): (u64, u64),
    initial: &[u32],
    start: f64,
    times: &[f64],
    values: [f64; 2],
    sd: f64,
) -> (Vec<u32>, Vec<f64>) {
    use fieldkern::rng::normal::box_muller;
    use fieldkern::rng::philox::Philox;
    use fieldkern::rng::stream::Stream;
    use fieldkern::rng::uniform::u01_f64;
    use fieldkern::simd::f64x8;
    let g = Philox::new(seed, Stream::Gillespie.with_sub(stream));
    let noise = Philox::new(seed, Stream::GillespieNoise.with_sub(stream));
    let nt = times.len();
    let (mut states, mut obs) = (
        vec![0u32; initial.len() * nt],
        vec![0.0; initial.len() * nt],
    );
    for (k, &s0) in initial.iter().enumerate() {
        let k = k as u64;
        let wait = |state: u32, draw: u64| {
            let w = g.block((k << 36) + draw);
            let ln = f64x8::splat(u01_f64(w[0], w[1])).ln().to_array()[0];
            (-ln).max(f64::MIN_POSITIVE) / rates[state as usize]
        };
        let mut state = s0;
        let mut draw = 0;
        let mut next = start + wait(state, draw);
        draw += 1;
        for (o, &t) in times.iter().enumerate() {
            while next <= t {
                state = 1 - state;
                next += wait(state, draw);
                draw += 1;
            }
            let i = k as usize * nt + o;
            states[i] = state;
            let w = noise.block((k << 36) + o as u64 / 2);
            let u = |lo: u32, hi: u32| f64x8::splat(u01_f64(lo, hi));
            let (c, s) = box_muller(u(w[0], w[1]), u(w[2], w[3]));
            let z = if o % 2 == 0 { c } else { s }.to_array()[0];
            obs[i] = values[state as usize] + sd * z;
        }
    }
    (states, obs)
}

/// Trajectories (states and noisy observations) equal the scalar reference
/// above bit for bit: 601 trajectories (three tasks, the last partial, not a
/// multiple of eight lanes), a non-zero start time, a run split over two
/// calls at an odd observation count, a repeated grid time, and one grid
/// time placed exactly on trajectory 3's first computed jump time (the
/// observation there must already show the new state). A smaller batch
/// equals the first rows of the larger one (trajectories are keyed by their
/// index, not by the batch size or the task they fall in).
#[test]
fn two_state_trajectories_equal_a_scalar_reference_of_the_documented_mapping() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let (a, b, seed, stream, sd) = (1.3, 0.7, 11, 5, 0.3);
    let values = [-1.0, 2.5];
    let q = [-a, a, b, -b];
    let m = 601;
    let start = 0.25;
    let initial: Vec<u32> = (0..m).map(|k| (k % 3 == 1) as u32).collect();
    // Trajectory 3's first jump time (it starts in state 0, rate a), from
    // the documented mapping.
    assert_eq!(initial[3], 0);
    let first_jump = {
        use fieldkern::rng::philox::Philox;
        use fieldkern::rng::stream::Stream;
        use fieldkern::rng::uniform::u01_f64;
        let w = Philox::new(seed, Stream::Gillespie.with_sub(stream)).block(3 << 36);
        let ln = fieldkern::simd::f64x8::splat(u01_f64(w[0], w[1]))
            .ln()
            .to_array()[0];
        start + (-ln).max(f64::MIN_POSITIVE) / a
    };
    let mut times = vec![
        0.25, 0.4, 0.4, 0.9, 1.7, 2.0, 3.3, 3.3, 5.0, 8.0, first_jump,
    ];
    times.sort_by(f64::total_cmp);
    let nt = times.len();
    let (want_s, want_o) =
        two_state_reference([a, b], (seed, stream), &initial, start, &times, values, sd);
    // The probe time sits on a jump: the reference state there is the new one.
    let at = times.iter().position(|&t| t == first_jump).unwrap();
    assert_eq!(want_s[3 * nt + at], 1 - initial[3]);
    let make = |m: usize| {
        let mut g =
            GillespieBatch::new(RateMatrix::new(&q, 2, 1e-12).unwrap(), m, seed, stream).unwrap();
        g.set_states(&initial[..m], start).unwrap();
        g.set_observable(&values).unwrap();
        g.set_noise(sd).unwrap();
        g
    };
    let mut batch = make(m);
    let split = 5;
    let (mut s, mut o) = (vec![0u32; m * nt], vec![0.0; m * nt]);
    for (range, first) in [(0..split, 0), (split..nt, split)] {
        let w = range.len();
        let (mut s1, mut o1) = (vec![0u32; m * w], vec![0.0; m * w]);
        batch.run(&times[range], &mut s1, Some(&mut o1)).unwrap();
        for k in 0..m {
            s[k * nt + first..k * nt + first + w].copy_from_slice(&s1[k * w..(k + 1) * w]);
            o[k * nt + first..k * nt + first + w].copy_from_slice(&o1[k * w..(k + 1) * w]);
        }
    }
    let bits = |o: &[f64]| o.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for k in 0..m {
        let r = k * nt..(k + 1) * nt;
        assert_eq!(s[r.clone()], want_s[r.clone()], "trajectory {k}: states");
        assert_eq!(
            bits(&o[r.clone()]),
            bits(&want_o[r]),
            "trajectory {k}: observations"
        );
    }
    // A batch of 300 (split at other task boundaries) equals the first rows.
    let mut small = make(300);
    let (mut s2, mut o2) = (vec![0u32; 300 * nt], vec![0.0; 300 * nt]);
    small.run(&times, &mut s2, Some(&mut o2)).unwrap();
    assert_eq!(s2, want_s[..300 * nt]);
    assert_eq!(bits(&o2), bits(&want_o[..300 * nt]));
}

/// Rate-matrix validation at its documented edges: a tiny negative
/// off-diagonal rate, a row sum just outside and just inside the relative
/// tolerance (tolerance x the row's largest magnitude, here 2), NaN and
/// infinite entries, and sizes.
#[test]
fn rate_matrix_validation_rejects_each_bad_input_with_its_class() {
    use fieldkern::error::ErrorKind;
    let kind = |q: &[f64], n: usize, tol: f64| RateMatrix::new(q, n, tol).err().map(|e| e.kind);
    assert_eq!(kind(&[-1.0, 1.0, 2.0, -2.0], 2, 1e-9), None);
    // Negative off-diagonal, however small (the row still sums to 0).
    assert_eq!(
        kind(&[1e-300, -1e-300, 2.0, -2.0], 2, 1e-9),
        Some(ErrorKind::OutOfRange)
    );
    assert_eq!(
        kind(&[-1.0, 1.0, -1e-12, 1e-12], 2, 1e-9),
        Some(ErrorKind::OutOfRange)
    );
    // Row 1 scale 2: |sum| 2.2e-9 fails, 1.8e-9 passes at tolerance 1e-9.
    assert_eq!(
        kind(&[-1.0, 1.0, 2.0, -2.0 + 2.2e-9], 2, 1e-9),
        Some(ErrorKind::OutOfRange)
    );
    assert_eq!(kind(&[-1.0, 1.0, 2.0, -2.0 - 1.8e-9], 2, 1e-9), None);
    assert_eq!(
        kind(&[-1.0, 1.0, 2.0, -2.0 - 2.2e-9], 2, 1e-9),
        Some(ErrorKind::OutOfRange)
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(
            kind(&[-1.0, 1.0, bad, -2.0], 2, 1e-9),
            Some(ErrorKind::NonFinite),
            "{bad}"
        );
        assert_eq!(
            kind(&[bad, 1.0, 2.0, -2.0], 2, 1e-9),
            Some(ErrorKind::NonFinite),
            "{bad}"
        );
    }
    assert_eq!(
        kind(&[-1.0, 1.0, 2.0], 2, 1e-9),
        Some(ErrorKind::InvalidSize)
    );
    assert_eq!(
        kind(&[-1.0, 1.0, 2.0, -2.0, 0.0], 2, 1e-9),
        Some(ErrorKind::InvalidSize)
    );
    assert_eq!(kind(&[], 0, 1e-9), Some(ErrorKind::InvalidSize));
    for tol in [-1e-9, f64::NAN] {
        assert!(kind(&[-1.0, 1.0, 2.0, -2.0], 2, tol).is_some(), "{tol}");
    }
}

/// The C entry points map the parameters (seed, stream, noise) and the
/// arrays onto the batch: trajectories made through `fk_gillespie_*` equal
/// the scalar reference of the documented mapping bit for bit.
#[test]
fn the_c_entry_points_equal_the_scalar_reference() {
    use fieldkern::ffi::lattice::{
        fk_gillespie, fk_gillespie_create, fk_gillespie_destroy, fk_gillespie_params_default,
        fk_gillespie_run, fk_gillespie_set_observable, fk_gillespie_set_states,
    };
    use fieldkern::ffi::status::fk_status;
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let (a, b, seed, stream, sd) = (0.9, 2.1, 123, 77, 0.4);
    let values = [0.5, -3.0];
    let q = [-a, a, b, -b];
    let m = 40;
    let initial: Vec<u32> = (0..m).map(|k| (k % 2) as u32).collect();
    let times = [0.3, 0.8, 1.1, 2.0, 2.0, 3.7];
    let nt = times.len();
    let mut p = fk_gillespie_params_default();
    p.n_states = 2;
    p.n_trajectories = m as u64;
    p.seed = seed;
    p.stream = stream;
    p.noise_sd = sd;
    let (mut s, mut o) = (vec![0u32; m * nt], vec![0.0; m * nt]);
    let mut g: *mut fk_gillespie = std::ptr::null_mut();
    // SAFETY: valid params and arrays of the stated lengths, a live handle.
    unsafe {
        assert_eq!(
            fk_gillespie_create(&p, q.as_ptr(), 4, &mut g),
            fk_status::FK_OK
        );
        assert_eq!(
            fk_gillespie_set_states(g, initial.as_ptr(), m, 0.1),
            fk_status::FK_OK
        );
        assert_eq!(
            fk_gillespie_set_observable(g, values.as_ptr(), 2),
            fk_status::FK_OK
        );
        assert_eq!(
            fk_gillespie_run(
                g,
                times.as_ptr(),
                nt,
                s.as_mut_ptr(),
                o.as_mut_ptr(),
                m * nt
            ),
            fk_status::FK_OK
        );
        assert_eq!(fk_gillespie_destroy(g), fk_status::FK_OK);
    }
    let (want_s, want_o) =
        two_state_reference([a, b], (seed, stream), &initial, 0.1, &times, values, sd);
    assert_eq!(s, want_s);
    let bits = |o: &[f64]| o.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&o), bits(&want_o));
}
