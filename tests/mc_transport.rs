//! Physics of the 1D mass transport kernel (`src/mc/transport.rs`): exact mass
//! conservation for every rule, the KMP single-site marginal in equilibrium
//! (Kolmogorov-Smirnov), the 1D aggregation-with-injection exponent 4/3,
//! bitwise identity for 1 and 2 threads and split runs, zero allocations.
//!
//! Every test holds `support::alloc::exclusive()` (thread count is global and
//! allocation counting sees all threads).

mod support;

use fieldkern::mc::transport::{MassLattice, TransportRule};
use fieldkern::parallel::set_num_threads;
use support::alloc::{count_allocations, exclusive};

const MIXED: TransportRule = TransportRule {
    p_diffuse: 0.4,
    p_transfer: 0.45,
    transfer_fraction: 0.3,
    random_fraction: true,
    chip: 2,
    injection: 3,
};

/// Pure chipping: one unit moves from the donor at every bond.
const CHIPPING: TransportRule = TransportRule {
    p_diffuse: 0.0,
    p_transfer: 1.0,
    transfer_fraction: 0.0,
    random_fraction: false,
    chip: 1,
    injection: 0,
};

#[test]
fn total_mass_is_conserved_exactly_for_every_rule() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let l = 10_002; // not a multiple of the task size: exercises the tails
    let rules = [
        TransportRule::KMP,
        TransportRule::AGGREGATION_INJECTION,
        MIXED,
        CHIPPING,
    ];
    for (r, rule) in rules.into_iter().enumerate() {
        let mut m = MassLattice::new(l, rule, 3, r as u64).unwrap();
        let init: Vec<u64> = (0..l as u64)
            .map(|i| (i * 2_654_435_761) % 1_000_003)
            .collect();
        m.set_state(&init, 0).unwrap();
        let before = m.total();
        m.sweep(300).unwrap();
        let injected = 300 * l as u128 * u128::from(rule.injection);
        assert_eq!(m.total(), before + injected, "rule {r}: {rule:?}");
    }
}

#[test]
fn kmp_single_site_marginal_is_exponential_by_kolmogorov_smirnov() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    // KMP conserves energy and its stationary measure is the product of
    // exponentials (Kipnis, Marchioro & Presutti 1982); on a ring with fixed
    // total E the single-site marginal is exactly that of a uniform point on
    // the simplex, F(x) = 1 - (1 - x/E)^(L-1), which tends to 1 - exp(-x/mean)
    // (both are checked). Start: all mass on every 8th site (far from
    // equilibrium); 4000 sweeps relax the local marginal; then 40 snapshots
    // 100 sweeps apart.
    let l = 2000;
    let unit = 1u64 << 32; // mean mass 2^32 units: discreteness negligible
    let mut m = MassLattice::new(l, TransportRule::KMP, 17, 0).unwrap();
    let init: Vec<u64> = (0..l)
        .map(|i| if i % 8 == 0 { 8 * unit } else { 0 })
        .collect();
    m.set_state(&init, 0).unwrap();
    let e = m.total() as f64;
    m.sweep(4000).unwrap();
    let mut x = Vec::new();
    for _ in 0..40 {
        m.sweep(100).unwrap();
        x.extend(m.masses().iter().map(|&v| v as f64));
    }
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    let simplex = |v: f64| 1.0 - (1.0 - v / e).powf(l as f64 - 1.0);
    let exponential = |v: f64| 1.0 - (-v / unit as f64).exp();
    for (name, cdf) in [
        ("simplex marginal", &simplex as &dyn Fn(f64) -> f64),
        ("exponential", &exponential),
    ] {
        let d = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let f = cdf(v);
                (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max);
        // Kolmogorov: P(sqrt(n_eff) D > 1.95) ~ 1e-3. Snapshots 100 sweeps
        // apart and neighbouring sites are weakly correlated (diffusive
        // autocorrelation of a site ~ (4 pi D t)^-1/2 ~ 0.03 at t = 100, and
        // O(1/L) between sites); we take n_eff = n / 2 to cover it, and the
        // exponential form differs from the simplex one by O(1/L) = 5e-4.
        let bound = 1.95 / (n / 2.0).sqrt() + 1.0 / l as f64;
        eprintln!("{name}: D = {d:.5}, bound {bound:.5}");
        assert!(d < bound, "{name}: KS D = {d:.5} > {bound:.5}");
    }
}

