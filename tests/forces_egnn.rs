//! EGNN force term (latent force-field models): its forces are the EGNN
//! layer's coordinate update (against the layer's own forward pass and an
//! independent f64 reference), they rotate, reflect and translate with the
//! configuration (open and periodic boxes, 2D and 3D), single-type forces
//! are pairwise antisymmetric, an EGNN term and a neural-field term in one
//! force field add up exactly, and trajectories allocate nothing, do not
//! depend on the thread count and can be split and resumed bitwise.
#![allow(clippy::needless_range_loop)]

mod nf_ref;
mod particles_util;
mod support;

use fieldkern::forces::{ForceField, ForceFieldParams, NeuralMode, TermKind};
use fieldkern::integrate::langevin::{Baoab, LangevinParams};
use fieldkern::integrate::verlet::VelocityVerlet;
use fieldkern::integrate::SimBox;
use fieldkern::nf::egnn::{Egnn, EgnnSpec};
use fieldkern::nf::{Activation, Encoding};
use nf_ref::{fewest_allocations, random_net, RefNet, TestRng};
use particles_util::State;
use support::alloc::exclusive;

const F: usize = 4;
const M: usize = 8;
const C: f32 = 0.1;

struct Nets {
    e: RefNet,
    x: RefNet,
    h: RefNet,
}

fn nets(seed: u64) -> Nets {
    let mut rng = TestRng(seed);
    let mut mk = |i, o| {
        random_net(
            i,
            Encoding::Identity,
            &[16],
            o,
            Activation::Silu,
            None,
            &mut rng,
        )
    };
    Nets {
        e: mk(2 * F + 1, M),
        x: mk(M, 1),
        h: mk(F + M, F),
    }
}

fn layer(n: &Nets, cutoff: f32, max_nodes: usize) -> Egnn {
    Egnn::new(&EgnnSpec {
        features: F,
        message_dim: M,
        phi_e: n.e.spec(0).layers,
        phi_x: n.x.spec(0).layers,
        phi_h: n.h.spec(0).layers,
        cutoff,
        coord_scale: C,
        residual: true,
        max_nodes,
    })
    .unwrap()
}

/// Two types with distinct features.
fn table() -> Vec<f32> {
    let mut rng = TestRng(99);
    (0..2 * F).map(|_| rng.sym(1.0) as f32).collect()
}

fn field(sbox: SimBox, n: usize) -> ForceField {
    ForceField::new(ForceFieldParams {
        sbox,
        ntypes: 2,
        capacity: n,
        skin: 0.0,
        max_neighbors: 1,
    })
    .unwrap()
}

