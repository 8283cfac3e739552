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
