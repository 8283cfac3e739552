//! Ray rendering: a constant-density sphere against its analytic
//! transmittance, a neural radiance field against an independent f64
//! compositing of the same samples, determinism (threads, ray splits) and
//! zero allocations per call.

#![allow(clippy::needless_range_loop)]

mod nf_ref;
mod support;

use fieldkern::error::Result;
use fieldkern::nf::render::{RadianceField, RenderParams, Renderer};
use fieldkern::nf::{Activation, Encoding};
use fieldkern::parallel::set_num_threads;
use nf_ref::{fewest_allocations, random_net, TestRng};
use support::alloc::exclusive;

const SIGMA: f32 = 1.5;
const RADIUS: f32 = 1.0;
const COLOUR: [f32; 3] = [0.2, 0.5, 0.9];

/// Density SIGMA inside the unit sphere at the origin, colour COLOUR.
struct Sphere;

impl RadianceField for Sphere {
    fn radiance(&mut self, points: &[f32], out: &mut [f32]) -> Result<()> {
        for (p, o) in points.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
            let inside = p[0] * p[0] + p[1] * p[1] + p[2] * p[2] < RADIUS * RADIUS;
            o[0] = if inside { SIGMA } else { 0.0 };
            o[1..].copy_from_slice(&COLOUR);
        }
        Ok(())
    }
}

/// Rays along +z from z = -2, at impact parameter `b` along x, t in [0, 4].
fn ray(b: f32) -> [f32; 8] {
    [b, 0.0, -2.0, 0.0, 0.0, 1.0, 0.0, 4.0]
}

fn params(samples: usize, jitter: Option<(u64, u64)>) -> RenderParams {
    RenderParams {
        samples,
        rays_per_batch: 3,
        jitter,
        colour_sigmoid: false,
    }
}

fn render(
    r: &mut Renderer,
    field: &mut dyn RadianceField,
    rays: &[f32],
    offset: u64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = rays.len() / 8;
    let (mut c, mut d, mut o) = (vec![0f32; 3 * n], vec![0f32; n], vec![0f32; n]);
    r.render(field, rays, offset, &mut c, &mut d, &mut o)
        .unwrap();
    (c, d, o)
}

/// With 400 bins of width 0.01, the chords of these rays (half-lengths 1,
/// 0.8, 0.6 around t = 2) start and end on bin edges, so the discrete optical
/// depth is exactly SIGMA * L and opacity = 1 - exp(-SIGMA L), colour =
/// COLOUR * opacity, with no quadrature error. What remains is f32 rounding
/// of the transmittance product over <= 200 in-sphere bins: independent
/// half-ulp errors give ~sqrt(200) * 6e-8 = 1e-6 (worst case 200 u = 1.2e-5);
/// tolerance 1e-5. The depth's quadrature error is not zero: a sample at a
/// bin's midpoint instead of its weighted mean errs by <= SIGMA D^2 / 12 per
/// unit weight (~1.3e-5); tolerance 1e-4 for it, and 1e-5 against the same
/// discrete sum evaluated in f64.
#[test]
fn constant_density_sphere_matches_analytic_transmittance() {
    let _g = exclusive();
    let mut r = Renderer::new(params(400, None)).unwrap();
    let bs = [0.0f32, 0.6, 0.8, 1.2];
    let rays: Vec<f32> = bs.iter().flat_map(|&b| ray(b)).collect();
    let (c, d, o) = render(&mut r, &mut Sphere, &rays, 0);
    for (k, &b) in bs.iter().enumerate() {
        let b = f64::from(b);
        let half = (1.0 - b * b).max(0.0).sqrt();
        let (sigma, len) = (f64::from(SIGMA), 2.0 * half);
        let opacity = 1.0 - (-sigma * len).exp();
        assert!(
            (f64::from(o[k]) - opacity).abs() < 1e-5,
            "b = {b}: {} vs {opacity}",
            o[k]
        );
        for ch in 0..3 {
            let want = f64::from(COLOUR[ch]) * opacity;
            assert!((f64::from(c[3 * k + ch]) - want).abs() < 1e-5);
        }
        let t0 = 2.0 - half;
        let depth = if len > 0.0 {
            t0 * opacity + (1.0 - (-sigma * len).exp() * (1.0 + sigma * len)) / sigma
        } else {
            0.0
        };
        assert!(
            (f64::from(d[k]) - depth).abs() < 1e-4,
            "b = {b}: {} vs {depth}",
            d[k]
        );
        // The same quadrature in f64.
        let (mut trans, mut disc) = (1.0f64, 0.0f64);
        for i in 0..400 {
            let t = (i as f64 + 0.5) * 0.01;
            let z = t - 2.0;
            let s = if b * b + z * z < 1.0 { sigma } else { 0.0 };
            let alpha = 1.0 - (-s * 0.01).exp();
            disc += trans * alpha * t;
            trans *= 1.0 - alpha;
        }
        assert!(
            (f64::from(d[k]) - disc).abs() < 1e-5,
            "b = {b}: {} vs {disc}",
            d[k]
        );
    }
    assert_eq!(o[3], 0.0, "a ray missing the sphere sees nothing");
}