/// Positions exactly representable in f32 (so the layer's f32 forward sees
/// the same positions), two types.
fn random_state(dim: usize, n: usize, half_width: f64, seed: u64) -> State {
    let mut rng = TestRng(seed);
    let mut s = State::new(dim, n);
    for i in 0..n {
        s.x[i] = f64::from(rng.sym(half_width) as f32);
        s.y[i] = f64::from(rng.sym(half_width) as f32);
        if dim == 3 {
            s.z[i] = f64::from(rng.sym(half_width) as f32);
        }
        s.vx[i] = rng.sym(0.3);
        s.vy[i] = rng.sym(0.3);
        if dim == 3 {
            s.vz[i] = rng.sym(0.3);
        }
    }
    s.types = (0..n)
        .map(|i| match i % 3 {
            0 => 1,
            _ => 0,
        })
        .collect();
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

fn pos3(s: &State, i: usize) -> [f64; 3] {
    [s.x[i], s.y[i], if s.dim == 3 { s.z[i] } else { 0.0 }]
}

fn max_abs(f: &[Vec<f64>; 3]) -> f64 {
    f.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// The f64 reference of the paper's coordinate update (open box) with the
/// independent reference MLPs: `(delta_i, S_i = sum_j |C w_ij| |r_ij|_inf)`.
fn reference(n: &Nets, s: &State, tab: &[f32], cutoff: f64) -> Vec<([f64; 3], f64)> {
    let nn = s.n();
    let h = |i: usize| -> Vec<f64> {
        let t = s.types[i] as usize;
        tab[t * F..(t + 1) * F]
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    };
    (0..nn)
        .map(|i| {
            let (mut d, mut sum) = ([0.0; 3], 0.0);
            for j in 0..nn {
                let (ri, rj) = (pos3(s, i), pos3(s, j));
                let r: Vec<f64> = (0..3).map(|a| ri[a] - rj[a]).collect();
                let d2: f64 = r.iter().map(|v| v * v).sum();
                if i == j || d2 > cutoff * cutoff {
                    continue;
                }
                let mut inp = h(i);
                inp.extend(h(j));
                inp.push(d2);
                let w = f64::from(C) * n.x.eval(&n.e.eval(&inp))[0];
                for a in 0..3 {
                    d[a] += r[a] * w;
                }
                sum += w.abs() * r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            }
            (d, sum)
        })
        .collect()
}

/// Forces of the term equal `scale` times the layer's coordinate update:
///
/// * against `Egnn::forward` on the same layer weights (`x' - x`, f32): the
///   forward sums up to n - 1 = 39 terms into `x_i` in f32, each addition
///   rounding by `u |partial sum|` with `u = 2^-24` and partial sums at most
///   `|x_i| + S_i`; the tolerance `2 (n + 1) u (|x_i| + S_i)` per component
///   bounds that (the term's own f64 sum is far more accurate). The squared
///   distances the MLPs see differ by one f32 rounding (forward: f32
///   differences; term: f64 rounded once), moving `w_ij` by ~1e-7
///   relative, covered by the same bound (the bound is ~4e-5 S_i).
/// * against the f64 reference (f64 MLPs, same f32 weights): relative
///   1e-5 of the largest force; the f32 MLPs round each dot product
///   (<= 16 terms, ~4 u ~ 2.4e-7) through two small layers per MLP, ~1e-6.
///
/// A wrong sign, a missing `coord_scale`, `x_j - x_i` or the wrong type
/// features give errors of order 1. The cutoff (1.2 for positions in
/// [-1.5, 1.5]^3) excludes about half of the pairs, so it is exercised.
#[test]
fn egnn_term_forces_equal_the_layers_coordinate_update() {
    let _g = exclusive();
    let (nets, tab) = (nets(5), table());
    let (n, scale, cutoff) = (40, 1.7, 1.2f32);
    let mut ff = field(SimBox::open(3), n);
    let id = ff.add_egnn(layer(&nets, cutoff, n), &tab, scale).unwrap();
    assert_eq!(ff.term_kind(id), Some(TermKind::Egnn));
    let mut s = random_state(3, n, 1.5, 11);
    let f = forces(&mut ff, &mut s);
    assert_eq!(ff.term_energy(id).unwrap().0, 0.0);

    // The layer's own forward pass (f32).
    let mut g = layer(&nets, cutoff, n);
    let x32: Vec<f32> = (0..n).flat_map(|i| pos3(&s, i).map(|v| v as f32)).collect();
    let h32: Vec<f32> = (0..n)
        .flat_map(|i| {
            let t = s.types[i] as usize;
            tab[t * F..(t + 1) * F].to_vec()
        })
        .collect();
    let (mut xo, mut ho) = (vec![0f32; 3 * n], vec![0f32; n * F]);
    g.forward(&x32, &h32, &mut xo, &mut ho).unwrap();

    let refs = reference(&nets, &s, &tab, f64::from(cutoff));
    let fmax = max_abs(&f);
    let u = f64::from(f32::EPSILON) / 2.0;
    let (mut worst_fwd, mut worst_ref, mut edges) = (0f64, 0f64, 0usize);
    for i in 0..n {
        let (d, sum) = refs[i];
        let xi = pos3(&s, i);
        let xmax = xi.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = 2.0 * (n + 1) as f64 * u * (xmax + sum);
        for a in 0..3 {
            let fwd = f64::from(xo[3 * i + a]) - xi[a];
            let e_fwd = (f[a][i] / scale - fwd).abs();
            assert!(
                e_fwd <= tol,
                "particle {i} axis {a}: force/scale {} vs forward {fwd} (tol {tol:e})",
                f[a][i] / scale
            );
            worst_fwd = worst_fwd.max(e_fwd / tol);
            worst_ref = worst_ref.max((f[a][i] - scale * d[a]).abs() / fmax);
        }
        edges += (sum > 0.0) as usize;
    }
    println!(
        "max |F| = {fmax}, worst error vs forward {worst_fwd:.3} of its bound, vs f64 reference {worst_ref:e} of max |F|"
    );
    assert!(edges > n / 2, "too few interacting particles");
    assert!(worst_ref < 1e-5, "error vs f64 reference {worst_ref:e}");
}

fn orthogonal3(a: f64, b: f64, c: f64, reflect: bool) -> [[f64; 3]; 3] {
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

/// `Q r + t` for every particle (2D: `Q` must act in the plane).
fn transformed(s: &State, q: &[[f64; 3]; 3], t: [f64; 3]) -> State {
    let mut o = s.clone();
    for i in 0..s.n() {
        let r = pos3(s, i);
        let y: Vec<f64> = (0..3)
            .map(|a| (0..3).map(|k| q[a][k] * r[k]).sum::<f64>() + t[a])
            .collect();
        o.x[i] = y[0];
        o.y[i] = y[1];
        if s.dim == 3 {
            o.z[i] = y[2];
        }
    }
    o
}

/// Largest `|F'_i - Q F_i|` over particles and axes, relative to max |F|.
fn equivariance_error(f: &[Vec<f64>; 3], g: &[Vec<f64>; 3], q: &[[f64; 3]; 3], dim: usize) -> f64 {
    let fmax = max_abs(f);
    let mut worst = 0f64;
    for i in 0..f[0].len() {
        for a in 0..dim {
            let want: f64 = (0..dim).map(|k| q[a][k] * f[k][i]).sum();
            worst = worst.max((g[a][i] - want).abs() / fmax);
        }
    }
    worst
}

/// Rotating, reflecting and translating the configuration rotates and
/// reflects the forces and leaves them otherwise unchanged, through the
/// force field: 3D open box (rotations, a reflection, large translations),
/// 2D open box (in-plane rotation and reflection) and a 2D periodic box
/// (any translation, wrapped, and the 90-degree rotation that maps the
/// square box onto itself, with minimum images). Tolerance 1e-5 of the
/// largest force: separations are f64 (transformed positions carry ~1e-16
/// relative rounding, translations by 10^3 make it ~1e-13 of the
/// separation), the squared distance is rounded once to f32 (~6e-8
/// relative), which moves `w_ij` by a few 1e-8 through the contractive
/// MLPs; expected differences ~1e-7. A non-equivariant update (e.g. `x_i`
/// in place of `x_i - x_j`, or plain instead of minimum-image separations)
/// is off by O(0.1-1).
#[test]
fn egnn_forces_rotate_reflect_and_translate_with_the_configuration() {
    let _g = exclusive();
    let (nets, tab) = (nets(6), table());
    let n = 48;
    let mut worst = 0f64;
    // 3D open box.
    let mut ff = field(SimBox::open(3), n);
    ff.add_egnn(layer(&nets, 1.5, n), &tab, 2.0).unwrap();
    let mut s = random_state(3, n, 1.5, 21);
    let f = forces(&mut ff, &mut s);
    for (q, t) in [
        (orthogonal3(0.3, 1.1, -0.7, false), [0.0; 3]),
        (orthogonal3(2.0, -0.4, 0.9, true), [0.5, -1.25, 2.0]),
        (orthogonal3(0.0, 0.0, 0.0, false), [1000.0, -750.0, 512.5]),
    ] {
        let mut s2 = transformed(&s, &q, t);
        let g = forces(&mut ff, &mut s2);
        let e = equivariance_error(&f, &g, &q, 3);
        println!("3D open: error {e:e}");
        worst = worst.max(e);
    }
    // 2D open box: in-plane rotation and reflection.
    let mut ff = field(SimBox::open(2), n);
    ff.add_egnn(layer(&nets, 1.5, n), &tab, 2.0).unwrap();
    let mut s = random_state(2, n, 1.5, 22);
    let f = forces(&mut ff, &mut s);
    let th = 0.83f64;
    let rot = [
        [th.cos(), -th.sin(), 0.0],
        [th.sin(), th.cos(), 0.0],
        [0.0, 0.0, 1.0],
    ];
    let refl = [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for (q, t) in [(rot, [3.0, -2.0, 0.0]), (refl, [0.0; 3])] {
        let mut s2 = transformed(&s, &q, t);
        let g = forces(&mut ff, &mut s2);
        let e = equivariance_error(&f, &g, &q, 2);
        println!("2D open: error {e:e}");
        worst = worst.max(e);
    }
    // 2D periodic square box of side 4 (cutoff 1.5 < L/2): translations by
    // any vector (positions wrapped back into [0, L)) and the rotation by
    // 90 degrees about the box centre.
    let l = 4.0;
    let pbox = SimBox::periodic(2, [l, l, 1.0]);
    let mut ff = field(pbox, n);
    ff.add_egnn(layer(&nets, 1.5, n), &tab, 2.0).unwrap();
    let mut s = random_state(2, n, 2.0, 23);
    for i in 0..n {
        s.x[i] += 2.0;
        s.y[i] += 2.0;
    }
    let f = forces(&mut ff, &mut s);
    let id = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let r90 = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
    for (q, t) in [(id, [1.7, 3.1, 0.0]), (r90, [l, 0.0, 0.0])] {
        let mut s2 = transformed(&s, &q, t);
        for i in 0..n {
            s2.x[i] = s2.x[i].rem_euclid(l);
            s2.y[i] = s2.y[i].rem_euclid(l);
        }
        let g = forces(&mut ff, &mut s2);
        let e = equivariance_error(&f, &g, &q, 2);
        println!("2D periodic: error {e:e}");
        worst = worst.max(e);
    }
    // 2D periodic rectangle 4 x 5 (each axis its own period): translations
    // with the positions wrapped back.
    let (lx, ly) = (4.0, 5.0);
    let mut ff = field(SimBox::periodic(2, [lx, ly, 1.0]), n);
    ff.add_egnn(layer(&nets, 1.5, n), &tab, 2.0).unwrap();
    let mut s = random_state(2, n, 2.0, 29);
    for i in 0..n {
        s.x[i] += 2.0;
        s.y[i] += 2.5;
    }
    let f = forces(&mut ff, &mut s);
    for t in [[1.7, 3.1, 0.0], [0.0, 2.75, 0.0], [3.5, 0.0, 0.0]] {
        let mut s2 = transformed(&s, &id, t);
        for i in 0..n {
            s2.x[i] = s2.x[i].rem_euclid(lx);
            s2.y[i] = s2.y[i].rem_euclid(ly);
        }
        let g = forces(&mut ff, &mut s2);
        let e = equivariance_error(&f, &g, &id, 2);
        println!("2D periodic 4 x 5: error {e:e}");
        worst = worst.max(e);
    }
    assert!(worst < 1e-5, "equivariance error {worst:e}");
}

/// Without a type table every particle starts from zero features: the same
/// forces as an explicit all-zero table (not those of the real table).
#[test]
fn egnn_term_without_type_table_uses_zero_features() {
    let _g = exclusive();
    let nets = nets(13);
    let n = 30;
    let mut s = random_state(3, n, 1.5, 37);
    let mut run = |tab: &[f32]| {
        let mut ff = field(SimBox::open(3), n);
        ff.add_egnn(layer(&nets, 1.3, n), tab, 1.0).unwrap();
        forces(&mut ff, &mut s)
    };
    let (none, zeros, real) = (run(&[]), run(&[0.0; 2 * F]), run(&table()));
    assert!(max_abs(&zeros) > 0.0);
    assert_eq!(none, zeros);
    assert_ne!(none, real);
}

/// With one particle type (identical features) the EGNN pair force
/// `r_ij w(h, h, |r_ij|^2)` is central and antisymmetric, so the total force
/// vanishes: |sum_i F_i| < 1e-6 sum_i |F_i| (w_ij and w_ji come from the
/// same f32 network on identical inputs, equal to f32 rounding at worst;
/// the f64 sum of +-pairs cancels to ~1e-16). With two types the total force
/// is O(1) of sum |F| (`phi_e` is not symmetric in `(h_i, h_j)`), which
/// shows the check can fail.
#[test]
fn single_type_egnn_forces_cancel_pairwise() {
    let _g = exclusive();
    let (nets, tab) = (nets(7), table());
    let n = 64;
    for (types, expect_zero) in [(1usize, true), (2, false)] {
        let mut ff = field(SimBox::open(3), n);
        ff.add_egnn(layer(&nets, 1.4, n), &tab, 1.0).unwrap();
        let mut s = random_state(3, n, 1.5, 31);
        if types == 1 {
            s.types.fill(0);
        }
        let f = forces(&mut ff, &mut s);
        let mut rel = 0f64;
        for a in 0..3 {
            let total: f64 = f[a].iter().sum();
            let abs: f64 = f[a].iter().map(|v| v.abs()).sum();
            rel = rel.max(total.abs() / abs);
        }
        println!("{types} type(s): |sum F| / sum |F| = {rel:e}");
        if expect_zero {
            assert!(rel < 1e-6, "total force {rel:e}");
        } else {
            assert!(rel > 1e-3, "two types should not cancel ({rel:e})");
        }
    }
}

fn smooth_potential(seed: u64) -> RefNet {
    let mut rng = TestRng(seed);
    random_net(
        3,
        Encoding::Identity,
        &[24, 20],
        1,
        Activation::Tanh,
        None,
        &mut rng,
    )
}

/// An EGNN term and a neural-field term coexist in one force field: the
/// combined force is bitwise the EGNN force plus the neural force of the
/// single-term fields (each term has its own buffers and the per-particle
/// pass adds terms in a fixed order, starting from 0), and the combined
/// energy is the neural energy bitwise (EGNN energy 0). The same holds with
/// a callback-style batch term (a second neural vector field) added third.
#[test]
fn egnn_and_neural_terms_add_up_exactly() {
    let _g = exclusive();
    let n = 100;
    let mut s = random_state(3, n, 1.5, 41);
    let make = |egnn: bool, neural: bool, vector: bool| {
        let mut ff = field(SimBox::open(3), n);
        if egnn {
            ff.add_egnn(layer(&nets(8), 1.5, n), &table(), 0.5).unwrap();
        }
        if neural {
            ff.add_neural_field(
                smooth_potential(9).model(0),
                3,
                1,
                NeuralMode::Potential,
                1.0,
            )
            .unwrap();
        }
        if vector {
            let mut rng = TestRng(12);
            let net = random_net(
                3,
                Encoding::Identity,
                &[8],
                3,
                Activation::Tanh,
                None,
                &mut rng,
            );
            ff.add_neural_field(net.model(0), 3, 3, NeuralMode::VectorField, 0.25)
                .unwrap();
        }
        ff
    };
    let (mut e, mut nn, mut v, mut both, mut all) = (
        make(true, false, false),
        make(false, true, false),
        make(false, false, true),
        make(true, true, false),
        make(true, true, true),
    );
    let (fe, fn_, fv, fb, fa) = (
        forces(&mut e, &mut s),
        forces(&mut nn, &mut s),
        forces(&mut v, &mut s),
        forces(&mut both, &mut s),
        forces(&mut all, &mut s),
    );
    assert!(max_abs(&fe) > 0.05 && max_abs(&fn_) > 0.05 && max_abs(&fv) > 0.01);
    for a in 0..3 {
        for i in 0..n {
            assert_eq!(
                fb[a][i].to_bits(),
                (fe[a][i] + fn_[a][i]).to_bits(),
                "EGNN + neural, particle {i} axis {a}"
            );
            assert_eq!(
                fa[a][i].to_bits(),
                (fe[a][i] + fn_[a][i] + fv[a][i]).to_bits(),
                "EGNN + neural + vector, particle {i} axis {a}"
            );
        }
    }
    assert_eq!(both.totals().0.to_bits(), nn.totals().0.to_bits());
    assert_eq!(both.term_energy(0).unwrap().0, 0.0);
    assert_eq!(both.term_kind(0), Some(TermKind::Egnn));
    assert_eq!(both.term_kind(1), Some(TermKind::Callback));
}

/// EGNN + neural potential + a harmonic trap (keeps the particles where the
/// networks were sampled).
fn combined(n: usize) -> ForceField {
    let mut ff = field(SimBox::open(3), n);
    ff.add_trap(fieldkern::forces::Trap::Harmonic {
        k: 0.5,
        centre: [0.0; 3],
    })
    .unwrap();
    ff.add_egnn(layer(&nets(8), 1.5, n), &table(), 0.5).unwrap();
    ff.add_neural_field(
        smooth_potential(9).model(0),
        3,
        1,
        NeuralMode::Potential,
        1.0,
    )
    .unwrap();
    ff
}

fn langevin(n: usize) -> Baoab {
    Baoab::new(
        3,
        n,
        LangevinParams {
            dt: 0.005,
            gamma: 1.0,
            kt: 0.5,
            seed: 7,
            stream: 0,
        },
    )
    .unwrap()
}

/// Steps with EGNN + neural terms allocate nothing (layer buffers reserved
/// at its create, term buffers when added).
#[test]
fn steps_with_egnn_and_neural_terms_allocate_nothing() {
    let _g = exclusive();
    let n = 96;
    let mut ff = combined(n);
    let mut s = random_state(3, n, 1.5, 51);
    let mut vv = VelocityVerlet::new(3, n, 0.005).unwrap();
    let mut bd = langevin(n);
    vv.step(Some(&mut ff), &mut s.view(), 0, 2).1.unwrap();
    bd.step(Some(&mut ff), &mut s.view(), 2, 2).1.unwrap();
    let mut step = 4;
    let allocs = fewest_allocations(|| {
        vv.step(Some(&mut ff), &mut s.view(), step, 3).1.unwrap();
        bd.step(Some(&mut ff), &mut s.view(), step + 3, 3)
            .1
            .unwrap();
        step += 6;
    });
    assert_eq!(allocs, 0, "allocations in 6 steps");
}

/// BAOAB with EGNN + neural terms, 200 particles (~10^4 edges, several MLP
/// tiles): 40 steps on 1 thread and on 2 threads are bitwise identical, and
/// 40 steps in one call equal 15 + 25 steps in two calls (step index
/// advanced) bitwise.
#[test]
fn egnn_trajectories_are_thread_invariant_and_resume_bitwise() {
    let _g = exclusive();
    let before = fieldkern::parallel::num_threads();
    let n = 200;
    let run = |threads: usize, split: Option<usize>| {
        fieldkern::parallel::set_num_threads(threads).unwrap();
        let mut ff = combined(n);
        let mut s = random_state(3, n, 2.0, 61);
        let mut bd = langevin(n);
        match split {
            None => bd.step(Some(&mut ff), &mut s.view(), 0, 40).1.unwrap(),
            Some(k) => {
                bd.step(Some(&mut ff), &mut s.view(), 0, k).1.unwrap();
                let mut bd2 = langevin(n);
                bd2.step(Some(&mut ff), &mut s.view(), k as u64, 40 - k)
                    .1
                    .unwrap();
            }
        }
        s
    };
    let one = run(1, None);
    let two = run(2, None);
    let split = run(2, Some(15));
    fieldkern::parallel::set_num_threads(before).unwrap();
    assert!(one.x.iter().all(|v| v.is_finite()));
    assert!(one == two, "1- and 2-thread trajectories differ");
    assert!(one == split, "split-and-resumed trajectory differs");
}

/// Bad parameters are rejected before anything is added.
#[test]
fn bad_egnn_terms_are_rejected() {
    let _g = exclusive();
    let nets = nets(10);
    let n = 30;
    let mut ff = field(SimBox::open(3), n);
    let tab = table();
    let e = ff
        .add_egnn(layer(&nets, 1.0, n), &tab, f64::NAN)
        .unwrap_err();
    assert_eq!(e.kind, fieldkern::error::ErrorKind::NonFinite);
    let e = ff
        .add_egnn(layer(&nets, 1.0, n), &tab[..F], 1.0)
        .unwrap_err();
    assert_eq!(e.kind, fieldkern::error::ErrorKind::InvalidSize);
    let mut bad = tab.clone();
    bad[3] = f32::NAN;
    let e = ff.add_egnn(layer(&nets, 1.0, n), &bad, 1.0).unwrap_err();
    assert_eq!(e.kind, fieldkern::error::ErrorKind::NonFinite);
    let e = ff
        .add_egnn(layer(&nets, 1.0, n - 1), &tab, 1.0)
        .unwrap_err();
    assert_eq!(e.kind, fieldkern::error::ErrorKind::Capacity);
    assert_eq!(ff.term_count(), 0);
    // No table: zero features.
    ff.add_egnn(layer(&nets, 1.0, n), &[], 1.0).unwrap();
    assert_eq!(ff.term_count(), 1);
}
