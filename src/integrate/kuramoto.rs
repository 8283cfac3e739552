//! Kuramoto oscillators and the noisy globally coupled XY model, O(N) per
//! step through the mean field (Kuramoto 1975; Acebron et al., Rev. Mod. Phys.
//! 77, 137 (2005)):
//! `dtheta_i = [omega_i + K r sin(psi - theta_i)] dt + sqrt(2 D dt) xi_i`,
//! with `r e^{i psi} = (1/N) sum_j e^{i theta_j}`. Euler-Maruyama; phases are
//! kept in `[0, 2 pi)`. For Lorentzian natural frequencies of half-width
//! `gamma` and `D = 0`, the stationary order parameter is
//! `r = sqrt(1 - 2 gamma / K)` above `K_c = 2 gamma`, and `O(N^-1/2)` below.
//!
//! The mean field is summed over segments of fixed boundaries and then in
//! segment order: bitwise identical for any thread count. Sines and cosines
//! come from the vector polynomials ([`crate::simd::trig`], within one ulp of
//! 1 of libm on `[0, 2 pi)`), eight phases at a time, with a remainder through the
//! same vector code, so values do not depend on where a phase falls.
//! Noise: element `s n + i` of stream `Stream::KuramotoNoise.with_sub(stream)`
//! (Gaussian by default, uniform with [`Kuramoto::set_noise`]).
//!
//! One pass over the oscillators per step: each step's update also
//! evaluates the sines and cosines of the new phases, keeps them (16 bytes
//! per oscillator of capacity, reserved at create) for the next step's
//! coupling, and sums them into the next step's mean field (per segment
//! in a fixed order, as [`order_parameter`] does). So every phase's sine
//! and cosine is evaluated once per step instead of twice; the update
//! itself runs eight oscillators at a time with the scalar operations in
//! their order. (Trajectories kept the bits of the earlier two-pass
//! implementation: checked against it when this changed, 2026-11-29.)

use std::sync::Mutex;

use super::common::{
    finite, for_each_noisy_segment, non_negative, nonzero_capacity, positive, within_capacity,
};
use super::noise::{for_each_noise_chunk, NoiseKind, NOISE_CHUNK};
use super::split::{for_each_segment, segment_len, MAX_SEGMENTS};
use super::state::{check_finite, check_len, wrap_into, wrap_into8};
use crate::error::{zeros, Result};
use crate::parallel;
use crate::rng::stream::Stream;
use crate::simd::f64x8;
use crate::simd::trig::{sin_cos1, sin_cos8, sin_cos_each};

/// Oscillators per segment.
const SEGMENT: usize = 4096;

/// Kuramoto / noisy-XY parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KuramotoParams {
    pub dt: f64,
    /// Coupling K.
    pub coupling: f64,
    /// Phase noise D >= 0 (temperature of the XY model).
    pub noise: f64,
    pub seed: u64,
    pub stream: u64,
}

/// A Kuramoto integrator for up to `capacity` oscillators (memory: 16 bytes
/// per oscillator of capacity for the kept sines and cosines).
#[derive(Debug)]
pub struct Kuramoto {
    params: KuramotoParams,
    noise: NoiseKind,
    capacity: usize,
    partial: Vec<Mutex<[f64; 2]>>,
    /// `sin theta_i`, `cos theta_i` of the current phases (`capacity` each),
    /// valid within one step call: each step's update writes those of the
    /// new phases, which the next step's update and mean field read.
    sin_theta: Vec<f64>,
    cos_theta: Vec<f64>,
}

/// A segment's sums of `cos theta` and `sin theta` in the order
/// [`mean_field`] adds them: eight lane sums over the segment's full groups
/// of eight, reduced, then the remainder one by one.
struct SegmentSums {
    c8: f64x8,
    s8: f64x8,
    rest: usize,
    rest_c: [f64; 8],
    rest_s: [f64; 8],
}

impl SegmentSums {
    fn new() -> Self {
        Self {
            c8: f64x8::ZERO,
            s8: f64x8::ZERO,
            rest: 0,
            rest_c: [0.0; 8],
            rest_s: [0.0; 8],
        }
    }

    /// Adds a block of consecutive phases' sines and cosines; every block
    /// but a segment's last has a multiple of eight phases.
    #[inline(always)]
    fn add(&mut self, sn: &[f64], cs: &[f64]) {
        debug_assert_eq!(self.rest, 0, "a partial block before the segment end");
        let full = sn.len() / 8 * 8;
        for g in (0..full).step_by(8) {
            self.c8 += f64x8::new(cs[g..g + 8].try_into().expect("eight"));
            self.s8 += f64x8::new(sn[g..g + 8].try_into().expect("eight"));
        }
        for j in full..sn.len() {
            (self.rest_c[self.rest], self.rest_s[self.rest]) = (cs[j], sn[j]);
            self.rest += 1;
        }
    }