/// Stratified jitter: unbiased, so the opacity stays within the bin-edge
/// error (two partial bins, <= 2 SIGMA D = 0.03 in optical depth) of the
/// analytic value, and any split of the rays with matching counter offsets
/// gives the same bits.
#[test]
fn jittered_rendering_is_reproducible_across_ray_splits() {
    let _g = exclusive();
    let mut r = Renderer::new(params(100, Some((7, 3)))).unwrap();
    let rays: Vec<f32> = (0..9).flat_map(|k| ray(0.1 * k as f32)).collect();
    let whole = render(&mut r, &mut Sphere, &rays, 50);
    let a = render(&mut r, &mut Sphere, &rays[..4 * 8], 50);
    let b = render(&mut r, &mut Sphere, &rays[4 * 8..], 54);
    let joined: Vec<f32> = a.2.iter().chain(&b.2).copied().collect();
    assert_eq!(whole.2, joined);
    let other = render(&mut r, &mut Sphere, &rays, 51);
    assert_ne!(
        whole.2, other.2,
        "a different counter offset draws other jitter"
    );
    for (k, &o) in whole.2.iter().enumerate() {
        let b = 0.1 * k as f64;
        let want = 1.0 - (-1.5 * 2.0 * (1.0 - b * b).max(0.0).sqrt()).exp();
        assert!((f64::from(o) - want).abs() < 0.03, "ray {k}: {o} vs {want}");
    }
}

fn radiance_model(rng: &mut TestRng) -> nf_ref::RefNet {
    random_net(
        3,
        Encoding::positional(4, true).unwrap(),
        &[32, 32],
        4,
        Activation::Relu,
        Some(1),
        rng,
    )
}

/// Tolerance 1e-5: the kernel's compositing in f32 of the model's f32
/// outputs against the same compositing in f64: rounding of 64-step
/// products and sums (~sqrt(64) u ~ 5e-7 relative).
#[test]
fn neural_field_rendering_matches_f64_compositing_and_is_thread_invariant() {
    let _g = exclusive();
    let mut rng = TestRng(77);
    let net = radiance_model(&mut rng);
    let mut model = net.model(0);
    let p = RenderParams {
        samples: 64,
        rays_per_batch: 16,
        jitter: Some((1, 2)),
        colour_sigmoid: true,
    };
    let mut r = Renderer::new(p).unwrap();
    let n = 37;
    let rays: Vec<f32> = (0..n)
        .flat_map(|_| {
            let d = [rng.sym(1.0), rng.sym(1.0), 1.0];
            [rng.sym(0.5), rng.sym(0.5), -1.0, d[0], d[1], d[2], 0.5, 2.5].map(|v: f64| v as f32)
        })
        .collect();
    set_num_threads(1).unwrap();
    let one = render(&mut r, &mut model, &rays, 0);
    set_num_threads(2).unwrap();
    let two = render(&mut r, &mut model, &rays, 0);
    assert_eq!(one, two);
    // Independent compositing: the same jittered sample points (recomputed
    // from the renderer's documented counter scheme) through forward().
    let philox = fieldkern::rng::philox::Philox::new(
        1,
        fieldkern::rng::stream::Stream::NeuralRenderJitter.with_sub(2),
    );
    for (k, ray) in rays.chunks_exact(8).enumerate() {
        let width = (ray[7] - ray[6]) / 64.0;
        let mut pts = Vec::new();
        let mut ts = Vec::new();
        for i in 0..64u64 {
            let e = k as u64 * 64 + i;
            let u = fieldkern::rng::uniform::u01_f32(philox.block(e / 4)[(e % 4) as usize]);
            let t = ray[6] + (i as f32 + u) * width;
            ts.push(f64::from(t));
            pts.extend((0..3).map(|c| ray[c] + t * ray[3 + c]));
        }
        let mut raw = vec![0f32; 64 * 4];
        model.forward(&pts, &mut raw).unwrap();
        let (mut trans, mut col, mut dep) = (1.0f64, [0.0f64; 3], 0.0f64);
        for i in 0..64 {
            let q = &raw[4 * i..4 * i + 4];
            let sigma = f64::from(q[0]).max(0.0);
            let alpha = 1.0 - (-sigma * f64::from(width)).exp();
            for c in 0..3 {
                col[c] += trans * alpha / (1.0 + (-f64::from(q[1 + c])).exp());
            }
            dep += trans * alpha * ts[i];
            trans *= 1.0 - alpha;
        }
        for c in 0..3 {
            assert!((f64::from(one.0[3 * k + c]) - col[c]).abs() < 1e-5);
        }
        assert!((f64::from(one.1[k]) - dep).abs() < 1e-5 * dep.max(1.0));
        assert!((f64::from(one.2[k]) - (1.0 - trans)).abs() < 1e-5);
    }
    // Zero allocations per call once the pool is warm.
    let (mut c, mut d, mut o) = (vec![0f32; 3 * n], vec![0f32; n], vec![0f32; n]);
    let allocs = fewest_allocations(|| {
        r.render(&mut model, &rays, 0, &mut c, &mut d, &mut o)
            .unwrap()
    });
    assert_eq!(allocs, 0);
}

