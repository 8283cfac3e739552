//! Velocity Verlet: energy conservation in an LJ fluid, time reversibility,
//! and the Kepler problem (period, bounded energy error).
#![allow(clippy::needless_range_loop)]

mod particles_util;

use fieldkern::forces::{ForceField, ForceFieldParams, PairKind};
use fieldkern::integrate::verlet::VelocityVerlet;
use fieldkern::integrate::SimBox;
use particles_util::{energy, energy_drift_and_excursion, fcc, pair_field, State};

fn lj_fluid() -> (State, ForceField, f64) {
    // N = 500 = 4 * 5^3 (FCC), rho = 0.8, shifted LJ cut at 2.5, skin 0.3.
    let (mut s, l) = fcc(5, 0.8);
    s.thermalise(1.0, 11);
    let ff = lj_field(s.n(), l);
    (s, ff, l)
}

/// The shifted LJ field (cut 2.5, skin 0.3) in a periodic cube of side `l`.
fn lj_field(n: usize, l: f64) -> ForceField {
    pair_field(
        SimBox::periodic(3, [l; 3]),
        n,
        PairKind::LennardJonesShifted,
        1.0,
        1.0,
        2.5,
        0.3,
        128,
    )
}

fn total_energy(ff: &mut ForceField, s: &mut State) -> f64 {
    energy(ff, s).0 + 0.5 * s.mv2()
}

/// The bound: relative energy drift < 1e-4 over 10^5 steps at
/// dt = 0.005. We compare the mean total energy over the first and last
/// 5000 steps (sampled every 100 steps), which removes the O(dt^2) bounded
/// fluctuation and leaves the secular drift, and also bound the largest
/// excursion by 1e-3 relative (the shadow-Hamiltonian fluctuation at this dt
/// is ~1e-4 relative).
#[test]
fn nve_lj_fluid_conserves_energy_over_1e5_steps() {
    let (mut s, mut ff, _) = lj_fluid();
    let mut vv = VelocityVerlet::new(3, s.n(), 0.005).unwrap();
    // Let the lattice melt first (2000 steps).
    let (done, r) = vv.step(Some(&mut ff), &mut s.view(), 0, 2000);
    r.unwrap();
    assert_eq!(done, 2000);
    let mut e = Vec::new();
    let mut step = 2000u64;
    for _ in 0..1000 {
        vv.step(Some(&mut ff), &mut s.view(), step, 100).1.unwrap();
        step += 100;
        e.push(total_energy(&mut ff, &mut s));
    }
    let (drift, excursion) = energy_drift_and_excursion(&e, 50);
    println!(
        "E0 = {}, drift = {drift:e}, max excursion = {excursion:e}",
        e[0]
    );
    assert!(drift < 1e-4, "relative drift {drift:e}");
    assert!(excursion < 1e-3, "relative excursion {excursion:e}");
}

/// Verlet is time-reversible: 500 steps forward, negate velocities, 500
/// steps back (1000 steps in all) return the start positions to 1e-9. The
/// residue is rounding (~1e-15) amplified by the fluid's Lyapunov
/// instability: measured 3e-12 here; with 1000 + 1000 steps it grows to
/// ~4e-9 (largest exponent ~1.5 per time unit), a property of the chaotic
/// fluid in double precision, not of the integrator. The bit-reversible
/// mode (tests below) retraces 1000 + 1000 steps exactly.
#[test]
fn nve_lj_fluid_retraces_its_path_to_1e9_after_1000_steps() {
    let (mut s, mut ff, l) = lj_fluid();
    let mut vv = VelocityVerlet::new(3, s.n(), 0.005).unwrap();
    let start = s.clone();
    vv.step(Some(&mut ff), &mut s.view(), 0, 500).1.unwrap();
    for v in [&mut s.vx, &mut s.vy, &mut s.vz] {
        v.iter_mut().for_each(|a| *a = -*a);
    }
    vv.step(Some(&mut ff), &mut s.view(), 500, 500).1.unwrap();
    let b = SimBox::periodic(3, [l; 3]);
    let mut worst: f64 = 0.0;
    for i in 0..s.n() {
        for (a, (p, q)) in [(&s.x, &start.x), (&s.y, &start.y), (&s.z, &start.z)]
            .into_iter()
            .enumerate()
        {
            worst = worst.max(b.min_image(a, p[i] - q[i]).abs());
        }
    }
    println!("largest position error after reversal: {worst:e}");
    assert!(worst < 1e-9, "{worst:e}");
}

