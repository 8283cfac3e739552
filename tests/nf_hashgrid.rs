//! Multiresolution hash-grid encoding: forward against an independent f64
//! implementation of Instant-NGP's encoding (dense and hashed levels, 2D and
//! 3D), input gradients against f64 central differences, and tiling/thread
//! invariance.
#![allow(clippy::needless_range_loop)]

mod nf_ref;
mod support;

use fieldkern::nf::hashgrid::HashGrid;
use fieldkern::nf::{Activation, Encoding, Model};
use fieldkern::parallel::set_num_threads;
use nf_ref::{random_net, RefNet, TestRng};
use support::alloc::exclusive;

/// Instant-NGP's encoding in f64, written from the paper.
fn hash_encode(g: &HashGrid, x: &[f64]) -> Vec<f64> {
    let t = 1u64 << g.log2_table;
    let primes = [1u64, 2_654_435_761, 805_459_861];
    let mut out = Vec::new();
    for l in 0..g.levels {
        let n = (f64::from(g.base_resolution) * f64::from(g.growth).powi(l as i32)).floor();
        let dense = (n + 1.0).powi(g.dims as i32) <= t as f64;
        let p: Vec<f64> = x.iter().map(|&v| v.clamp(0.0, 1.0) * n).collect();
        let cell: Vec<f64> = p
            .iter()
            .map(|&v| if v >= n { n - 1.0 } else { v.floor() })
            .collect();
        let mut acc = vec![0.0; g.features];
        for corner in 0..(1u32 << g.dims) {
            let mut w = 1.0;
            let mut idx_dense = 0u64;
            let mut stride = 1u64;
            let mut h = 0u64;
            for k in 0..g.dims {
                let bit = f64::from((corner >> k) & 1);
                let c = cell[k] + bit;
                let f = p[k] - cell[k];
                w *= if bit == 1.0 { f } else { 1.0 - f };
                idx_dense += c as u64 * stride;
                stride *= n as u64 + 1;
                h ^= (c as u64 * primes[k]) & 0xFFFF_FFFF;
            }
            let index = if dense { idx_dense } else { h % t };
            let base = ((l as u64 * t + index) as usize) * g.features;
            for f in 0..g.features {
                acc[f] += w * f64::from(g.table[base + f]);
            }
        }
        out.extend(acc);
    }
    out
}

fn grid(dims: usize, rng: &mut TestRng) -> HashGrid {
    // 6 levels from 4 to 4 * 1.8^5 = 75: the coarse ones dense, the fine
    // ones hashed into 2^10 slots.
    let (levels, features, log2_table) = (6, 2, 10);
    let table: Vec<f32> = (0..levels * (1 << log2_table) * features)
        .map(|_| rng.sym(1e-1) as f32)
        .collect();
    HashGrid::new(dims, levels, features, log2_table, 4, 1.8, &table).unwrap()
}

fn net_with(g: &HashGrid, rng: &mut TestRng) -> (RefNet, Model) {
    let mut net = random_net(
        g.dims,
        Encoding::Identity,
        &[16],
        1,
        Activation::Tanh,
        None,
        rng,
    );
    // Re-wire the first layer to the grid's width.
    let enc_dim = g.output_dim();
    let l0 = &mut net.layers[0];
    l0.in_dim = enc_dim;
    l0.w = (0..l0.out_dim * enc_dim)
        .map(|_| rng.sym(1.0) as f32)
        .collect();
    net.encoding = Encoding::HashGrid(Box::new(g.clone()));
    let model = net.model(0);
    (net, model)
}

/// Reference forward of the whole field using the f64 hash encoding.
fn eval_ref(net: &RefNet, g: &HashGrid, x: &[f64]) -> f64 {
    let mut h = hash_encode(g, x);
    for layer in &net.layers {
        h = (0..layer.out_dim)
            .map(|o| {
                let z = f64::from(layer.b[o])
                    + (0..layer.in_dim)
                        .map(|i| f64::from(layer.w[o * layer.in_dim + i]) * h[i])
                        .sum::<f64>();
                nf_ref::act_ref(layer.act, z)
            })
            .collect();
    }
    h[0]
}

fn points(n: usize, d: usize, rng: &mut TestRng) -> Vec<f32> {
    (0..n * d).map(|_| (0.5 + rng.sym(0.49)) as f32).collect()
}

/// A random field on `g` (from `rng`) evaluated at `x` by the library's
/// tiled forward pass equals [`eval_ref`] to 1e-5 (see below).
fn model_matches_reference(g: &HashGrid, x: &[f32], rng: &mut TestRng) {
    let dims = g.dims;
    let n = x.len() / dims;
    let (net, mut model) = net_with(g, rng);
    let mut y = vec![0f32; n];
    model.forward(x, &mut y).unwrap();
    for p in 0..n {
        let xp: Vec<f64> = x[p * dims..(p + 1) * dims]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let want = eval_ref(&net, g, &xp);
        assert!(
            (f64::from(y[p]) - want).abs() < 1e-5,
            "{dims}D point {p}: {} vs {want}",
            y[p]
        );
    }
}

