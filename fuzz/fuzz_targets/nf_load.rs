//! Fuzzes the safe loader `fieldkern::nf::load::model_from_safetensors`
//! (safetensors bytes with the schema-1 architecture in the metadata).
//! Every model that loads is then run: forward passes of 70 points (one
//! 64-point lane tile plus a 6-point tail on the per-point path) and of the
//! first 3 of them, and the gradient (scalar fields) or Jacobian, with
//! inputs inside, outside and far outside [0, 1] and a NaN. Oracles: no
//! panic, no out-of-bounds access, no abort; a documented batch-split
//! invariance (the 3-point call gives the same bits as the first 3 points
//! of the 70-point call); the values returned with the derivatives equal
//! the forward values bitwise.
#![no_main]

use fieldkern::nf::load::model_from_safetensors;
use fieldkern::nf::Model;
use libfuzzer_sys::fuzz_target;

/// Input coordinates: a fixed pattern covering the unit cube, its
/// neighbourhood, huge values and one NaN.
fn inputs(n: usize, in_dim: usize) -> Vec<f32> {
    (0..n * in_dim)
        .map(|i| match i % 23 {
            0 => f32::NAN,
            1 => 1.0e30,
            2 => -3.5,
            3 => 1.5,
            k => (k as f32 * 0.618_034).fract(),
        })
        .collect()
}

fn run(model: &mut Model) {
    let (in_dim, out_dim) = (model.in_dim(), model.out_dim());
    const N: usize = 70;
    let x = inputs(N, in_dim);
    let mut y = vec![0f32; N * out_dim];
    model
        .forward(&x, &mut y)
        .expect("forward with matching sizes");
    let mut y3 = vec![0f32; 3 * out_dim];
    model
        .forward(&x[..3 * in_dim], &mut y3)
        .expect("forward with matching sizes");
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&y3),
        bits(&y[..3 * out_dim]),
        "batch split changed bits"
    );
    // Jacobians are N * out_dim * in_dim floats; keep them bounded.
    if out_dim * in_dim <= 1 << 16 {
        let mut v = vec![0f32; N * out_dim];
        let mut jac = vec![0f32; N * out_dim * in_dim];
        if out_dim == 1 {
            model.gradient(&x, &mut v, &mut jac).expect("gradient");
        } else {
            model.jacobian(&x, &mut v, &mut jac).expect("jacobian");
        }
        assert_eq!(bits(&v), bits(&y), "derivative pass changed the values");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(mut model) = model_from_safetensors(data, 1) {
        run(&mut model);
    }
});