#[test]
fn bad_rays_are_rejected_before_anything_is_written() {
    let _g = exclusive();
    let mut r = Renderer::new(params(8, None)).unwrap();
    let mut rays: Vec<f32> = ray(0.0).into_iter().chain(ray(0.5)).collect();
    let (mut c, mut d, mut o) = ([9f32; 6], [9f32; 2], [9f32; 2]);
    rays[15] = -1.0; // far < near
    assert!(r
        .render(&mut Sphere, &rays, 0, &mut c, &mut d, &mut o)
        .is_err());
    rays[15] = 4.0;
    rays[9] = f32::NAN;
    assert!(r
        .render(&mut Sphere, &rays, 0, &mut c, &mut d, &mut o)
        .is_err());
    assert!(r
        .render(&mut Sphere, &rays[..12], 0, &mut c, &mut d, &mut o)
        .is_err());
    assert_eq!((c, d, o), ([9f32; 6], [9f32; 2], [9f32; 2]));
    assert!(Renderer::new(params(0, None)).is_err());
}

// ---------------------------------------------------------------------------
// Mutation audit: the documented quadrature re-implemented directly, with
// sample counts that are not multiples of 4 (so the Philox element index
// within a block matters), a non-zero counter offset, batches that cut the
// ray list, densities that change along the ray and go negative (clamped),
// and exact error kinds for bad rays and sample counts.

/// sigma = 0.9 + 0.6 z - 0.5 x (negative for some samples: clamped to 0),
/// colour (x, y - 0.2, z / 2): every sample position shows in the result.
struct Linear;

impl RadianceField for Linear {
    fn radiance(&mut self, points: &[f32], out: &mut [f32]) -> Result<()> {
        for (p, o) in points.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
            o[0] = 0.9 + 0.6 * p[2] - 0.5 * p[0];
            o[1] = p[0];
            o[2] = p[1] - 0.2;
            o[3] = 0.5 * p[2];
        }
        Ok(())
    }
}