#[test]
fn aggregation_with_injection_has_the_1d_mass_exponent_four_thirds() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    // 1D aggregation with injection: P(m) ~ m^-tau with tau = 4/3
    // (Takayasu, Nishikawa & Tasaki 1988; Majumdar, Krishnamurthy & Barma
    // 1998), below a cutoff m* ~ t^(3/2) (~6e4 at t = 1600). Fit over octave
    // bins m in [16, 4096): above the lattice scale (tens of injected units;
    // bins from m = 4 steepen the fit to ~1.35) and below m*/15; 4
    // independent rings give the standard error of the slope; accept
    // |tau - 4/3| < 4 SE + 0.02 (the residual corrections to scaling at both
    // ends of the range, as estimated by moving the range by an octave).
    let l = 20_000;
    let (k_lo, k_hi) = (4usize, 12usize);
    let mut slopes = Vec::new();
    for run in 0..4u64 {
        let mut m = MassLattice::new(l, TransportRule::AGGREGATION_INJECTION, 99, run).unwrap();
        m.sweep(1600).unwrap();
        let mut bins = [0u64; 64];
        for &v in m.masses() {
            bins[63 - v.leading_zeros() as usize] += 1;
        }
        // Weighted least squares of ln(density) on ln(m), Poisson weights.
        let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (k, &count) in bins.iter().enumerate().take(k_hi).skip(k_lo) {
            let c = count as f64;
            assert!(c > 30.0, "bin {k} has only {c} counts");
            let x = ((1u64 << k) as f64 * 1.5f64.sqrt()).ln();
            let y = (c / (1u64 << k) as f64).ln();
            let w = c; // var(ln c) = 1/c
            sw += w;
            sx += w * x;
            sy += w * y;
            sxx += w * x * x;
            sxy += w * x * y;
        }
        let slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
        slopes.push(-slope);
    }
    let n = slopes.len() as f64;
    let mean = slopes.iter().sum::<f64>() / n;
    let se = (slopes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
    eprintln!("tau per ring {slopes:?}: {mean:.4} +- {se:.4}");
    assert!(
        (mean - 4.0 / 3.0).abs() < 4.0 * se + 0.02,
        "tau = {mean:.4} +- {se:.4}"
    );
}

fn run(threads: usize, split: bool) -> Vec<u64> {
    set_num_threads(threads).unwrap();
    let l = 3 * 4096 + 10;
    let mut m = MassLattice::new(l, MIXED, 5, 6).unwrap();
    let init: Vec<u64> = (0..l as u64).map(|i| i % 97 * 1000).collect();
    m.set_state(&init, 0).unwrap();
    if split {
        m.sweep(13).unwrap();
        let saved = m.masses().to_vec();
        let mut fresh = MassLattice::new(l, MIXED, 5, 6).unwrap();
        fresh.set_state(&saved, m.sweeps_done()).unwrap();
        fresh.sweep(37).unwrap();
        fresh.masses().to_vec()
    } else {
        m.sweep(50).unwrap();
        m.masses().to_vec()
    }
}

#[test]
fn sweeps_are_bitwise_identical_for_one_and_two_threads_and_after_a_restart() {
    let _g = exclusive();
    let one = run(1, false);
    assert_eq!(one, run(2, false));
    assert_eq!(one, run(2, true));
}

#[test]
fn sweeps_allocate_nothing() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let mut m = MassLattice::new(100_000, MIXED, 1, 1).unwrap();
    m.sweep(1).unwrap();
    let (r, allocations) = count_allocations(|| m.sweep(20));
    r.unwrap();
    assert_eq!(allocations, 0);
}

