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
//! segment order: bitwise identical for any thread count.
//! Noise: element `s n + i` of stream `Stream::KuramotoNoise.with_sub(stream)`.

use std::sync::Mutex;

use super::common::{
    finite, for_each_noisy_segment, non_negative, nonzero_capacity, positive, within_capacity,
};
use super::noise::{for_each_noise_chunk, NoiseKind};
use super::split::{segment_len, MAX_SEGMENTS};
use super::state::{check_finite, check_len, wrap_into};
use crate::error::Result;
use crate::parallel;
use crate::rng::stream::Stream;

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

fn mean_field(theta: &[f64], slots: &[Mutex<[f64; 2]>]) -> (f64, f64) {
    let n = theta.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let seg = segment_len(n, SEGMENT);
    let n_seg = n.div_ceil(seg);
    parallel::run(n_seg, &|t| {
        let part = &theta[t * seg..((t + 1) * seg).min(n)];
        let (mut c, mut s) = (0.0, 0.0);
        for &th in part {
            let (sn, cs) = th.sin_cos();
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
            capacity,
            partial: (0..MAX_SEGMENTS).map(|_| Mutex::new([0.0; 2])).collect(),
        })
    }

    pub fn params(&self) -> &KuramotoParams {
        &self.params
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
                (
                    prm.seed,
                    Stream::KuramotoNoise,
                    prm.stream,
                    NoiseKind::Gaussian,
                ),
                &|noise, first, [th]| {
                    let update = |k: usize, old: f64, xi: Option<f64>| {
                        let (sn, cs) = old.sin_cos();
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
                    if amp > 0.0 {
                        for_each_noise_chunk(noise, step, n, first, th.len(), 1, |c, xi| {
                            for (j, &x) in xi.iter().enumerate() {
                                th[c + j] = update(c + j, th[c + j], Some(x));
                            }
                        });
                    } else {
                        for (k, t) in th.iter_mut().enumerate() {
                            *t = update(k, *t, None);
                        }
                    }
                },
            );
        }
        Ok(n_steps)
    }
}