/// The module docs' quadrature for one call: `S` bins of width
/// `D = (far - near) / S`, sample `t_i = near + (i + u_i) D` with `u_i = 1/2`
/// or, jittered, the uniform of Philox(seed, NeuralRenderJitter.with_sub(
/// stream)) element `e = (counter_offset + ray) S + i` (`counter_offset` is
/// the global index of the call's first ray: element `e % 4` of block
/// `e / 4`); the sample positions in f32 as the renderer forms them, the
/// compositing in f64. Returns colour, depth, opacity and, per output, the
/// sum of the magnitudes of its terms (for the tolerance).
fn reference(
    rays: &[f32],
    s: usize,
    jitter: Option<(u64, u64)>,
    offset: u64,
    sigmoid: bool,
) -> Vec<([f64; 3], f64, f64, f64)> {
    use fieldkern::rng::{philox::Philox, stream::Stream, uniform::u01_f32};
    let philox =
        jitter.map(|(seed, stream)| Philox::new(seed, Stream::NeuralRenderJitter.with_sub(stream)));
    rays.chunks_exact(8)
        .enumerate()
        .map(|(k, ray)| {
            let (near, far) = (ray[6], ray[7]);
            let width = (far - near) / s as f32;
            let mut pts = Vec::new();
            let mut ts = Vec::new();
            for i in 0..s {
                let u = philox.as_ref().map_or(0.5, |p| {
                    let e = (offset + k as u64) * s as u64 + i as u64;
                    u01_f32(p.block(e / 4)[(e % 4) as usize])
                });
                let t = near + (i as f32 + u) * width;
                ts.push(f64::from(t));
                pts.extend((0..3).map(|c| ray[c] + t * ray[3 + c]));
            }
            let mut raw = vec![0f32; 4 * s];
            Linear.radiance(&pts, &mut raw).unwrap();
            let (mut trans, mut col, mut dep, mut mag) = (1.0f64, [0.0f64; 3], 0.0f64, 1.0f64);
            for i in 0..s {
                let q = &raw[4 * i..4 * i + 4];
                let sigma = f64::from(q[0]).max(0.0);
                let w = trans * (1.0 - (-sigma * f64::from(width)).exp());
                for c in 0..3 {
                    let v = f64::from(q[1 + c]);
                    let v = if sigmoid { 1.0 / (1.0 + (-v).exp()) } else { v };
                    col[c] += w * v;
                    mag += (w * v).abs();
                }
                dep += w * ts[i];
                mag += w * ts[i].abs();
                trans *= (-sigma * f64::from(width)).exp();
            }
            (col, dep, 1.0 - trans, mag)
        })
        .collect()
}

/// The renderer equals the re-implemented quadrature for S = 1, 5, 7, 12
/// samples, midpoints and jitter, counter offsets 0 and 3, 5 rays in
/// batches of 2, colours as given and through the sigmoid.
///
/// Tolerance 2e-6 (1 + sum of the output's term magnitudes): the sample
/// points and field values are bitwise the renderer's, only its f32
/// compositing differs from the f64 one. Per term: alpha by exp_m1 (1 ulp),
/// T_i a product of <= 11 factors (11 roundings), T alpha and its product
/// with the colour or t (2), the sigmoid (a few ulp), the running sum of
/// <= 12 terms (12 roundings, relative to the sum of magnitudes): <= ~30
/// roundings of 2^-24, 1.8e-6 relative in the worst case (~3e-7 for
/// independent roundings; observed 6e-8). A sample moved within its bin, a
/// wrong interval width, the wrong jitter element or a transmittance off by
/// one factor changes the results by 1e-3 or more.
#[test]
fn rendering_equals_the_documented_quadrature_for_any_sample_count() {
    let _g = exclusive();
    let rays: Vec<f32> = [
        [0.1f32, -0.2, -1.0, 0.05, 0.1, 1.0, 0.0, 2.0],
        [-0.4, 0.3, -0.5, 0.2, -0.1, 0.8, 0.25, 1.75],
        [0.8, 0.0, -1.0, -0.3, 0.0, 1.2, 0.5, 2.5],
        [0.0, 0.5, 0.0, 0.0, -0.2, 2.0, 0.1, 0.9],
        [1.5, -0.5, -0.2, -0.5, 0.3, 0.7, 0.0, 3.0],
    ]
    .concat();
    for s in [1usize, 5, 7, 12] {
        for jitter in [None, Some((11u64, 5u64))] {
            for offset in [0u64, 3] {
                for sigmoid in [false, true] {
                    let mut r = Renderer::new(RenderParams {
                        samples: s,
                        rays_per_batch: 2,
                        jitter,
                        colour_sigmoid: sigmoid,
                    })
                    .unwrap();
                    let (c, d, o) = render(&mut r, &mut Linear, &rays, offset);
                    let want = reference(&rays, s, jitter, offset, sigmoid);
                    for (k, (col, dep, opa, mag)) in want.iter().enumerate() {
                        let tol = 2e-6 * (1.0 + mag);
                        let tag = format!("S = {s}, jitter {jitter:?}, offset {offset}, ray {k}");
                        for ch in 0..3 {
                            let got = f64::from(c[3 * k + ch]);
                            assert!(
                                (got - col[ch]).abs() <= tol,
                                "{tag}: rgb {got} vs {}",
                                col[ch]
                            );
                        }
                        assert!(
                            (f64::from(d[k]) - dep).abs() <= tol,
                            "{tag}: depth {} vs {dep}",
                            d[k]
                        );
                        assert!(
                            (f64::from(o[k]) - opa).abs() <= tol,
                            "{tag}: opacity {} vs {opa}",
                            o[k]
                        );
                    }
                }
            }
        }
    }
}