/// Tolerance 1e-5 absolute on outputs of size ~0.1..1: the f32 blend of 4..8
/// corners per level (weights products of <= 3 fractions, ~4 u each) and the
/// scaled position x N (<= 75, so frac carries ~75 u = 5e-6 absolute error,
/// times table values <= 0.1 and first-layer weights <= 1 over 12 inputs).
#[test]
fn hash_grid_forward_matches_f64_instant_ngp_encoding_in_2d_and_3d() {
    let _g = exclusive();
    let mut rng = TestRng(41);
    for dims in [2, 3] {
        let g = grid(dims, &mut rng);
        let x = points(300, dims, &mut rng);
        model_matches_reference(&g, &x, &mut rng);
    }
}

/// Instant-NGP's rule at its boundary: a level whose `(N_l + 1)^d` vertices
/// fill the table exactly (N = 31 in 2D with 2^10 slots, N = 7 in 3D with
/// 2^9) is dense, one slot per vertex, not hashed. Encodings of one point
/// (`encode_point`) and the tiled forward of a model over 300 points against
/// the f64 reference, to 1e-5 as above; the second level (N x 1.5) is hashed.
#[test]
fn hash_grid_level_that_exactly_fills_its_table_is_dense() {
    let _g = exclusive();
    let mut rng = TestRng(43);
    for (dims, res, log2_table) in [(2usize, 31u32, 10u32), (3, 7, 9)] {
        assert_eq!((res as usize + 1).pow(dims as u32), 1 << log2_table);
        let (levels, features) = (2, 2);
        let table: Vec<f32> = (0..levels * (1 << log2_table) * features)
            .map(|_| rng.sym(1e-1) as f32)
            .collect();
        let g = HashGrid::new(dims, levels, features, log2_table, res, 1.5, &table).unwrap();
        let n = 300;
        let x = points(n, dims, &mut rng);
        let mut enc = vec![0f32; g.output_dim()];
        for p in 0..n {
            let xp = &x[p * dims..(p + 1) * dims];
            g.encode_point(xp, &mut enc);
            let want = hash_encode(&g, &xp.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
            for (k, (&e, &w)) in enc.iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(e) - w).abs() < 1e-5,
                    "{dims}D point {p} output {k}: {e} vs {w}"
                );
            }
        }
        model_matches_reference(&g, &x, &mut rng);
    }
}

/// Gradient against f64 central differences (h = 1e-6) of the reference at
/// points at least 1e-4 (in cell units) away from every cell face, where the
/// multilinear blend is smooth. Tolerance 1e-4 of the gradient norm: the f32
/// derivative carries the ~75 u position error times N = 75 (~3e-4
/// relative to one level's slope, averaged over 6 levels and 16 hidden units).
#[test]
fn hash_grid_gradient_matches_f64_finite_differences() {
    let _g = exclusive();
    let mut rng = TestRng(42);
    for dims in [2, 3] {
        let g = grid(dims, &mut rng);
        let (net, mut model) = net_with(&g, &mut rng);
        let n = 200;
        let x = points(n, dims, &mut rng);
        let (mut y, mut grad) = (vec![0f32; n], vec![0f32; n * dims]);
        model.gradient(&x, &mut y, &mut grad).unwrap();
        let mut checked = 0;
        for p in 0..n {
            let xp: Vec<f64> = x[p * dims..(p + 1) * dims]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let near_face = g.resolution.iter().any(|&r| {
                xp.iter().any(|&v| {
                    let f = (v * f64::from(r)).fract();
                    !(1e-4..=1.0 - 1e-4).contains(&f)
                })
            });
            if near_face {
                continue;
            }
            checked += 1;
            let h = 1e-6;
            let fd: Vec<f64> = (0..dims)
                .map(|k| {
                    let (mut a, mut b) = (xp.clone(), xp.clone());
                    a[k] += h;
                    b[k] -= h;
                    (eval_ref(&net, &g, &a) - eval_ref(&net, &g, &b)) / (2.0 * h)
                })
                .collect();
            let norm = fd.iter().map(|v| v * v).sum::<f64>().sqrt();
            for k in 0..dims {
                let got = f64::from(grad[p * dims + k]);
                assert!(
                    (got - fd[k]).abs() < 1e-4 * norm.max(1e-3),
                    "{dims}D point {p}: {got} vs {}",
                    fd[k]
                );
            }
        }
        assert!(checked > n / 2, "{checked} points checked");
    }
}

#[test]
fn hash_grid_results_do_not_depend_on_tiling_or_threads() {
    let _g = exclusive();
    let mut rng = TestRng(43);
    let g = grid(3, &mut rng);
    let (_, mut model) = net_with(&g, &mut rng);
    let n = 1000;
    let x = points(n, 3, &mut rng);
    set_num_threads(1).unwrap();
    let mut a = vec![0f32; n];
    model.forward(&x, &mut a).unwrap();
    set_num_threads(2).unwrap();
    let mut b = vec![0f32; n];
    model.forward(&x, &mut b).unwrap();
    assert_eq!(a, b);
    let mut c = vec![0f32; 7];
    model.forward(&x[3 * 500..3 * 507], &mut c).unwrap();
    assert_eq!(&c[..], &a[500..507]);
}
