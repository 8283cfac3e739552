//! Input gradients and Jacobians of the neural-field kernel against central
//! finite differences of the independent f64 reference (tests/nf_ref), for
//! every activation and encoding, with and without a skip connection.

mod nf_ref;
mod support;

use fieldkern::nf::Activation;
use nf_ref::{encodings, random_net, random_points, RefNet, TestRng, ALL_ACTIVATIONS};
use support::alloc::exclusive;

/// Worst `|J - J_fd| / max(|J_fd row|, ...)` over a batch: each component's
/// error relative to the norm of its output's gradient at that point.
fn worst_jacobian_error(net: &RefNet, n: usize, rng: &mut TestRng) -> f64 {
    let mut model = net.model(0);
    let (d, m) = (net.input_width(), model.out_dim());
    let x = random_points(n, d, rng);
    let (mut y, mut jac) = (vec![0f32; n * m], vec![0f32; n * m * d]);
    if m == 1 {
        model.gradient(&x, &mut y, &mut jac).unwrap();
    } else {
        model.jacobian(&x, &mut y, &mut jac).unwrap();
    }
    let mut worst = 0f64;
    let mut checked = 0;
    for p in 0..n {
        let xp: Vec<f64> = x[p * d..(p + 1) * d]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        // ReLU kinks: a step of 1e-5 moves z by at most ~1e-4 here (|dz/dx|
        // < 10 for these weights), so points closer than 1e-3 are skipped.
        if net.min_abs_kink_preactivation(&xp) < 1e-3 {
            continue;
        }
        checked += 1;
        let fd = net.jacobian_fd(&xp);
        for o in 0..m {
            let norm = fd[o].iter().map(|v| v * v).sum::<f64>().sqrt();
            for k in 0..d {
                let got = f64::from(jac[p * m * d + o * d + k]);
                worst = worst.max((got - fd[o][k]).abs() / norm.max(1e-12));
            }
        }
    }
    assert!(
        checked >= n / 2,
        "only {checked} of {n} points away from ReLU kinks"
    );
    worst
}

/// Tolerance 1e-4 relative to the gradient norm at the point. The f64 finite
/// differences are exact to ~1e-9 here (see `jacobian_fd`), so the error is
/// the kernel's f32 rounding: the backward pass is one more chain of dot
/// products (K <= 44 terms, ~sqrt(K) u = 4e-7 each) multiplied by activation
/// derivatives, and for SIREN by omega_0 = 30 per layer (30 * 3 layers of
/// rounding ~ 4e-5 worst case); Fourier / positional phases add
/// |2 pi B x| u ~ 1e-6. A wrong derivative formula gives errors of order 1.
fn check_all(out_dim: usize, hidden: &[usize], skip_layer: usize) {
    let mut rng = TestRng(10 + out_dim as u64);
    let mut failures = Vec::new();
    for enc in encodings(3, &mut rng) {
        for act in ALL_ACTIVATIONS {
            for skip in [None, Some(skip_layer)] {
                let net = random_net(3, enc.clone(), hidden, out_dim, act, skip, &mut rng);
                let err = worst_jacobian_error(&net, 67, &mut rng);
                if err.is_nan() || err > 1e-4 {
                    failures.push(format!("{enc:?} {act:?} skip {skip:?}: {err:.3e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "derivative errors above 1e-4:\n{}",
        failures.join("\n")
    );
}

#[test]
fn scalar_gradient_matches_f64_finite_differences_for_every_activation_encoding_and_skip() {
    let _g = exclusive();
    check_all(1, &[21, 14, 9], 2);
}

#[test]
fn jacobian_matches_f64_finite_differences_for_every_activation_encoding_and_skip() {
    let _g = exclusive();
    // Ten outputs: e.g. the independent components of a symmetric 4x4 metric.
    check_all(10, &[19, 13], 1);
}

/// Gradients with respect to coordinates and latent code through the
/// concatenation and FiLM (dL/dgamma = d z, dL/dbeta = d) against f64 central
/// differences; tolerance as above. ReLU-type activations are left out here
/// (their kinks are handled by the unconditioned tests).
#[test]
fn conditioned_jacobian_matches_f64_finite_differences_for_concat_and_film() {
    let _g = exclusive();
    let mut rng = TestRng(21);
    let mut failures = Vec::new();
    for enc in encodings(3, &mut rng) {
        for act in ALL_ACTIVATIONS
            .into_iter()
            .filter(|a| !matches!(a, Activation::Relu | Activation::LeakyRelu(_)))
        {
            for (concat, film, skip, out) in [
                (true, vec![], Some(1), 1),
                (false, vec![0, 1], None, 3),
                (true, vec![1, 2], Some(2), 1),
            ] {
                let mut net = random_net(3, enc.clone(), &[17, 11], out, act, skip, &mut rng);
                net.condition(4, concat, &film, &mut rng);
                let err = worst_jacobian_error(&net, 41, &mut rng);
                if err.is_nan() || err > 1e-4 {
                    failures.push(format!(
                        "{enc:?} {act:?} concat {concat} film {film:?}: {err:.3e}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "conditioned derivative errors above 1e-4:\n{}",
        failures.join("\n")
    );
}