/// Exact error kinds, outputs untouched: far == near (an empty interval)
/// and far < near are `OutOfRange`; an infinite or NaN entry (origin,
/// direction, near or far) is `NonFinite`.
#[test]
fn empty_reversed_and_infinite_rays_are_rejected_with_their_kind() {
    use fieldkern::error::ErrorKind;
    let _g = exclusive();
    let mut r = Renderer::new(params(8, None)).unwrap();
    let good: Vec<f32> = ray(0.0).into_iter().chain(ray(0.5)).collect();
    let cases: [(usize, f32, ErrorKind); 7] = [
        (15, 0.0, ErrorKind::OutOfRange),  // far == near
        (15, -1.0, ErrorKind::OutOfRange), // far < near
        (15, f32::INFINITY, ErrorKind::NonFinite),
        (14, f32::NEG_INFINITY, ErrorKind::NonFinite),
        (8, f32::INFINITY, ErrorKind::NonFinite),
        (11, f32::NEG_INFINITY, ErrorKind::NonFinite),
        (9, f32::NAN, ErrorKind::NonFinite),
    ];
    for (idx, v, kind) in cases {
        let mut rays = good.clone();
        rays[idx] = v;
        let (mut c, mut d, mut o) = ([9f32; 6], [9f32; 2], [9f32; 2]);
        let e = r
            .render(&mut Sphere, &rays, 0, &mut c, &mut d, &mut o)
            .unwrap_err();
        assert_eq!(e.kind, kind, "entry {idx} = {v}: {e}");
        assert_eq!((c, d, o), ([9f32; 6], [9f32; 2], [9f32; 2]));
    }
    // A tiny but positive interval is valid.
    let mut rays = good.clone();
    rays[15] = rays[14] + 1e-3;
    render(&mut r, &mut Sphere, &rays, 0);
}

/// The sample-count bound is inclusive: MAX_SAMPLES (one ray per batch:
/// 2^16 * 8 floats) is accepted, one more and zero are `OutOfRange`, as is
/// rays_per_batch * samples above 2^24.
#[test]
fn sample_count_bounds_are_exact() {
    use fieldkern::error::ErrorKind;
    use fieldkern::nf::render::MAX_SAMPLES;
    let _g = exclusive();
    let p = |samples, rays_per_batch| RenderParams {
        samples,
        rays_per_batch,
        jitter: None,
        colour_sigmoid: false,
    };
    assert!(Renderer::new(p(MAX_SAMPLES, 1)).is_ok());
    for (s, b) in [(MAX_SAMPLES + 1, 1), (0, 1), (1, 0), (MAX_SAMPLES, 257)] {
        assert_eq!(
            Renderer::new(p(s, b)).unwrap_err().kind,
            ErrorKind::OutOfRange,
            "{s} x {b}"
        );
    }
}

/// Output arrays must hold exactly 3n, n and n values: shorter or longer
/// ones are `InvalidSize`, and nothing is written.
#[test]
fn output_lengths_must_match_the_ray_count_exactly() {
    use fieldkern::error::ErrorKind;
    let _g = exclusive();
    let mut r = Renderer::new(params(8, None)).unwrap();
    let rays: Vec<f32> = ray(0.0).into_iter().chain(ray(0.5)).collect();
    for (nc, nd, no) in [
        (7, 2, 2),
        (6, 3, 2),
        (6, 2, 3),
        (5, 2, 2),
        (6, 1, 2),
        (6, 2, 1),
    ] {
        let (mut c, mut d, mut o) = (vec![9f32; nc], vec![9f32; nd], vec![9f32; no]);
        let e = r
            .render(&mut Sphere, &rays, 0, &mut c, &mut d, &mut o)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidSize, "{nc}, {nd}, {no}: {e}");
        assert!(c.iter().chain(&d).chain(&o).all(|&v| v == 9.0));
    }
}
