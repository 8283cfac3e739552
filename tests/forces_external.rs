//! External fields: the time-delayed feedback trap acts on positions exactly
//! `D` steps old (checked against the delay recursion), uniform and annular
//! fields give the documented energies and virials.
#![allow(clippy::needless_range_loop)]

mod particles_util;

use fieldkern::forces::Trap;
use fieldkern::integrate::brownian::{Brownian, BrownianParams};
use particles_util::{open_field, State};

/// Overdamped motion at kT = 0 in a delayed harmonic trap follows
/// x_{s+1} = x_s - mu k dt x_{s-D} once the history is filled (before that
/// the current position stands in, as documented). The integrator must
/// reproduce this recursion exactly (same floating-point operations).
#[test]
fn delayed_trap_uses_positions_exactly_delay_steps_old() {
    let (mu, k, dt, delay) = (1.0, 2.0, 0.05, 7usize);
    let mut ff = open_field(2, 1);
    ff.add_delayed_trap(
        Trap::Harmonic {
            k,
            centre: [0.0; 3],
        },
        delay,
    )
    .unwrap();
    let mut bd = Brownian::new(
        2,
        1,
        BrownianParams {
            dt,
            mobility: mu,
            kt: 0.0,
            seed: 0,
            stream: 0,
        },
    )
    .unwrap();
    let mut s = State::new(2, 1);
    s.x[0] = 1.0;
    let mut hist = vec![1.0f64];
    for step in 0..200u64 {
        bd.step(Some(&mut ff), &mut s.view(), step, 1).1.unwrap();
        let cur = *hist.last().unwrap();
        let delayed = if step as usize >= delay {
            hist[step as usize - delay]
        } else {
            cur
        };
        hist.push(cur + mu * dt * (-k * delayed) + 0.0);
        assert_eq!(s.x[0], hist[step as usize + 1], "step {step}");
    }
    // Delayed feedback with mu k tau = 0.7 > 1/e oscillates: the recursion
    // must have changed sign at least once (a plain trap decays monotonically).
    assert!(hist.iter().any(|&v| v < 0.0));
}

#[test]
fn uniform_and_annular_fields_report_energy_and_virial() {
    let n = 3;
    let mut ff = open_field(3, n);
    let tu = ff.add_uniform([0.5, -1.0, 2.0]).unwrap();
    let ta = ff
        .add_trap(Trap::Annular {
            k: 4.0,
            radius: 1.0,
            centre: [0.0; 3],
        })
        .unwrap();
    let mut s = State::new(3, n);
    for i in 0..n {
        s.x[i] = 0.5 + i as f64;
        s.y[i] = -0.25 * i as f64;
        s.z[i] = 0.1;
    }
    let (mut fx, mut fy, mut fz) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let p = s.view();
    ff.compute(&p.positions(), 0, &mut fx, &mut fy, &mut fz, true)
        .unwrap();
    let (mut u_uni, mut u_ann, mut w_uni) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let r = [s.x[i], s.y[i], s.z[i]];
        u_uni -= 0.5 * r[0] - r[1] + 2.0 * r[2];
        w_uni += 0.5 * r[0] - r[1] + 2.0 * r[2];
        let rho = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
        u_ann += 2.0 * (rho - 1.0) * (rho - 1.0);
        let fa = -4.0 * (rho - 1.0) / rho;
        assert!((fx[i] - (0.5 + fa * r[0])).abs() < 1e-14);
        assert!((fz[i] - (2.0 + fa * r[2])).abs() < 1e-14);
    }
    let (eu, wu) = ff.term_energy(tu).unwrap();
    let (ea, _) = ff.term_energy(ta).unwrap();
    assert!((eu - u_uni).abs() < 1e-14 && (wu - w_uni).abs() < 1e-14);
    assert!((ea - u_ann).abs() < 1e-14);
    assert!(ff.pressure(0.0).is_nan(), "open box has no pressure");
}
