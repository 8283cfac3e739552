//! EGNN layer: E(3) equivariance (rotations, reflections, translations move
//! x' with the inputs and leave h' unchanged), agreement with an f64
//! reference built from the independent MLP reference (tests/nf_ref), the
//! cutoff, determinism and zero allocations.
#![allow(clippy::needless_range_loop)]

mod nf_ref;
mod support;

use fieldkern::nf::egnn::{Egnn, EgnnSpec};
use fieldkern::nf::{Activation, Encoding, LayerSpec};
use fieldkern::parallel::set_num_threads;
use nf_ref::{fewest_allocations, random_net, RefNet, TestRng};
use support::alloc::exclusive;

const F: usize = 6;
const M: usize = 8;

struct Nets {
    e: RefNet,
    x: RefNet,
    h: RefNet,
}

fn nets(rng: &mut TestRng) -> Nets {
    let mk = |i, o, rng: &mut TestRng| {
        random_net(i, Encoding::Identity, &[16], o, Activation::Silu, None, rng)
    };
    Nets {
        e: mk(2 * F + 1, M, rng),
        x: mk(M, 1, rng),
        h: mk(F + M, F, rng),
    }
}

fn specs(net: &RefNet) -> Vec<LayerSpec<'_>> {
    net.spec(0).layers
}

fn layer(n: &Nets, cutoff: f32, max_nodes: usize) -> Egnn {
    Egnn::new(&EgnnSpec {
        features: F,
        message_dim: M,
        phi_e: specs(&n.e),
        phi_x: specs(&n.x),
        phi_h: specs(&n.h),
        cutoff,
        coord_scale: 0.1,
        residual: true,
        max_nodes,
    })
    .unwrap()
}

fn run(g: &mut Egnn, x: &[f32], h: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (mut xo, mut ho) = (vec![0f32; x.len()], vec![0f32; h.len()]);
    g.forward(x, h, &mut xo, &mut ho).unwrap();
    (xo, ho)
}

/// The paper's equations in f64 with the reference MLPs.
fn reference(n: &Nets, x: &[f32], h: &[f32], cutoff: f64) -> (Vec<f64>, Vec<f64>) {
    let nn = x.len() / 3;
    let xd: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let hd: Vec<f64> = h.iter().map(|&v| f64::from(v)).collect();
    let mut xo = xd.clone();
    let mut agg = vec![vec![0.0; M]; nn];
    for i in 0..nn {
        for j in 0..nn {
            let d2: f64 = (0..3)
                .map(|c| (xd[3 * i + c] - xd[3 * j + c]).powi(2))
                .sum();
            if i == j || d2 > cutoff * cutoff {
                continue;
            }
            let mut inp = hd[i * F..(i + 1) * F].to_vec();
            inp.extend_from_slice(&hd[j * F..(j + 1) * F]);
            inp.push(d2);
            let m = n.e.eval(&inp);
            let w = n.x.eval(&m)[0];
            for c in 0..3 {
                xo[3 * i + c] += 0.1 * (xd[3 * i + c] - xd[3 * j + c]) * w;
            }
            for k in 0..M {
                agg[i][k] += m[k];
            }
        }
    }
    let mut ho = Vec::new();
    for i in 0..nn {
        let mut inp = hd[i * F..(i + 1) * F].to_vec();
        inp.extend_from_slice(&agg[i]);
        let out = n.h.eval(&inp);
        ho.extend(out.iter().zip(&hd[i * F..(i + 1) * F]).map(|(a, b)| a + b));
    }
    (xo, ho)
}

fn graph(nn: usize, rng: &mut TestRng) -> (Vec<f32>, Vec<f32>) {
    let x = (0..3 * nn).map(|_| rng.sym(1.5) as f32).collect();
    let h = (0..nn * F).map(|_| rng.sym(1.0) as f32).collect();
    (x, h)
}

/// An orthogonal matrix from Euler angles, optionally times a reflection.
fn orthogonal(a: f64, b: f64, c: f64, reflect: bool) -> [[f64; 3]; 3] {
    let rz = |t: f64| {
        [
            [t.cos(), -t.sin(), 0.0],
            [t.sin(), t.cos(), 0.0],
            [0.0, 0.0, 1.0],
        ]
    };
    let rx = |t: f64| {
        [
            [1.0, 0.0, 0.0],
            [0.0, t.cos(), -t.sin()],
            [0.0, t.sin(), t.cos()],
        ]
    };
    let mul = |p: [[f64; 3]; 3], q: [[f64; 3]; 3]| {
        let mut r = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                r[i][j] = (0..3).map(|k| p[i][k] * q[k][j]).sum();
            }
        }
        r
    };
    let mut q = mul(mul(rz(a), rx(b)), rz(c));
    if reflect {
        for row in q.iter_mut() {
            row[2] = -row[2];
        }
    }
    q
}

