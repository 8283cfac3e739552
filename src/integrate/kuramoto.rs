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
//! come from the vector polynomials (`f64x8::sin_cos`, a few ulp from libm
//! on `[0, 2 pi)`), eight phases at a time, with a remainder through the
//! same vector code, so values do not depend on where a phase falls.
//! Noise: element `s n + i` of stream `Stream::KuramotoNoise.with_sub(stream)`
//! (Gaussian by default, uniform with [`Kuramoto::set_noise`]).

use std::sync::Mutex;

use super::common::{
    finite, for_each_noisy_segment, non_negative, nonzero_capacity, positive, within_capacity,
};
use super::noise::{for_each_noise_chunk, NoiseKind, NOISE_CHUNK};
use super::split::{segment_len, MAX_SEGMENTS};
use super::state::{check_finite, check_len, wrap_into};
use crate::error::Result;
use crate::parallel;
use crate::rng::stream::Stream;
use crate::simd::f64x8;

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

/// A Kuramoto integrator for up to `capacity` oscillators.
#[derive(Debug)]
pub struct Kuramoto {
    params: KuramotoParams,
    noise: NoiseKind,
    capacity: usize,
    partial: Vec<Mutex<[f64; 2]>>,
}

/// `(r, psi)` of phases `theta`: `r e^{i psi} = mean of e^{i theta}`.
/// Deterministic for any thread count; allocates nothing (the per-segment
/// partial sums live on the stack).
pub fn order_parameter(theta: &[f64]) -> (f64, f64) {
    let slots: [Mutex<[f64; 2]>; MAX_SEGMENTS] = core::array::from_fn(|_| Mutex::new([0.0; 2]));
    let (c, s) = mean_field(theta, &slots);
    ((c * c + s * s).sqrt(), s.atan2(c))
}

/// `(sin, cos)` of eight phases by the vector polynomials (wide's
/// `f64x8::sin_cos`, within a few ulp of libm for the phases kept in
/// `[0, 2 pi)`; about ten times cheaper than two scalar libm calls).
#[inline(always)]
fn sin_cos8(th: &[f64]) -> (f64x8, f64x8) {
    f64x8::new(th[..8].try_into().expect("eight phases")).sin_cos()
}

/// `(sin, cos)` of one phase by the same vector code as [`sin_cos8`], so a
/// phase's values do not depend on whether it falls in a group of eight.
#[inline(always)]
fn sin_cos1(th: f64) -> (f64, f64) {
    let (s, c) = f64x8::splat(th).sin_cos();
    (s.to_array()[0], c.to_array()[0])
}

/// `(sin, cos)` of each phase of `th` (at most [`PHASE_BLOCK`]) into the
/// first `th.len()` entries of `sn`, `cs`.
#[inline(always)]
fn phase_sin_cos(th: &[f64], sn: &mut [f64; PHASE_BLOCK], cs: &mut [f64; PHASE_BLOCK]) {
    let mut j = 0;
    while j + 8 <= th.len() {
        let (s, c) = sin_cos8(&th[j..]);
        sn[j..j + 8].copy_from_slice(&s.to_array());
        cs[j..j + 8].copy_from_slice(&c.to_array());
        j += 8;
    }
    for k in j..th.len() {
        (sn[k], cs[k]) = sin_cos1(th[k]);
    }
}

/// Phases per block of [`phase_sin_cos`] (the noise chunk length).
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
    let (mut c, mut s) = (0.0, 0.0);
    for slot in &slots[..n_seg] {
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
        for s in 0..n_steps {
            let step = step0.wrapping_add(s as u64);
            let (c, sm) = mean_field(theta, &self.partial);
            let (kc, ks) = (prm.coupling * c, prm.coupling * sm);
            for_each_noisy_segment(
                [&mut *theta],
                n,
                SEGMENT,
                (prm.seed, Stream::KuramotoNoise, prm.stream, self.noise),
                &|noise, first, [th]| {
                    let update = |k: usize, old: f64, (sn, cs): (f64, f64), xi: Option<f64>| {
                        let w = if omega.is_empty() {
                            0.0
                        } else {
                            omega[first + k]
                        };
                        let mut next = old + prm.dt * (w + ks * cs - kc * sn);
                        if let Some(xi) = xi {
                            next += amp * xi;
                        }
                        wrap_into(next, tau)
                    };
                    let (mut sn, mut cs) = ([0.0; PHASE_BLOCK], [0.0; PHASE_BLOCK]);
                    if amp > 0.0 {
                        for_each_noise_chunk(noise, step, n, first, th.len(), 1, |c, xi| {
                            let block = &mut th[c..c + xi.len()];
                            phase_sin_cos(block, &mut sn, &mut cs);
                            for (j, &x) in xi.iter().enumerate() {
                                block[j] = update(c + j, block[j], (sn[j], cs[j]), Some(x));
                            }
                        });
                    } else {
                        for (b, block) in th.chunks_mut(PHASE_BLOCK).enumerate() {
                            phase_sin_cos(block, &mut sn, &mut cs);
                            for (j, t) in block.iter_mut().enumerate() {
                                let k = b * PHASE_BLOCK + j;
                                *t = update(k, *t, (sn[j], cs[j]), None);
                            }
                        }
                    }
                },
            );
        }
        Ok(n_steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector sines and cosines against libm over a dense sweep of
    /// `[0, 2 pi)` (where the integrator keeps phases) and a few unwrapped
    /// phases a caller may pass in: within one ulp of 1 (2.2e-16) absolute
    /// on `[0, 2 pi)` (measured: exactly that) and 1e-15 relative to
    /// |theta| beyond; the
    /// eight-lane and the one-phase forms give the same bits.
    #[test]
    fn vector_sin_cos_matches_libm_and_its_one_phase_form() {
        let tau = std::f64::consts::TAU;
        let mut worst = 0.0f64;
        let sweep: Vec<f64> = (0..200_003).map(|k| tau * k as f64 / 200_003.0).collect();
        for g in sweep.chunks_exact(8) {
            let (s8, c8) = sin_cos8(g);
            for (l, &th) in g.iter().enumerate() {
                let (s, c) = sin_cos1(th);
                assert_eq!(s.to_bits(), s8.to_array()[l].to_bits(), "sin {th}");
                assert_eq!(c.to_bits(), c8.to_array()[l].to_bits(), "cos {th}");
                worst = worst.max((s - th.sin()).abs()).max((c - th.cos()).abs());
            }
        }
        assert!(worst <= f64::EPSILON, "worst error on [0, 2 pi): {worst:e}");
        for th in [-10.0, -1e-300, 0.0, 7.5, 50.0, 1e4, -3e5] {
            let (s, c) = sin_cos1(th);
            let tol = 1e-15 * f64::max(1.0, th.abs());
            assert!((s - th.sin()).abs() <= tol, "sin {th}");
            assert!((c - th.cos()).abs() <= tol, "cos {th}");
        }
    }
}
