//! Vision-cone steering and goal fixation of "intelligent" active Brownian
//! particles (2D), without noise (`Dr = 0`, `kT = 0`) so that the heading
//! follows an ordinary differential equation:
//!
//! * against an independent implementation of the documented torque
//!   `tau_i = (Omega / N_i) sum_{j in cone} exp(-r_ij / R0) sin(phi_ij -
//!   theta_i) + K sin(phi_goal,i - theta_i)` on a random periodic
//!   configuration (one step: `theta += tau dt` exactly);
//! * against the analytic solution of `dtheta/dt = -k sin(theta - phi)`,
//!   `tan((theta - phi)/2) = tan((theta0 - phi)/2) exp(-k t)`, which both the
//!   goal torque (`k = K`) and the cone torque of two symmetric neighbours at
//!   angles `+-alpha` and distance `d` (`k = Omega exp(-d/R0) cos(alpha)`)
//!   reduce to when nobody moves (`v0 = 0`).
#![allow(clippy::needless_range_loop)]

mod particles_util;

use fieldkern::forces::{ForceField, ForceFieldParams};
use fieldkern::integrate::active::{ActiveBrownian, ActiveParams};
use fieldkern::integrate::SimBox;
use particles_util::State;
use std::f64::consts::PI;

/// Steering parameters with the noise and self-propulsion off.
fn quiet(dt: f64) -> ActiveParams {
    ActiveParams {
        dt,
        v0: 0.0,
        dr: 0.0,
        kt: 0.0,
        ..Default::default()
    }
}

/// Heading of `dtheta/dt = -k sin(theta - phi)` at time `t` from `theta0`.
fn relaxed_heading(theta0: f64, phi: f64, k: f64, t: f64) -> f64 {
    phi + 2.0 * (((theta0 - phi) / 2.0).tan() * (-k * t).exp()).atan()
}

/// Integrates `steps` steps and returns particle 0's heading.
fn heading_after(s: &mut State, prm: ActiveParams, steps: usize) -> f64 {
    let mut abp = ActiveBrownian::new(2, s.n(), prm).unwrap();
    abp.step(None, &mut s.view(), 0, steps).1.unwrap();
    s.oy[0].atan2(s.ox[0])
}

/// Explicit Euler in the heading has a global error ~ dt k^2 t / 2 (here
/// below 1e-4 rad); the mutations this guards against (sign, weight,
/// normalisation) move the heading by 0.05-0.3 rad.
const EULER_TOL: f64 = 1e-3;

#[test]
fn goal_fixation_turns_the_heading_as_the_analytic_solution() {
    let (dt, steps, k) = (1e-4, 10_000, 1.5);
    for theta0 in [2.0f64, -1.0, 0.3] {
        let mut s = State::new(2, 1);
        s.x[0] = 1.0;
        s.y[0] = -2.0;
        s.ox = vec![theta0.cos()];
        s.oy = vec![theta0.sin()];
        let goal = [4.0, 2.0];
        let prm = ActiveParams {
            goal_k: k,
            goal,
            ..quiet(dt)
        };
        let got = heading_after(&mut s, prm, steps);
        let phi = (goal[1] - s.y[0]).atan2(goal[0] - s.x[0]);
        let want = relaxed_heading(theta0, phi, k, dt * steps as f64);
        println!("theta0 = {theta0}: heading {got:.6}, analytic {want:.6}");
        assert!((got - want).abs() < EULER_TOL, "theta0 = {theta0}");
    }
}

#[test]
fn a_particle_exactly_at_the_goal_feels_no_goal_torque() {
    // The direction to the goal is undefined there; the documented torque
    // is 0, so the heading stays bitwise as it was.
    let mut s = State::new(2, 1);
    (s.x[0], s.y[0]) = (4.0, 2.0);
    s.ox = vec![0.6];
    s.oy = vec![-0.8];
    let prm = ActiveParams {
        goal_k: 1.5,
        goal: [4.0, 2.0],
        ..quiet(1e-2)
    };
    let mut abp = ActiveBrownian::new(2, 1, prm).unwrap();
    abp.step(None, &mut s.view(), 0, 3).1.unwrap();
    assert_eq!((s.ox[0], s.oy[0]), (0.6, -0.8));
}

