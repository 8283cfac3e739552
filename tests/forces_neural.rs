//! Neural-field force term: forces are minus the finite-difference gradient
//! of the model (independent f64 reference), a vector-field model gives its
//! output as forces, velocity Verlet conserves energy in a smooth neural
//! potential, steps allocate nothing, and trajectories are bitwise identical
//! on 1 and 2 threads.
#![allow(clippy::needless_range_loop)]

mod nf_ref;
mod particles_util;
mod support;

use fieldkern::forces::{ForceField, NeuralMode, Trap};
use fieldkern::integrate::verlet::VelocityVerlet;
use fieldkern::nf::{Activation, Encoding};
use nf_ref::{fewest_allocations, random_net, RefNet, TestRng};
use particles_util::{energy_drift_and_excursion, open_field, State};
use support::alloc::exclusive;

/// A smooth (tanh) scalar or vector field of `dim` inputs.
fn smooth_net(dim: usize, out_dim: usize, seed: u64) -> RefNet {
    let mut rng = TestRng(seed);
    random_net(
        dim,
        Encoding::Identity,
        &[24, 20],
        out_dim,
        Activation::Tanh,
        None,
        &mut rng,
    )
}

/// Positions exactly representable in f32 (the term rounds positions to
/// f32; this way the reference sees the same inputs).
fn random_state(dim: usize, n: usize, half_width: f64, seed: u64) -> State {
    let mut rng = TestRng(seed);
    let mut s = State::new(dim, n);
    for i in 0..n {
        s.x[i] = f64::from(rng.sym(half_width) as f32);
        s.y[i] = f64::from(rng.sym(half_width) as f32);
        if dim == 3 {
            s.z[i] = f64::from(rng.sym(half_width) as f32);
        }
        s.vx[i] = rng.sym(0.5);
        s.vy[i] = rng.sym(0.5);
        if dim == 3 {
            s.vz[i] = rng.sym(0.5);
        }
    }
    s
}

fn forces(ff: &mut ForceField, s: &mut State) -> [Vec<f64>; 3] {
    let (n, dim) = (s.n(), s.dim);
    let mut f = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let p = s.view();
    let pos = p.positions();
    ff.validate(&pos).unwrap();
    let [fx, fy, fz] = &mut f;
    let fz: &mut [f64] = if dim == 3 { fz } else { &mut [] };
    ff.compute(&pos, 0, fx, fy, fz, true).unwrap();
    f
}

/// Forces of the potential term equal `-scale grad U` from central finite
/// differences of the f64 reference network (same f32 weights), in 2D and
/// 3D. Tolerance 1e-4 relative to `|grad U|` at the point: the f64 finite
/// differences are exact to ~1e-9 (h = 1e-5, see `jacobian_fd`), so the error
/// is the kernel's f32 rounding of the forward and backward passes (dot
/// products of <= 24 terms, ~sqrt(24) u ~ 3e-7 each, through 3 layers),
/// about 1e-6; a wrong sign, scale or component order gives errors of order 1.
/// The term energy equals `scale sum U` to 1e-5 relative to `sum |U|`
/// (f32 values, ~1e-6 each, summed in f64).
#[test]
fn potential_forces_are_minus_the_finite_difference_gradient() {
    let _g = exclusive();
    for dim in [2, 3] {
        let net = smooth_net(dim, 1, 7 + dim as u64);
        let n = 150; // three 64-point tiles, the last one partial
        let scale = 1.75;
        let mut ff = open_field(dim, n);
        let id = ff
            .add_neural_field(net.model(0), dim, 1, NeuralMode::Potential, scale)
            .unwrap();
        let mut s = random_state(dim, n, 2.0, 3);
        let f = forces(&mut ff, &mut s);
        let (mut worst, mut e_ref, mut abs_sum) = (0f64, 0f64, 0f64);
        for i in 0..n {
            let r = [s.x[i], s.y[i], if dim == 3 { s.z[i] } else { 0.0 }];
            let u = net.eval(&r[..dim])[0];
            e_ref += scale * u;
            abs_sum += (scale * u).abs();
            let g = &net.jacobian_fd(&r[..dim])[0];
            let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt() * scale;
            for a in 0..dim {
                let err = (f[a][i] + scale * g[a]).abs() / norm.max(1e-12);
                worst = worst.max(err);
            }
        }
        let (e, _) = ff.term_energy(id).unwrap();
        println!("dim {dim}: worst relative force error {worst:e}, E = {e}, E_ref = {e_ref}");
        assert!(worst < 1e-4, "dim {dim}: force error {worst:e}");
        assert!(
            (e - e_ref).abs() < 1e-5 * abs_sum,
            "dim {dim}: energy {e} vs reference {e_ref}"
        );
    }
}