    fn total(&self) -> [f64; 2] {
        let (mut c, mut s) = (self.c8.reduce_add(), self.s8.reduce_add());
        for k in 0..self.rest {
            c += self.rest_c[k];
            s += self.rest_s[k];
        }
        [c, s]
    }
}

// Phase blocks (taken from each segment's start) are whole groups of
// eight, so only a segment's last block can be partial (SegmentSums::add).
const _: () = assert!(PHASE_BLOCK.is_multiple_of(8));

/// `(r, psi)` of phases `theta`: `r e^{i psi} = mean of e^{i theta}`.
/// Deterministic for any thread count; allocates nothing (the per-segment
/// partial sums live on the stack).
pub fn order_parameter(theta: &[f64]) -> (f64, f64) {
    let slots: [Mutex<[f64; 2]>; MAX_SEGMENTS] = core::array::from_fn(|_| Mutex::new([0.0; 2]));
    let (c, s) = mean_field(theta, &slots);
    ((c * c + s * s).sqrt(), s.atan2(c))
}

/// Phases per block of sines and cosines (the noise chunk length).
const PHASE_BLOCK: usize = NOISE_CHUNK;

fn mean_field(theta: &[f64], slots: &[Mutex<[f64; 2]>]) -> (f64, f64) {
    let n = theta.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let seg = segment_len(n, SEGMENT);
    let n_seg = n.div_ceil(seg);
    parallel::run(n_seg, &|t| {
        let part = &theta[t * seg..((t + 1) * seg).min(n)];
        // Eight partial sums per component, reduced in a fixed order, then
        // the remainder: the same sum for any thread count (segments have
        // fixed boundaries).
        let (mut c8, mut s8) = (f64x8::ZERO, f64x8::ZERO);
        let groups = part.chunks_exact(8);
        let rest = groups.remainder();
        for g in groups {
            let (sn, cs) = sin_cos8(g);
            c8 += cs;
            s8 += sn;
        }
        let (mut c, mut s) = (c8.reduce_add(), s8.reduce_add());
        for &th in rest {
            let (sn, cs) = sin_cos1(th);
            c += cs;
            s += sn;
        }
        *slots[t].lock().unwrap_or_else(|p| p.into_inner()) = [c, s];
    });
    reduce_mean(slots, n, seg)
}

/// `(mean cos theta, mean sin theta)` from the per-segment sums, added in
/// segment order.
fn reduce_mean(slots: &[Mutex<[f64; 2]>], n: usize, seg: usize) -> (f64, f64) {
    let (mut c, mut s) = (0.0, 0.0);
    for slot in &slots[..n.div_ceil(seg)] {
        let v = slot.lock().unwrap_or_else(|p| p.into_inner());
        c += v[0];
        s += v[1];
    }
    (c / n as f64, s / n as f64)
}

impl Kuramoto {
    pub fn new(capacity: usize, params: KuramotoParams) -> Result<Self> {
        positive("dt", params.dt)?;
        finite("coupling", params.coupling)?;
        non_negative("noise", params.noise)?;
        nonzero_capacity(capacity)?;
        Ok(Self {
            params,
            noise: NoiseKind::Gaussian,
            capacity,
            partial: (0..MAX_SEGMENTS).map(|_| Mutex::new([0.0; 2])).collect(),
            sin_theta: zeros(capacity, "Kuramoto sines")?,
            cos_theta: zeros(capacity, "Kuramoto cosines")?,
        })
    }

    pub fn params(&self) -> &KuramotoParams {
        &self.params
    }

    /// The phase-noise distribution (default [`NoiseKind::Gaussian`]).
    pub fn noise(&self) -> NoiseKind {
        self.noise
    }

    /// Switches the phase-noise distribution (see
    /// [`super::noise`]): the same variance, so the same diffusion constant
    /// and XY temperature; different trajectories.
    pub fn set_noise(&mut self, kind: NoiseKind) {
        self.noise = kind;
    }