/// Scalar re-implementation of the documented sweep: half 0 updates the
/// bonds `(2j, 2j+1)`, half 1 the bonds `(2j+1, 2j+2 mod L)`, bond `j` of
/// half `h` in sweep `s` with Philox block `(2 s + h) L/2 + j` of
/// `Stream::MassTransport.with_sub(stream)`; `action = u01(w0, w1)`,
/// `u = u01(w2, w3)`; diffusion `m_a = floor(u s)`; transfer of
/// `min(m, floor(f m) + chip)` from `a` iff `w0` is even; then `injection`
/// at every site. Masses stay below 2^53 here so `f m` is exact enough that
/// `f = 1` moves the whole donor mass.
fn reference_sweeps(
    rule: &TransportRule,
    seed: u64,
    stream: u64,
    masses: &mut [u64],
    first_sweep: u64,
    sweeps: u64,
) {
    use fieldkern::rng::philox::Philox;
    use fieldkern::rng::stream::Stream;
    use fieldkern::rng::uniform::u01_f64;
    let g = Philox::new(seed, Stream::MassTransport.with_sub(stream));
    let l = masses.len();
    for sweep in first_sweep..first_sweep + sweeps {
        for half in 0..2 {
            for j in 0..l / 2 {
                let (ia, ib) = (2 * j + half, (2 * j + half + 1) % l);
                let w = g.block((2 * sweep + half as u64) * (l / 2) as u64 + j as u64);
                let action = u01_f64(w[0], w[1]);
                let u = u01_f64(w[2], w[3]);
                let (a, b) = (masses[ia], masses[ib]);
                let (na, nb) = if action < rule.p_diffuse {
                    let s = a + b;
                    let ma = (u * s as f64).floor() as u64;
                    (ma, s - ma)
                } else if action < rule.p_diffuse + rule.p_transfer {
                    let f = rule.transfer_fraction * if rule.random_fraction { u } else { 1.0 };
                    let give =
                        |m: u64| m.min(((f * m as f64).floor() as u64).saturating_add(rule.chip));
                    if w[0].is_multiple_of(2) {
                        (a - give(a), b + give(a))
                    } else {
                        (a + give(b), b - give(b))
                    }
                } else {
                    (a, b)
                };
                masses[ia] = na;
                masses[ib] = nb;
            }
        }
        for m in masses.iter_mut() {
            *m += rule.injection;
        }
    }
}

/// Every rule (KMP, aggregation with injection, fixed fraction with a chip,
/// chipping, random fraction in a mixed rule with idle bonds) equals the
/// scalar reference above bit for bit: rings of 2 (both bonds are the same
/// pair, one of them the wrap-around), 6, 38 (partial SIMD groups) and
/// 2 * 4096 + 6 (a partial parallel task), two threads, a run split over
/// calls and resumed from a non-zero sweep counter. Start masses mix small
/// values (the `min(m, ...)` cap binds) with large ones.
#[test]
fn sweeps_equal_an_independent_scalar_reference_for_every_rule() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let fraction_chip = TransportRule {
        p_diffuse: 0.0,
        p_transfer: 1.0,
        transfer_fraction: 0.3,
        random_fraction: false,
        chip: 2,
        injection: 0,
    };
    let chipping = CHIPPING;
    let rules = [
        TransportRule::KMP,
        TransportRule::AGGREGATION_INJECTION,
        fraction_chip,
        chipping,
        MIXED,
    ];
    let (seed, stream) = (21, 8);
    for (r, rule) in rules.iter().enumerate() {
        for l in [2usize, 6, 38, 2 * 4096 + 6] {
            let start: Vec<u64> = (0..l as u64)
                .map(|i| {
                    if i % 3 == 0 {
                        i % 5
                    } else {
                        (i * 2_654_435_761) % 1_000_003
                    }
                })
                .collect();
            let mut lattice = MassLattice::new(l, *rule, seed, stream).unwrap();
            lattice.set_state(&start, 7).unwrap();
            lattice.sweep(2).unwrap();
            lattice.sweep(3).unwrap();
            let mut want = start.clone();
            reference_sweeps(rule, seed, stream, &mut want, 7, 5);
            assert_eq!(lattice.sweeps_done(), 12);
            assert_eq!(lattice.masses(), &want[..], "rule {r} {rule:?}, L = {l}");
        }
    }
}

