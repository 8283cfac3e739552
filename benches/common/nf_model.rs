//! The benchmark network of issue 5, shared by benches/nf.rs and
//! benches/nf_forcefield.rs: R^3 -> Fourier features (48 frequencies, 96
//! dims) -> 3 x 64 SiLU -> 1, weights from a fixed LCG (the same numbers
//! benches/torch_baseline.py builds), and the benchmark points.

use fieldkern::nf::{Activation, Encoding, LayerSpec, Model, ModelSpec};

pub struct Weights {
    pub b: Vec<f32>,
    pub layers: Vec<(usize, Vec<f32>, Vec<f32>, Activation)>,
}

pub fn weights() -> Weights {
    let mut s = 0x1234_5678u64;
    let mut r = |a: f32| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a
    };
    let b = (0..48 * 3).map(|_| r(4.0)).collect();
    let mut layers = Vec::new();
    let mut prev = 96;
    for (width, act) in [
        (64, Activation::Silu),
        (64, Activation::Silu),
        (64, Activation::Silu),
        (1, Activation::Identity),
    ] {
        let bound = 1.0 / (prev as f32).sqrt();
        let w = (0..width * prev).map(|_| r(bound)).collect();
        let bias = (0..width).map(|_| r(bound)).collect();
        layers.push((width, w, bias, act));
        prev = width;
    }
    Weights { b, layers }
}

pub fn model(w: &Weights) -> Model {
    Model::new(&ModelSpec {
        in_dim: 3,
        encoding: Encoding::fourier(&w.b, 48, 3).unwrap(),
        skip_layer: None,
        layers: w
            .layers
            .iter()
            .map(|(o, wt, b, a)| LayerSpec {
                out_dim: *o,
                activation: *a,
                weight: wt,
                bias: Some(b),
            })
            .collect(),
        task_slots: 0,
        ..ModelSpec::conditioning_none()
    })
    .unwrap()
}

/// A pseudo-random pattern in [-1, 1)^3, `3 n` coordinates.
pub fn points(n: usize) -> Vec<f32> {
    (0..3 * n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}