/// The LJ fluid of [`lj_fluid`] in a box whose length is a multiple of
/// `2^-k` (the bit-reversible mode's requirement), melted for 2000 steps.
fn melted_lj_fluid_on_grid(k: i32) -> (State, ForceField, f64) {
    let (mut s, _, l) = lj_fluid();
    let lq = (l * 2f64.powi(k)).floor() * 2f64.powi(-k);
    let mut ff = lj_field(s.n(), lq);
    let mut vv = VelocityVerlet::new(3, s.n(), 0.005).unwrap();
    vv.step(Some(&mut ff), &mut s.view(), 0, 2000).1.unwrap();
    (s, ff, lq)
}

fn on_grid(v: &[f64], k: i32) -> Vec<f64> {
    v.iter()
        .map(|x| (x * 2f64.powi(k)).round_ties_even() * 2f64.powi(-k))
        .collect()
}

/// Bit-reversible Verlet (grid 2^-40) retraces the melted, chaotic LJ fluid
/// exactly: 1000 steps forward, negate velocities, 1000 steps back give the
/// start positions and the negated start velocities bit for bit (the issue
/// asks 1e-9; ordinary floating point reaches ~4e-9 over these 2000 steps,
/// see the test above). Also checks that the mode is not a no-op: the same
/// run in ordinary floating point does not come back bit for bit.
#[test]
fn bit_reversible_verlet_retraces_the_lj_fluid_bit_for_bit_after_1000_plus_1000_steps() {
    let k = 40;
    let (s0, mut ff, _) = melted_lj_fluid_on_grid(k);
    let retrace = |ff: &mut ForceField, bits: u32| {
        let mut s = s0.clone();
        let mut vv = VelocityVerlet::new(3, s.n(), 0.005).unwrap();
        vv.set_bit_reversible(bits).unwrap();
        vv.step(Some(&mut *ff), &mut s.view(), 0, 1000).1.unwrap();
        let moved = (0..s.n()).any(|i| (s.x[i] - s0.x[i]).abs() > 0.1);
        assert!(moved, "the fluid must move");
        for v in [&mut s.vx, &mut s.vy, &mut s.vz] {
            v.iter_mut().for_each(|a| *a = -*a);
        }
        vv.step(Some(&mut *ff), &mut s.view(), 1000, 1000)
            .1
            .unwrap();
        s
    };
    let s = retrace(&mut ff, k as u32);
    for (got, start) in [(&s.x, &s0.x), (&s.y, &s0.y), (&s.z, &s0.z)] {
        assert_eq!(got, &on_grid(start, k), "positions after reversal");
    }
    for (got, start) in [(&s.vx, &s0.vx), (&s.vy, &s0.vy), (&s.vz, &s0.vz)] {
        let want: Vec<f64> = on_grid(start, k).iter().map(|v| -v).collect();
        assert_eq!(got, &want, "velocities after reversal");
    }
    let plain = retrace(&mut ff, 0);
    assert_ne!(
        plain.x, s0.x,
        "ordinary floating point is not bitwise reversible here"
    );
    let worst = (0..s0.n())
        .map(|i| {
            (plain.x[i] - s0.x[i])
                .abs()
                .max((plain.y[i] - s0.y[i]).abs())
        })
        .fold(0.0f64, f64::max);
    println!(
        "ordinary floating point after the same 1000 + 1000 steps: largest x/y error {worst:e}"
    );
}

/// The grid rounding perturbs each step by ~2^-40, far below Verlet's own
/// error: over 2 x 10^4 steps the bit-reversible run conserves energy like
/// the ordinary one (same bounds as the 10^5-step test: drift of the mean
/// between the first and last 2000 steps < 1e-4 relative, excursion < 1e-3).
#[test]
fn bit_reversible_verlet_conserves_energy_like_ordinary_verlet() {
    let (mut s, mut ff, _) = melted_lj_fluid_on_grid(40);
    let mut vv = VelocityVerlet::new(3, s.n(), 0.005).unwrap();
    vv.set_bit_reversible(40).unwrap();
    let mut e = Vec::new();
    for c in 0..200u64 {
        vv.step(Some(&mut ff), &mut s.view(), 100 * c, 100)
            .1
            .unwrap();
        e.push(total_energy(&mut ff, &mut s));
    }
    let (drift, excursion) = energy_drift_and_excursion(&e, 20);
    println!("bit-reversible: drift = {drift:e}, max excursion = {excursion:e}");
    assert!(drift < 1e-4, "relative drift {drift:e}");
    assert!(excursion < 1e-3, "relative excursion {excursion:e}");
}

