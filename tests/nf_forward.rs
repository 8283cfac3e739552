//! Forward pass of the neural-field kernel against an independent f64
//! reference (tests/nf_ref), for every activation and encoding, with and
//! without a skip connection; batch-tiling independence; bitwise identical
//! results for 1 and 2 threads; zero allocations per call.
//!
//! Every test holds `support::alloc::exclusive()`: the thread count is global
//! and allocation counting sees all threads.

mod nf_ref;
mod support;

use fieldkern::nf::{Activation, Encoding};
use fieldkern::parallel::set_num_threads;
use nf_ref::{
    encodings, fewest_allocations, random_net, random_points, RefNet, TestRng, ALL_ACTIVATIONS,
};
use support::alloc::exclusive;

/// Worst `|y - y_ref| / scale` over a batch, with `scale` the sum of the
/// magnitudes of the terms of the last dot product (`|b| + sum |W h|`).
fn worst_forward_error(net: &RefNet, n: usize, rng: &mut TestRng) -> f64 {
    let mut model = net.model(0);
    let x = random_points(n, net.input_width(), rng);
    let mut y = vec![0f32; n * model.out_dim()];
    model.forward(&x, &mut y).unwrap();
    let mut worst = 0f64;
    for p in 0..n {
        let xp: Vec<f64> = x[p * net.input_width()..(p + 1) * net.input_width()]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let (yr, scale) = net.eval_with_scale(&xp);
        for (o, (&yo, s)) in yr.iter().zip(&scale).enumerate() {
            let got = f64::from(y[p * model.out_dim() + o]);
            worst = worst.max((got - yo).abs() / s.max(1e-30));
        }
    }
    worst
}