/// Rule and size validation at the documented edges.
#[test]
fn bad_rules_and_sizes_are_rejected_with_their_class() {
    use fieldkern::error::ErrorKind;
    let kind = |rule: TransportRule, sites: usize| {
        MassLattice::new(sites, rule, 0, 0).err().map(|e| e.kind)
    };
    let with = |d: f64, t: f64, f: f64| TransportRule {
        p_diffuse: d,
        p_transfer: t,
        transfer_fraction: f,
        ..MIXED
    };
    assert_eq!(kind(with(0.5, 0.5, 1.0), 2), None);
    assert_eq!(kind(with(0.0, 0.0, 0.0), 2), None);
    // p_diffuse + p_transfer > 1, however slightly (beyond round-off).
    assert_eq!(kind(with(0.6, 0.4001, 0.5), 2), Some(ErrorKind::OutOfRange));
    assert_eq!(kind(with(0.6, 0.6, 0.5), 2), Some(ErrorKind::OutOfRange));
    for bad in [-1e-9, 1.0 + 1e-9, -1.0, 2.0] {
        assert_eq!(
            kind(with(bad, 0.0, 0.5), 2),
            Some(ErrorKind::OutOfRange),
            "{bad}"
        );
        assert_eq!(
            kind(with(0.0, bad, 0.5), 2),
            Some(ErrorKind::OutOfRange),
            "{bad}"
        );
        assert_eq!(
            kind(with(0.5, 0.0, bad), 2),
            Some(ErrorKind::OutOfRange),
            "{bad}"
        );
    }
    for bad in [f64::NAN, f64::INFINITY] {
        assert_eq!(kind(with(bad, 0.0, 0.5), 2), Some(ErrorKind::NonFinite));
        assert_eq!(kind(with(0.0, bad, 0.5), 2), Some(ErrorKind::NonFinite));
        assert_eq!(kind(with(0.5, 0.0, bad), 2), Some(ErrorKind::NonFinite));
    }
    for sites in [0usize, 1, 3, 7] {
        assert_eq!(
            kind(MIXED, sites),
            Some(ErrorKind::InvalidSize),
            "sites {sites}"
        );
    }
    let mut m = MassLattice::new(4, MIXED, 0, 0).unwrap();
    assert_eq!(
        m.set_state(&[1, 2, 3], 0).unwrap_err().kind,
        ErrorKind::InvalidSize
    );
    assert_eq!(
        m.set_state(&[u64::MAX, 1, 0, 0], 0).unwrap_err().kind,
        ErrorKind::OutOfRange
    );
    assert_eq!(
        m.set_rule(with(0.7, 0.7, 0.5)).unwrap_err().kind,
        ErrorKind::OutOfRange
    );
    assert_eq!(
        m.set_rule(with(0.7, 0.3, f64::NAN)).unwrap_err().kind,
        ErrorKind::NonFinite
    );
}

/// The C entry points map every parameter field onto the rule (random
/// fraction, chip, injection, probabilities, seed, stream) and resume from
/// the given sweep counter: a ring built through `fk_mass_transport_*`
/// equals the scalar reference bit for bit.
#[test]
fn the_c_entry_points_equal_the_scalar_reference() {
    use fieldkern::ffi::lattice::{
        fk_mass_transport, fk_mass_transport_create, fk_mass_transport_destroy,
        fk_mass_transport_get_masses, fk_mass_transport_params_default,
        fk_mass_transport_set_masses, fk_mass_transport_sweep,
    };
    use fieldkern::ffi::status::fk_status;
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let l = 38;
    let mut p = fk_mass_transport_params_default();
    p.sites = l as u64;
    p.seed = 31;
    p.stream = 9;
    p.p_diffuse = MIXED.p_diffuse;
    p.p_transfer = MIXED.p_transfer;
    p.transfer_fraction = MIXED.transfer_fraction;
    p.random_fraction = 1;
    p.chip = MIXED.chip;
    p.injection = MIXED.injection;
    let start: Vec<u64> = (0..l as u64).map(|i| (i * 7919) % 1013 + i % 3).collect();
    let mut got = vec![0u64; l];
    let mut sweeps = 0u64;
    let mut mt: *mut fk_mass_transport = std::ptr::null_mut();
    // SAFETY: valid params, arrays of `l` elements, a live handle.
    unsafe {
        assert_eq!(fk_mass_transport_create(&p, &mut mt), fk_status::FK_OK);
        assert_eq!(
            fk_mass_transport_set_masses(mt, start.as_ptr(), l, 4),
            fk_status::FK_OK
        );
        assert_eq!(fk_mass_transport_sweep(mt, 6), fk_status::FK_OK);
        assert_eq!(
            fk_mass_transport_get_masses(mt, got.as_mut_ptr(), l, &mut sweeps),
            fk_status::FK_OK
        );
        assert_eq!(fk_mass_transport_destroy(mt), fk_status::FK_OK);
    }
    let mut want = start;
    reference_sweeps(&MIXED, 31, 9, &mut want, 4, 6);
    assert_eq!(sweeps, 10);
    assert_eq!(got, want);
}