/// A vector-field model's outputs are the forces, times the scale, with the
/// same bits as a direct batched forward pass of the same model; the term's
/// energy is 0. Also checks the output against the f64 reference (1e-5
/// relative to the output's norm: one f32 forward pass, ~1e-6).
#[test]
fn vector_field_outputs_are_the_forces() {
    let _g = exclusive();
    let dim = 3;
    let n = 100;
    let scale = -0.5;
    let net = smooth_net(dim, dim, 21);
    let mut ff = open_field(dim, n);
    let id = ff
        .add_neural_field(net.model(0), dim, dim, NeuralMode::VectorField, scale)
        .unwrap();
    let mut s = random_state(dim, n, 1.5, 5);
    let f = forces(&mut ff, &mut s);
    let mut model = net.model(0);
    let input: Vec<f32> = (0..n)
        .flat_map(|i| [s.x[i] as f32, s.y[i] as f32, s.z[i] as f32])
        .collect();
    let mut out = vec![0f32; n * dim];
    model.forward(&input, &mut out).unwrap();
    for i in 0..n {
        let r = [s.x[i], s.y[i], s.z[i]];
        let v = net.eval(&r);
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        for a in 0..dim {
            assert_eq!(
                f[a][i].to_bits(),
                (scale * f64::from(out[i * dim + a])).to_bits(),
                "particle {i} component {a}"
            );
            assert!((f[a][i] - scale * v[a]).abs() < 1e-5 * norm.abs().max(1e-12) * scale.abs());
        }
    }
    assert_eq!(ff.term_energy(id).unwrap().0, 0.0);
}

/// Wrong model shapes and parameters are rejected before anything changes.
#[test]
fn mismatched_models_are_rejected() {
    let _g = exclusive();
    let mut ff = open_field(3, 10);
    let scalar2 = smooth_net(2, 1, 1);
    let vec2 = smooth_net(3, 2, 1);
    assert!(ff
        .add_neural_field(scalar2.model(0), 2, 1, NeuralMode::Potential, 1.0)
        .is_err());
    assert!(ff
        .add_neural_field(vec2.model(0), 3, 2, NeuralMode::VectorField, 1.0)
        .is_err());
    assert!(ff
        .add_neural_field(vec2.model(0), 3, 2, NeuralMode::Potential, 1.0)
        .is_err());
    let ok = smooth_net(3, 1, 2);
    assert!(ff
        .add_neural_field(ok.model(0), 3, 1, NeuralMode::Potential, f64::NAN)
        .is_err());
    assert_eq!(ff.term_count(), 0);
    ff.add_neural_field(ok.model(0), 3, 1, NeuralMode::Potential, 1.0)
        .unwrap();
    // Batch terms coexist: a second neural term is accepted.
    assert_eq!(
        ff.add_neural_field(ok.model(0), 3, 1, NeuralMode::Potential, 1.0)
            .unwrap(),
        1
    );
    assert_eq!(ff.term_count(), 2);
}