#[test]
fn vision_cone_steers_towards_the_mean_direction_of_the_visible_neighbours() {
    let (dt, steps) = (1e-4, 10_000);
    let (omega, decay, range, d, alpha, theta0): (f64, f64, f64, f64, f64, f64) =
        (2.0, 1.5, 3.0, 1.2, 0.3, 0.2);
    // 0 at the origin heading theta0; 1 and 2 in its cone at angles +-alpha,
    // distance d; 3 behind it (outside the cone); 4 straight ahead but beyond
    // the range. Only 1 and 2 steer particle 0, equally weighted.
    let pos = [
        (0.0, 0.0),
        (d * alpha.cos(), d * alpha.sin()),
        (d * alpha.cos(), -d * alpha.sin()),
        (-d, 0.0),
        (range + 0.5, 0.0),
    ];
    let mut s = State::new(2, pos.len());
    for (i, &(x, y)) in pos.iter().enumerate() {
        s.x[i] = x;
        s.y[i] = y;
    }
    s.ox = vec![1.0; pos.len()];
    s.oy = vec![0.0; pos.len()];
    s.ox[0] = theta0.cos();
    s.oy[0] = theta0.sin();
    let prm = ActiveParams {
        vision_omega: omega,
        vision_angle: PI / 4.0,
        vision_range: range,
        vision_decay: decay,
        ..quiet(dt)
    };
    let got = heading_after(&mut s, prm, steps);
    // sin(alpha - theta) + sin(-alpha - theta) = -2 cos(alpha) sin(theta).
    let k = omega * (-d / decay).exp() * alpha.cos();
    let want = relaxed_heading(theta0, 0.0, k, dt * steps as f64);
    println!("heading {got:.6}, analytic {want:.6} (from {theta0})");
    assert!((got - want).abs() < EULER_TOL);
    // Nobody moves with v0 = 0 and no forces.
    for (i, &(x, y)) in pos.iter().enumerate() {
        assert_eq!((s.x[i], s.y[i]), (x, y));
    }
}

/// Angle `a` wrapped into `(-pi, pi]`.
fn wrapped(a: f64) -> f64 {
    let r = a.rem_euclid(2.0 * PI);
    if r > PI {
        r - 2.0 * PI
    } else {
        r
    }
}

#[test]
fn one_step_of_both_torques_matches_the_documented_formula_in_a_periodic_box() {
    // Unit headings, and headings of length 2.5 (the torque depends on the
    // direction theta_i only, so the cone and the weights must not change).
    for scale in [1.0, 2.5] {
        one_step_of_both_torques(scale);
    }
}

fn one_step_of_both_torques(scale: f64) {
    let (n, l, dt) = (300, 10.0, 1e-2);
    let mut s = particles_util::random_positions(2, n, l, 17);
    let mut u = vec![0.0; n];
    fieldkern::rng::fill::fill_uniform_f64(3, 1, 0, &mut u).unwrap();
    let theta: Vec<f64> = u.iter().map(|&u| 2.0 * PI * u - PI).collect();
    s.ox = theta.iter().map(|t| scale * t.cos()).collect();
    s.oy = theta.iter().map(|t| scale * t.sin()).collect();
    let (x0, y0) = (s.x.clone(), s.y.clone());
    let prm = ActiveParams {
        vision_omega: 2.0,
        vision_angle: 0.9,
        vision_range: 2.5,
        vision_decay: 1.5,
        goal_k: 0.7,
        goal: [3.0, 8.0],
        ..quiet(dt)
    };
    let mut ff = ForceField::new(ForceFieldParams::without_neighbour_list(
        SimBox::periodic(2, [l, l, l]),
        n,
    ))
    .unwrap();
    let mut abp = ActiveBrownian::new(2, n, prm).unwrap();
    abp.step(Some(&mut ff), &mut s.view(), 0, 1).1.unwrap();
    let image = |d: f64| d - l * (d / l).round();
    let mut seen_total = 0;
    for i in 0..n {
        let mut sum = 0.0;
        let mut seen = 0;
        for j in 0..n {
            if j == i {
                continue;
            }
            let (dx, dy) = (image(x0[j] - x0[i]), image(y0[j] - y0[i]));
            let r = dx.hypot(dy);
            let phi = dy.atan2(dx);
            if r < prm.vision_range && wrapped(phi - theta[i]).abs() <= prm.vision_angle {
                sum += (-r / prm.vision_decay).exp() * (phi - theta[i]).sin();
                seen += 1;
            }
        }
        seen_total += seen;
        let mut tau = if seen > 0 {
            prm.vision_omega * sum / seen as f64
        } else {
            0.0
        };
        let phi_goal = (prm.goal[1] - y0[i]).atan2(prm.goal[0] - x0[i]);
        tau += prm.goal_k * (phi_goal - theta[i]).sin();
        let want = theta[i] + tau * dt;
        let err = wrapped(s.oy[i].atan2(s.ox[i]) - want).abs();
        assert!(
            err < 1e-12,
            "scale {scale}, particle {i}: heading off by {err}"
        );
    }
    // The configuration exercises the cone: on average a few neighbours each.
    assert!(seen_total > n, "only {seen_total} neighbours seen");
}