/// Bad settings of the bit-reversible mode fail with OutOfRange and leave
/// the state unchanged: k outside 8..=48, a box length off the grid, a
/// velocity beyond 2^(51-k).
#[test]
fn bit_reversible_verlet_rejects_bad_settings_without_touching_the_state() {
    use fieldkern::error::ErrorKind;
    let (s0, mut ff, l) = lj_fluid(); // l = (500 / 0.8)^(1/3): not on a 2^-40 grid
    let mut vv = VelocityVerlet::new(3, s0.n(), 0.005).unwrap();
    for bad in [1, 7, 49, 64] {
        assert_eq!(
            vv.set_bit_reversible(bad).unwrap_err().kind,
            ErrorKind::OutOfRange
        );
    }
    assert_eq!(vv.bit_reversible(), 0);
    assert_ne!(l, (l * 2f64.powi(40)).round() * 2f64.powi(-40));
    vv.set_bit_reversible(40).unwrap();
    let mut s = s0.clone();
    let (done, r) = vv.step(Some(&mut ff), &mut s.view(), 0, 10);
    assert_eq!((done, r.unwrap_err().kind), (0, ErrorKind::OutOfRange));
    assert_eq!((s.x.clone(), s.vx.clone()), (s0.x.clone(), s0.vx.clone()));

    let (g0, mut gff, _) = melted_lj_fluid_on_grid(40);
    let mut g = g0.clone();
    g.vz[7] = 2048.0; // = 2^(51-40)
    let (done, r) = vv.step(Some(&mut gff), &mut g.view(), 0, 10);
    let e = r.unwrap_err();
    assert_eq!((done, e.kind), (0, ErrorKind::OutOfRange));
    assert!(e.to_string().contains("particle 7"), "{e}");
    assert_eq!(g.x, g0.x);
    vv.set_bit_reversible(0).unwrap();
    assert_eq!(vv.step(Some(&mut gff), &mut g.view(), 0, 1).0, 1);
}

/// Kepler problem, G M = 1, a = 1, e = 0.5 (period 2 pi, energy -1/2): a
/// fixed sun (inverse mass 0) and a unit-mass planet under Newtonian gravity
/// (softening 0). Over 100 orbits at dt = T/20000 Verlet's energy error is
/// bounded (no growth between the first and the last ten orbits) and both
/// the period (from the unwrapped polar angle) and the mean energy agree with
/// the exact values to 1e-6.
#[test]
fn kepler_orbit_keeps_period_and_energy_over_100_orbits() {
    let mut s = State::new(2, 2);
    s.inv_mass = vec![0.0, 1.0];
    s.types = vec![0, 1];
    let e = 0.5f64;
    s.x[1] = 1.0 - e;
    s.vy[1] = ((1.0 + e) / (1.0 - e)).sqrt();
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: SimBox::open(2),
        ntypes: 2,
        capacity: 2,
        skin: 0.0,
        max_neighbors: 1,
    })
    .unwrap();
    ff.add_pair(
        PairKind::Gravity,
        &[0.0, 1.0, 1.0, 0.0],
        &[0.0; 4],
        &[0.0; 4],
    )
    .unwrap();
    let period = std::f64::consts::TAU;
    let per_orbit = 20000usize;
    let dt = period / per_orbit as f64;
    let mut vv = VelocityVerlet::new(2, 2, dt).unwrap();
    let orbit_energy = |s: &State| {
        let r = (s.x[1] * s.x[1] + s.y[1] * s.y[1]).sqrt();
        0.5 * (s.vx[1] * s.vx[1] + s.vy[1] * s.vy[1]) - 1.0 / r
    };
    let mut theta_prev = 0.0f64;
    let mut turns = 0.0;
    let mut crossing_time = None;
    let mut err_first: f64 = 0.0;
    let mut err_last: f64 = 0.0;
    let mut e_sum = 0.0;
    let orbits = 100;
    let sample = 10;
    let mut k = 0u64;
    for orbit in 0..orbits {
        for _ in 0..per_orbit / sample {
            vv.step(Some(&mut ff), &mut s.view(), k, sample).1.unwrap();
            k += sample as u64;
            let de = (orbit_energy(&s) + 0.5).abs();
            e_sum += orbit_energy(&s);
            if orbit < 10 {
                err_first = err_first.max(de);
            }
            if orbit >= orbits - 10 {
                err_last = err_last.max(de);
            }
            let th = s.y[1].atan2(s.x[1]);
            let mut d = th - theta_prev;
            if d < -std::f64::consts::PI {
                d += std::f64::consts::TAU;
            }
            let before = turns;
            turns += d;
            theta_prev = th;
            let target = std::f64::consts::TAU * orbits as f64;
            if crossing_time.is_none() && before < target && turns >= target {
                let frac = (target - before) / d;
                crossing_time = Some((k as f64 - sample as f64 * (1.0 - frac)) * dt);
            }
        }
    }
    // The last crossing of 100 full turns happens near the end: run a little
    // more (at most one more orbit, so a wrong integrator fails, not hangs).
    for _ in 0..per_orbit {
        if crossing_time.is_some() {
            break;
        }
        vv.step(Some(&mut ff), &mut s.view(), k, 1).1.unwrap();
        k += 1;
        let th = s.y[1].atan2(s.x[1]);
        let mut d = th - theta_prev;
        if d < -std::f64::consts::PI {
            d += std::f64::consts::TAU;
        }
        let before = turns;
        turns += d;
        theta_prev = th;
        let target = std::f64::consts::TAU * orbits as f64;
        if before < target && turns >= target {
            let frac = (target - before) / d;
            crossing_time = Some((k as f64 - (1.0 - frac)) * dt);
        }
    }
    // Perihelion at angle 0 has a symmetric orbit: 100 turns take 100 periods.
    let measured = crossing_time.expect("100 turns within 101 periods") / orbits as f64;
    let e_mean = e_sum / (orbits * per_orbit / sample) as f64;
    println!(
        "period error {:e}, mean energy error {:e}, max |dE| first/last 10 orbits {err_first:e}/{err_last:e}",
        (measured - period) / period,
        e_mean + 0.5
    );
    assert!(((measured - period) / period).abs() < 1e-6);
    assert!((e_mean + 0.5).abs() < 1e-6);
    // Bounded, not growing: the last orbits' worst error is no larger than
    // the first orbits' (allowing 10% for sampling phase).
    assert!(err_last < 1.1 * err_first + 1e-12);
}