/// Trajectory in a harmonic trap (k = 1, keeps particles where the network
/// was sampled) plus a neural potential (scale 1): `n` independent particles.
fn trapped(n: usize, seed: u64) -> (State, ForceField, RefNet) {
    let net = smooth_net(3, 1, seed);
    let mut ff = open_field(3, n);
    ff.add_trap(Trap::Harmonic {
        k: 1.0,
        centre: [0.0; 3],
    })
    .unwrap();
    ff.add_neural_field(net.model(0), 3, 1, NeuralMode::Potential, 1.0)
        .unwrap();
    let s = random_state(3, n, 1.5, seed + 1);
    (s, ff, net)
}

fn total_energy(ff: &mut ForceField, s: &mut State) -> f64 {
    let _ = forces(ff, s);
    ff.totals().0 + 0.5 * s.mv2()
}

/// Velocity Verlet in trap + neural potential conserves energy: over 20000
/// steps at dt = 0.01 (about 30 oscillation periods), the mean energy over
/// the last 20 samples differs from the first 20 by < 1e-4 relative, and
/// no sample deviates by more than 1e-3 relative. Estimates: the
/// shadow-Hamiltonian fluctuation is ~(omega dt)^2 / 8 ~ 1e-5 relative for
/// omega ~ 1-2; the f32 model makes force and energy consistent only to
/// ~1e-6 relative per particle, whose non-conservative part does work that
/// averages out along the trajectory (bounded by ~1e-6 x path length x
/// force, ~1e-5). A force of wrong sign or scale makes the total energy
/// change at O(1) relative within a period.
#[test]
fn verlet_conserves_energy_in_a_smooth_neural_potential() {
    let _g = exclusive();
    let (mut s, mut ff, _) = trapped(64, 31);
    let mut vv = VelocityVerlet::new(3, s.n(), 0.01).unwrap();
    let mut e = Vec::new();
    let mut step = 0u64;
    e.push(total_energy(&mut ff, &mut s));
    for _ in 0..200 {
        vv.step(Some(&mut ff), &mut s.view(), step, 100).1.unwrap();
        step += 100;
        e.push(total_energy(&mut ff, &mut s));
    }
    let (drift, excursion) = energy_drift_and_excursion(&e, 20);
    println!(
        "E0 = {}, drift = {drift:e}, max excursion = {excursion:e}",
        e[0]
    );
    assert!(drift < 1e-4, "relative drift {drift:e}");
    assert!(excursion < 1e-3, "relative excursion {excursion:e}");
}

/// Steps with a neural term allocate nothing (buffers reserved when the
/// term is added, model workspaces when the model is created).
#[test]
fn steps_with_a_neural_term_allocate_nothing() {
    let _g = exclusive();
    let (mut s, mut ff, _) = trapped(200, 41);
    let mut vv = VelocityVerlet::new(3, s.n(), 0.01).unwrap();
    vv.step(Some(&mut ff), &mut s.view(), 0, 5).1.unwrap();
    let mut step = 5;
    let allocs = fewest_allocations(|| {
        vv.step(Some(&mut ff), &mut s.view(), step, 10).1.unwrap();
        step += 10;
    });
    assert_eq!(allocs, 0, "allocations in 10 steps");
}

/// 300 particles (5 model tiles split over the model's task slots): the
/// trajectory on 1 thread and on 2 threads is bitwise identical.
#[test]
fn neural_term_trajectories_are_bitwise_identical_on_1_and_2_threads() {
    let _g = exclusive();
    let before = fieldkern::parallel::num_threads();
    let run = |threads: usize| {
        fieldkern::parallel::set_num_threads(threads).unwrap();
        let (mut s, mut ff, _) = trapped(300, 51);
        let mut vv = VelocityVerlet::new(3, s.n(), 0.01).unwrap();
        vv.step(Some(&mut ff), &mut s.view(), 0, 200).1.unwrap();
        let e = total_energy(&mut ff, &mut s);
        (s, e.to_bits())
    };
    let one = run(1);
    let two = run(2);
    fieldkern::parallel::set_num_threads(before).unwrap();
    assert!(one == two, "1- and 2-thread trajectories differ");
}