fn transform(q: &[[f64; 3]; 3], t: [f64; 3], x: &[f64]) -> Vec<f64> {
    x.chunks_exact(3)
        .flat_map(|p| (0..3).map(move |i| (0..3).map(|k| q[i][k] * p[k]).sum::<f64>() + t[i]))
        .collect()
}

/// Tolerance 1e-5 of the coordinate scale (|x| <= 2.6) and of the feature
/// scale (~1): the transformed inputs are rounded to f32 (2^-24 |x|), which
/// moves squared distances by ~1e-7 relative; the MLPs (SiLU, PyTorch init)
/// are contractive, and the f32 sums over <= 19 neighbours add ~sqrt(19) u.
/// Expected differences are ~1e-6; a non-equivariant update (e.g. using x_i
/// instead of x_i - x_j) is off by O(0.1).
#[test]
fn egnn_is_equivariant_under_rotations_reflections_and_translations() {
    let _g = exclusive();
    let mut rng = TestRng(31);
    let n = nets(&mut rng);
    let (x, h) = graph(20, &mut rng);
    let mut g = layer(&n, f32::INFINITY, 20);
    let (xo, ho) = run(&mut g, &x, &h);
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let xo64: Vec<f64> = xo.iter().map(|&v| f64::from(v)).collect();
    for (q, t) in [
        (orthogonal(0.3, 1.1, -0.7, false), [0.0, 0.0, 0.0]),
        (orthogonal(2.0, -0.4, 0.9, true), [0.0, 0.0, 0.0]),
        (orthogonal(0.0, 0.0, 0.0, false), [1.5, -2.0, 0.7]),
        (orthogonal(-1.2, 0.5, 2.2, true), [-0.8, 0.3, 1.9]),
    ] {
        let xt: Vec<f32> = transform(&q, t, &x64).iter().map(|&v| v as f32).collect();
        let (xto, hto) = run(&mut g, &xt, &h);
        let want = transform(&q, t, &xo64);
        for (a, b) in xto.iter().zip(&want) {
            assert!((f64::from(*a) - b).abs() < 1e-5 * 2.6, "x': {a} vs {b}");
        }
        for (a, b) in hto.iter().zip(&ho) {
            assert!((a - b).abs() < 1e-5, "h': {a} vs {b}");
        }
    }
}

/// Against the f64 reference, with a cutoff that leaves some pairs out (no
/// pair lies within 1e-3 of it, so f32 rounding cannot flip an edge).
/// Tolerance as above.
#[test]
fn egnn_matches_f64_reference_with_cutoff() {
    let _g = exclusive();
    let mut rng = TestRng(32);
    let n = nets(&mut rng);
    let (x, h) = graph(17, &mut rng);
    let cutoff = 1.8;
    let mut close = 0;
    let mut out_of_range = 0;
    for i in 0..17 {
        for j in 0..17 {
            let d: f64 = (0..3)
                .map(|c| f64::from(x[3 * i + c] - x[3 * j + c]).powi(2))
                .sum::<f64>()
                .sqrt();
            close += usize::from((d - cutoff).abs() < 1e-3);
            out_of_range += usize::from(d > cutoff);
        }
    }
    assert_eq!(close, 0);
    assert!(out_of_range > 20, "the cutoff must matter");
    let mut g = layer(&n, cutoff as f32, 32);
    let (xo, ho) = run(&mut g, &x, &h);
    let (xr, hr) = reference(&n, &x, &h, cutoff);
    for (a, b) in xo.iter().zip(&xr) {
        assert!((f64::from(*a) - b).abs() < 1e-5 * 2.6, "{a} vs {b}");
    }
    for (a, b) in ho.iter().zip(&hr) {
        assert!(
            (f64::from(*a) - b).abs() < 1e-5 * b.abs().max(1.0),
            "{a} vs {b}"
        );
    }
}

#[test]
fn egnn_is_thread_invariant_allocation_free_and_checks_capacity() {
    let _g = exclusive();
    let mut rng = TestRng(33);
    let n = nets(&mut rng);
    let (x, h) = graph(64, &mut rng);
    let mut g = layer(&n, 2.0, 64);
    set_num_threads(1).unwrap();
    let one = run(&mut g, &x, &h);
    set_num_threads(2).unwrap();
    let two = run(&mut g, &x, &h);
    assert_eq!(one, two);
    let (mut xo, mut ho) = (vec![0f32; x.len()], vec![0f32; h.len()]);
    let allocs = fewest_allocations(|| g.forward(&x, &h, &mut xo, &mut ho).unwrap());
    assert_eq!(allocs, 0);
    let (x2, h2) = graph(65, &mut rng);
    let (mut xo2, mut ho2) = (vec![0f32; x2.len()], vec![0f32; h2.len()]);
    let e = g.forward(&x2, &h2, &mut xo2, &mut ho2).unwrap_err();
    assert_eq!(e.kind, fieldkern::error::ErrorKind::Capacity);
}