/// Tolerance 1e-5, relative to the scale of the last dot product. Budget:
/// f32 unit roundoff u = 6e-8; each layer's FMA chain of K <= 44 terms errs
/// by ~sqrt(K) u |terms| (random-walk rounding; worst case K u = 2.6e-6), the
/// f32 sin/cos/exp/tanh of the encodings and activations by a few u, and
/// errors of earlier layers enter relative to the same scale (the weights
/// are contractive at PyTorch's init, except SIREN where omega_0 = 30
/// multiplies phase errors: there the phases are ~1 and u*30*sqrt(K) ~ 1e-5
/// is still within bound in the worst case seen). A wrong weight, bias,
/// activation or encoding gives errors of order 1e-2..1.
#[test]
fn forward_matches_f64_reference_for_every_activation_encoding_and_skip() {
    let _g = exclusive();
    let mut rng = TestRng(1);
    let mut failures = Vec::new();
    for enc in encodings(3, &mut rng) {
        for act in ALL_ACTIVATIONS {
            for skip in [None, Some(1)] {
                let net = random_net(3, enc.clone(), &[21, 14], 2, act, skip, &mut rng);
                let err = worst_forward_error(&net, 131, &mut rng);
                if err.is_nan() || err > 1e-5 {
                    failures.push(format!("{enc:?} {act:?} skip {skip:?}: {err:.3e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "forward errors above 1e-5:\n{}",
        failures.join("\n")
    );
}

fn forward(net: &RefNet, x: &[f32]) -> Vec<f32> {
    let mut model = net.model(0);
    let mut y = vec![0f32; x.len() / net.input_width() * model.out_dim()];
    model.forward(x, &mut y).unwrap();
    y
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn benchmark_like_net(rng: &mut TestRng) -> RefNet {
    let b: Vec<f32> = (0..48 * 3).map(|_| rng.sym(2.0) as f32).collect();
    random_net(
        3,
        Encoding::fourier(&b, 48, 3).unwrap(),
        &[64, 64, 64],
        1,
        Activation::Silu,
        None,
        rng,
    )
}

/// Each point's result depends on that point only: evaluating a batch whole,
/// point by point, or in pieces of any size (1, 7, 4096 + 3, ...) gives the
/// same bits, whatever the tile a point falls in.
#[test]
fn results_do_not_depend_on_batch_tiling() {
    let _g = exclusive();
    let mut rng = TestRng(2);
    for skip in [None, Some(2)] {
        let mut net = benchmark_like_net(&mut rng);
        net.skip = skip;
        if skip.is_some() {
            net = random_net(
                3,
                net.encoding.clone(),
                &[64, 40, 64],
                3,
                Activation::GeluTanh,
                skip,
                &mut rng,
            );
        }
        let n = 4096 + 3;
        let x = random_points(n, 3, &mut rng);
        let whole = forward(&net, &x);
        let out_dim = whole.len() / n;
        let mut model = net.model(0);
        for piece in [1usize, 7, 64, 65, 4096 + 3] {
            // Pieces of 1 and 7 over the first 300 points (every tile
            // position is covered), larger pieces over the whole batch.
            let len = if piece < 64 { 300 } else { n };
            let mut joined = Vec::new();
            for chunk in x[..3 * len].chunks(piece * 3) {
                let mut y = vec![0f32; chunk.len() / 3 * out_dim];
                model.forward(chunk, &mut y).unwrap();
                joined.extend(y);
            }
            assert_eq!(
                bits(&joined),
                bits(&whole[..len * out_dim]),
                "pieces of {piece}"
            );
        }
        // A point alone equals the same point in the middle of a tile.
        for p in [0, 5, 63, 64, 4098] {
            let mut alone = vec![0f32; out_dim];
            model.forward(&x[p * 3..p * 3 + 3], &mut alone).unwrap();
            assert_eq!(bits(&alone), bits(&whole[p * out_dim..(p + 1) * out_dim]));
        }
    }
}

#[test]
fn forward_and_jacobian_are_bitwise_identical_for_one_and_two_threads() {
    let _g = exclusive();
    let mut rng = TestRng(3);
    let net = benchmark_like_net(&mut rng);
    let n = 10_000;
    let x = random_points(n, 3, &mut rng);
    let run = |threads| {
        set_num_threads(threads).unwrap();
        let mut model = net.model(0);
        let (mut y, mut g) = (vec![0f32; n], vec![0f32; 3 * n]);
        model.forward(&x, &mut y).unwrap();
        let (mut y2, mut g2) = (vec![0f32; n], vec![0f32; 3 * n]);
        model.gradient(&x, &mut y2, &mut g).unwrap();
        model.jacobian(&x, &mut y2, &mut g2).unwrap();
        assert_eq!(bits(&y), bits(&y2), "forward and gradient values agree");
        assert_eq!(bits(&g), bits(&g2));
        (bits(&y), bits(&g))
    };
    let one = run(1);
    let two = run(2);
    set_num_threads(2).unwrap();
    assert_eq!(one, two);
}

#[test]
fn task_slot_count_does_not_change_results() {
    let _g = exclusive();
    let mut rng = TestRng(4);
    let net = benchmark_like_net(&mut rng);
    let n = 5000;
    let x = random_points(n, 3, &mut rng);
    let mut reference = None;
    for slots in [1, 3, 16, 64] {
        let mut model = net.model(slots);
        let mut y = vec![0f32; n];
        model.forward(&x, &mut y).unwrap();
        let b = bits(&y);
        assert_eq!(
            reference.get_or_insert_with(|| b.clone()),
            &b,
            "{slots} slots"
        );
    }
}

#[test]
fn forward_gradient_and_f64_calls_allocate_nothing() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let mut rng = TestRng(5);
    let net = benchmark_like_net(&mut rng);
    let mut model = net.model(0);
    // A multi-task call returns only after every worker took part, so the
    // new pool's threads have finished starting up (which allocates).
    let warm = random_points(8192, 3, &mut rng);
    model.forward(&warm, &mut vec![0f32; 8192]).unwrap();
    for n in [1usize, 64, 4099] {
        let x = random_points(n, 3, &mut rng);
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let (mut y, mut g) = (vec![0f32; n], vec![0f32; 3 * n]);
        let (mut y64, mut g64) = (vec![0f64; n], vec![0f64; 3 * n]);
        let allocs = fewest_allocations(|| {
            model.forward(&x, &mut y).unwrap();
            model.gradient(&x, &mut y, &mut g).unwrap();
            model.forward(&x64, &mut y64).unwrap();
            model.jacobian(&x64, &mut y64, &mut g64).unwrap();
        });
        assert_eq!(allocs, 0, "n = {n}");
        // The f64 entry converts per point: same values as the f32 call.
        assert!(y.iter().zip(&y64).all(|(a, b)| f64::from(*a) == *b));
        assert!(g.iter().zip(&g64).all(|(a, b)| f64::from(*a) == *b));
    }
}

/// NaN inputs propagate (documented): the point's outputs are NaN, every other
/// point in the same tile is unaffected.
#[test]
fn nan_inputs_propagate_to_their_own_point_only() {
    let _g = exclusive();
    let mut rng = TestRng(6);
    for enc in encodings(3, &mut rng) {
        for act in ALL_ACTIVATIONS {
            let net = random_net(3, enc.clone(), &[16], 1, act, None, &mut rng);
            let mut x = random_points(40, 3, &mut rng);
            let clean = forward(&net, &x);
            x[7 * 3 + 1] = f32::NAN;
            let dirty = forward(&net, &x);
            assert!(dirty[7].is_nan(), "{enc:?} {act:?}");
            for p in (0..40).filter(|&p| p != 7) {
                assert_eq!(dirty[p].to_bits(), clean[p].to_bits());
            }
        }
    }
}

/// Latent conditioning (concatenation to gamma(x), FiLM on chosen layers,
/// both) against the f64 reference; same tolerance and budget as above (the
/// FiLM scale |gamma| ~ 1 +- 0.5 enters the scale of the last dot product).
#[test]
fn conditioned_forward_matches_f64_reference_for_concat_and_film() {
    let _g = exclusive();
    let mut rng = TestRng(7);
    let mut failures = Vec::new();
    for enc in encodings(3, &mut rng) {
        for act in ALL_ACTIVATIONS {
            for (concat, film, skip) in [
                (true, vec![], Some(1)),
                (false, vec![0, 1], None),
                (true, vec![1, 2], Some(2)),
            ] {
                let mut net = random_net(3, enc.clone(), &[21, 14], 2, act, skip, &mut rng);
                net.condition(5, concat, &film, &mut rng);
                let err = worst_forward_error(&net, 75, &mut rng);
                if err.is_nan() || err > 1e-5 {
                    failures.push(format!(
                        "{enc:?} {act:?} concat {concat} film {film:?}: {err:.3e}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "conditioned forward errors above 1e-5:\n{}",
        failures.join("\n")
    );
}

/// Tiles of up to POINT_PATH_MAX (6) points take the point-by-point path
/// (outputs in lanes); it must give the same bits as the 16-point lane path for every
/// encoding (hash grid included), activation, skip connection and latent
/// concatenation.
#[test]
fn single_points_match_batched_points_bitwise_for_every_encoding_and_activation() {
    let _g = exclusive();
    let mut rng = TestRng(8);
    let table: Vec<f32> = (0..5 * 256 * 2).map(|_| rng.sym(0.1) as f32).collect();
    let grid = fieldkern::nf::hashgrid::HashGrid::new(3, 5, 2, 8, 3, 1.6, &table).unwrap();
    let mut encs = encodings(3, &mut rng);
    encs.push(Encoding::HashGrid(Box::new(grid)));
    for enc in encs {
        for act in ALL_ACTIVATIONS {
            for (skip, concat) in [(None, false), (Some(1), false), (Some(2), true)] {
                let enc0 = if matches!(enc, Encoding::HashGrid(_)) {
                    Encoding::Identity
                } else {
                    enc.clone()
                };
                let mut net = random_net(3, enc0, &[19, 33], 3, act, skip, &mut rng);
                if let Encoding::HashGrid(_) = &enc {
                    // Re-wire the layers reading the encoding to its width.
                    let width = enc.output_dim(3);
                    net.encoding = enc.clone();
                    for l in [Some(0), skip].into_iter().flatten() {
                        let layer = &mut net.layers[l];
                        layer.in_dim += width - 3;
                        layer.w = (0..layer.out_dim * layer.in_dim)
                            .map(|_| rng.sym(0.3) as f32)
                            .collect();
                    }
                }
                if concat {
                    net.condition(2, true, &[], &mut rng);
                }
                let w = net.input_width();
                let mut model = net.model(0);
                let n = 40;
                let x: Vec<f32> = (0..n * w).map(|_| (0.5 + rng.sym(0.5)) as f32).collect();
                let mut batch = vec![0f32; n * 3];
                model.forward(&x, &mut batch).unwrap();
                for p in [0, 17, 39] {
                    let mut one = [0f32; 3];
                    model.forward(&x[p * w..(p + 1) * w], &mut one).unwrap();
                    assert_eq!(
                        bits(&one),
                        bits(&batch[3 * p..3 * p + 3]),
                        "{enc:?} {act:?} skip {skip:?} concat {concat} point {p}"
                    );
                    let mut two = [0f32; 6];
                    model
                        .forward(&x[p.min(38) * w..(p.min(38) + 2) * w], &mut two)
                        .unwrap();
                    assert_eq!(bits(&two), bits(&batch[3 * p.min(38)..3 * p.min(38) + 6]));
                }
            }
        }
    }
}
