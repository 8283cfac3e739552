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
                            sin_cos_each(block, &mut sn, &mut cs);
                            for (j, &x) in xi.iter().enumerate() {
                                block[j] = update(c + j, block[j], (sn[j], cs[j]), Some(x));
                            }
                        });
                    } else {
                        for (b, block) in th.chunks_mut(PHASE_BLOCK).enumerate() {
                            sin_cos_each(block, &mut sn, &mut cs);
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