    /// Advances phases `theta` (natural frequencies `omega`, empty = all 0)
    /// by `n_steps` steps from step `step0`. Validates everything first; the
    /// steps themselves cannot fail.
    pub fn step(
        &mut self,
        theta: &mut [f64],
        omega: &[f64],
        step0: u64,
        n_steps: usize,
    ) -> Result<usize> {
        let n = theta.len();
        within_capacity(n, self.capacity)?;
        if !omega.is_empty() {
            check_len("omega", omega.len(), n)?;
            check_finite("omega", omega)?;
        }
        check_finite("theta", theta)?;
        let prm = self.params;
        let amp = (2.0 * prm.noise * prm.dt).sqrt();
        let tau = std::f64::consts::TAU;
        if n_steps == 0 || n == 0 {
            return Ok(n_steps);
        }
        let seg = segment_len(n, SEGMENT);
        let slots = &self.partial[..];
        let (sin_t, cos_t) = (&mut self.sin_theta[..n], &mut self.cos_theta[..n]);
        // The caller's phases: their sines and cosines, and the mean field.
        for_each_segment(
            [&mut *sin_t, &mut *cos_t],
            n,
            SEGMENT,
            &|t, first, [sn, cs]| {
                let th = &theta[first..first + sn.len()];
                let mut sums = SegmentSums::new();
                for ((th, sn), cs) in th
                    .chunks(PHASE_BLOCK)
                    .zip(sn.chunks_mut(PHASE_BLOCK))
                    .zip(cs.chunks_mut(PHASE_BLOCK))
                {
                    sin_cos_each(th, sn, cs);
                    sums.add(sn, cs);
                }
                *slots[t].lock().unwrap_or_else(|p| p.into_inner()) = sums.total();
            },
        );
        let mut mean = reduce_mean(slots, n, seg);
        for s in 0..n_steps {
            let step = step0.wrapping_add(s as u64);
            // The last step's new phases need no sines and cosines.
            let last = s + 1 == n_steps;
            let (kc, ks) = (prm.coupling * mean.0, prm.coupling * mean.1);
            let (kc8, ks8) = (f64x8::splat(kc), f64x8::splat(ks));
            let (dt8, amp8, tau8) = (f64x8::splat(prm.dt), f64x8::splat(amp), f64x8::splat(tau));
            for_each_noisy_segment(
                [&mut *theta, &mut *sin_t, &mut *cos_t],
                n,
                SEGMENT,
                (prm.seed, Stream::KuramotoNoise, prm.stream, self.noise),
                &|noise, first, [th, sn, cs]| {
                    let update = |k: usize, old: f64, (sn, cs): (f64, f64), xi: f64| {
                        let w = if omega.is_empty() {
                            0.0
                        } else {
                            omega[first + k]
                        };
                        let mut next = old + prm.dt * (w + ks * cs - kc * sn);
                        if amp > 0.0 {
                            next += amp * xi;
                        }
                        wrap_into(next, tau)
                    };
                    let len = th.len();
                    let mut sums = SegmentSums::new();
                    // A block: update with the old phases' sines and
                    // cosines, then overwrite them with the new phases'.
                    let mut block = |c: usize, xi: &[f64]| {
                        // (Noise chunks are phase blocks: PHASE_BLOCK = NOISE_CHUNK.)
                        let m = PHASE_BLOCK.min(len - c);
                        let (th, sn, cs) =
                            (&mut th[c..c + m], &mut sn[c..c + m], &mut cs[c..c + m]);
                        // Eight at a time with the scalar update's operations
                        // in its order (the same bits), then the rest.
                        let mut j = 0;
                        while j + 8 <= m {
                            let load =
                                |a: &[f64]| f64x8::new(a[j..j + 8].try_into().expect("eight"));
                            let w = if omega.is_empty() {
                                f64x8::ZERO
                            } else {
                                load(&omega[first + c..])
                            };
                            let drift = (w + ks8 * load(cs)) - kc8 * load(sn);
                            let mut next = load(th) + dt8 * drift;
                            if amp > 0.0 {
                                next += amp8 * load(xi);
                            }
                            th[j..j + 8].copy_from_slice(&wrap_into8(next, tau8).to_array());
                            j += 8;
                        }
                        for j in j..m {
                            let x = if xi.is_empty() { 0.0 } else { xi[j] };
                            th[j] = update(c + j, th[j], (sn[j], cs[j]), x);
                        }
                        if !last {
                            sin_cos_each(th, sn, cs);
                            sums.add(sn, cs);
                        }
                    };
                    if amp > 0.0 {
                        for_each_noise_chunk(noise, step, n, first, len, 1, &mut block);
                    } else {
                        for c in (0..len).step_by(PHASE_BLOCK) {
                            block(c, &[]);
                        }
                    }
                    if !last {
                        *slots[first / seg].lock().unwrap_or_else(|p| p.into_inner()) =
                            sums.total();
                    }
                },
            );
            if !last {
                mean = reduce_mean(slots, n, seg);
            }
        }
        Ok(n_steps)
    }
}