/// A step call reuses the forces the previous call ended with when the
/// force field and the positions and types are unchanged (bit for bit), so
/// stepping one step per call costs one force evaluation per step, and the
/// trajectory is the same bits as one long call. Any change (a moved
/// particle, a new term, other types) makes the next call evaluate again.
#[test]
fn one_step_calls_reuse_the_carried_forces_and_give_the_same_bits() {
    let (s0, _, l) = lj_fluid();
    let run = |calls: usize, per_call: usize| {
        let mut s = s0.clone();
        let mut ff = lj_field(s.n(), l);
        let mut vv = VelocityVerlet::new(3, s.n(), 0.005).unwrap();
        for c in 0..calls {
            let step = (c * per_call) as u64;
            vv.step(Some(&mut ff), &mut s.view(), step, per_call)
                .1
                .unwrap();
        }
        (s, ff, vv)
    };
    let (long, ff_long, _) = run(1, 40);
    let (short, mut ff, mut vv) = run(40, 1);
    assert_eq!(
        (short.x.clone(), short.vz.clone()),
        (long.x.clone(), long.vz.clone())
    );
    assert_eq!(ff_long.evaluations(), 41);
    assert_eq!(
        ff.evaluations(),
        41,
        "one evaluation per step, plus the first"
    );
    // A moved particle: the next call evaluates at its start again.
    let mut s = short;
    s.x[3] += 1e-9;
    vv.step(Some(&mut ff), &mut s.view(), 40, 1).1.unwrap();
    assert_eq!(ff.evaluations(), 43);
    // Unchanged again: reused.
    vv.step(Some(&mut ff), &mut s.view(), 41, 1).1.unwrap();
    assert_eq!(ff.evaluations(), 44);
    // Other types with the same positions.
    s.types = vec![0; s.n()];
    vv.step(Some(&mut ff), &mut s.view(), 42, 1).1.unwrap();
    assert_eq!(ff.evaluations(), 45, "all-zero types equal no types");
    // A new term changes the field's definition.
    ff.add_uniform([0.0, 0.0, 0.1]).unwrap();
    vv.step(Some(&mut ff), &mut s.view(), 43, 1).1.unwrap();
    assert_eq!(ff.evaluations(), 47);
    // Another force field (same definition, other identity).
    let mut other = lj_field(s.n(), l);
    vv.step(Some(&mut other), &mut s.view(), 44, 1).1.unwrap();
    assert_eq!(other.evaluations(), 2);
}
