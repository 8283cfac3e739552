//! Active Brownian particles (ABPs) in 2D and 3D, Euler-Maruyama
//! (Romanczuk et al., Eur. Phys. J. ST 202, 1 (2012); Bechinger et al., Rev.
//! Mod. Phys. 88, 045006 (2016)):
//! `x += (v0 e + mu F) dt + sqrt(2 D dt) xi` with `D = mu kT`, and the
//! orientation `e` diffusing with rotational diffusion `Dr`.
//! In 2D, `theta += tau dt + sqrt(2 Dr dt) xi_theta` and `e` is rotated by
//! that angle exactly (sine and cosine from [`crate::simd::trig`], eight
//! particles at a time), so `<e(t).e(0)> = exp(-Dr t)` and the free MSD is
//! `4 D t + 2 v0^2/Dr^2 (Dr t + exp(-Dr t) - 1)`. In 3D,
//! `e <- normalise(e + sqrt(2 Dr dt) xi x e)` (first order in dt).
//!
//! Optional 2D torques `tau` for "intelligent" ABPs / pedestrians:
//! * vision-cone steering (Bauerle, Loffler & Bechinger, Nat. Commun. 9, 3232
//!   (2018)): `tau_i = (Omega / N_i) sum_{j in cone} exp(-r_ij / R0)
//!   sin(phi_ij - theta_i)`, the cone being the particles within `range`
//!   whose direction `phi_ij` differs from `theta_i` by at most `psi`, `N_i`
//!   their number. Evaluated over all pairs (O(N^2), meant for N <= ~10^4);
//! * goal fixation: `tau_i += K sin(phi_goal,i - theta_i)` with `phi_goal,i`
//!   the direction from particle `i` to the goal point.
//!
//! Noise: per particle and step, draws `0..dim` translate and the next
//! (1 in 2D, 3 in 3D) rotate; element `(s n + i) D + d` with `D = 3` (2D) or
//! `6` (3D) of stream `Stream::ActiveRotationNoise.with_sub(stream)`.

use super::common::{
    axis_arrays, finite, for_each_noisy_segment, join, non_negative, positive, step_particles,
    AxisArrays, Needs, ParticleScheme, Workspace, UPDATE_SEGMENT,
};
use super::noise::{for_each_noise_chunk, NoiseKind, NOISE_CHUNK};
use super::split::for_each_segment;
use super::state::{Particles, SimBox};
use crate::error::{Error, ErrorKind, Result};
use crate::forces::ForceField;
use crate::rng::stream::Stream;
use crate::simd::f64x8;
use crate::simd::trig::sin_cos_each;

/// ABP parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActiveParams {
    pub dt: f64,
    /// Self-propulsion speed v0.
    pub v0: f64,
    /// Rotational diffusion coefficient Dr >= 0.
    pub dr: f64,
    /// Mobility mu > 0 (force to velocity).
    pub mobility: f64,
    /// Temperature kT >= 0: translational D = mu kT.
    pub kt: f64,
    pub seed: u64,
    pub stream: u64,
    /// Vision-cone maneuverability Omega (0 = off; 2D only).
    pub vision_omega: f64,
    /// Vision-cone half-angle psi in radians, in [0, pi].
    pub vision_angle: f64,
    /// Vision range (particles farther away are not seen), > 0 when Omega != 0.
    pub vision_range: f64,
    /// Decay length R0 of the exp(-r/R0) weight, > 0 when Omega != 0.
    pub vision_decay: f64,
    /// Goal-fixation strength K (0 = off; 2D only).
    pub goal_k: f64,
    /// Goal point (x, y).
    pub goal: [f64; 2],
}

impl Default for ActiveParams {
    fn default() -> Self {
        Self {
            dt: 1e-3,
            v0: 1.0,
            dr: 1.0,
            mobility: 1.0,
            kt: 0.0,
            seed: 0,
            stream: 0,
            vision_omega: 0.0,
            vision_angle: std::f64::consts::FRAC_PI_4,
            vision_range: 1.0,
            vision_decay: 1.0,
            goal_k: 0.0,
            goal: [0.0; 2],
        }
    }
}

/// An ABP integrator.
#[derive(Debug)]
pub struct ActiveBrownian {
    params: ActiveParams,
    noise: NoiseKind,
    ws: Workspace,
    torque: Vec<f64>,
}

impl ActiveBrownian {
    pub fn new(dim: usize, capacity: usize, params: ActiveParams) -> Result<Self> {
        positive("dt", params.dt)?;
        finite("v0", params.v0)?;
        non_negative("Dr", params.dr)?;
        positive("mobility", params.mobility)?;
        non_negative("kT", params.kt)?;
        non_negative("vision_omega", params.vision_omega)?;
        non_negative("goal_k", params.goal_k)?;
        finite("goal x", params.goal[0])?;
        finite("goal y", params.goal[1])?;
        let steering = params.vision_omega > 0.0 || params.goal_k > 0.0;
        if steering && dim != 2 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "vision-cone and goal torques are defined in 2D only (dim = 3 given)",
            ));
        }
        if params.vision_omega > 0.0 {
            positive("vision_range", params.vision_range)?;
            positive("vision_decay", params.vision_decay)?;
            non_negative("vision_angle", params.vision_angle)?;
            if params.vision_angle > std::f64::consts::PI {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("vision_angle = {} must be <= pi", params.vision_angle),
                ));
            }
        }
        Ok(Self {
            params,
            noise: NoiseKind::Gaussian,
            ws: Workspace::new(dim, capacity, Self::NEEDS)?,
            torque: vec![0.0; if steering { capacity } else { 0 }],
        })
    }

    pub fn params(&self) -> &ActiveParams {
        &self.params
    }

    /// The noise distribution (default [`NoiseKind::Gaussian`]).
    pub fn noise(&self) -> NoiseKind {
        self.noise
    }

    /// Switches the noise distribution (see [`super::noise`]): the same
    /// variance, so the same thermostat; different trajectories.
    pub fn set_noise(&mut self, kind: NoiseKind) {
        self.noise = kind;
    }

    /// Advances `n_steps` steps from `step0`; positions and the orientation
    /// unit vectors `(ox, oy[, oz])` are updated (velocities unused).
    pub fn step(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step0: u64,
        n_steps: usize,
    ) -> (usize, Result<()>) {
        step_particles(self, ff, p, step0, n_steps)
    }
}

impl ParticleScheme for ActiveBrownian {
    const NEEDS: Needs = Needs {
        velocities: false,
        orientation: true,
        carried_forces: false,
    };

    fn workspace(&mut self) -> &mut Workspace {
        &mut self.ws
    }

    fn one_step(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step: u64,
        b: &SimBox,
    ) -> Result<()> {
        self.ws.forces(ff, p, step)?;
        if !self.torque.is_empty() {
            steering_torques(&self.params, p, b, &mut self.torque);
        }
        active_update(
            &self.ws,
            (&self.params, self.noise),
            &self.torque,
            p,
            step,
            b,
        );
        Ok(())
    }
}

/// Vision-cone and goal torques of every particle (2D), gathered per particle.
fn steering_torques(prm: &ActiveParams, p: &Particles, b: &SimBox, torque: &mut [f64]) {
    let n = p.len();
    let (x, y, ox, oy) = (&*p.x, &*p.y, &*p.ox, &*p.oy);
    let cone = Cone {
        cos_psi: prm.vision_angle.cos(),
        range2: prm.vision_range * prm.vision_range,
        decay: prm.vision_decay,
    };
    for_each_segment([&mut torque[..n]], n, 256, &|_, first, [t]| {
        for k in 0..t.len() {
            let i = first + k;
            let theta = oy[i].atan2(ox[i]);
            let mut tau = 0.0;
            if prm.vision_omega > 0.0 {
                let (sum, count) = cone.sum(i, x, y, (ox[i], oy[i]), b);
                if count > 0 {
                    tau += prm.vision_omega * sum / count as f64;
                }
            }
            if prm.goal_k > 0.0 {
                let phi = (prm.goal[1] - y[i]).atan2(prm.goal[0] - x[i]);
                tau += prm.goal_k * (phi - theta).sin();
            }
            t[k] = tau;
        }
    });
}

/// The vision cone of the steering torque.
struct Cone {
    cos_psi: f64,
    range2: f64,
    decay: f64,
}

impl Cone {
    /// `(sum_{j in cone} exp(-r_ij / R0) sin(phi_ij - theta_i), N_i)` over
    /// the particles `j != i` within range whose direction differs from the
    /// heading `e_i = (ex, ey)` by at most psi (`e_i . r_ij >= |e_i| r cos
    /// psi`: only the direction of `e_i` counts, as in `theta_i`).
    /// `sin(phi_ij - theta_i)` is evaluated as `(e_i x r_ij) / (|e_i| r)`
    /// (the same quantity without two arctangents and a sine), eight
    /// partners at a time; the last
    /// partial group is padded with particle `i` itself, which the `r > 0`
    /// test drops.
    #[inline]
    fn sum(
        &self,
        i: usize,
        x: &[f64],
        y: &[f64],
        (ex, ey): (f64, f64),
        b: &SimBox,
    ) -> (f64, usize) {
        let n = x.len();
        let (xi, yi) = (f64x8::splat(x[i]), f64x8::splat(y[i]));
        let (ex8, ey8) = (f64x8::splat(ex), f64x8::splat(ey));
        let norm = f64x8::splat(ex.hypot(ey));
        let (cos_psi, range2) = (f64x8::splat(self.cos_psi), f64x8::splat(self.range2));
        let decay = f64x8::splat(self.decay);
        let (mut sum, mut count) = (f64x8::ZERO, f64x8::ZERO);
        let mut group = |xj: f64x8, yj: f64x8| {
            let dx = b.min_image8(0, xj - xi);
            let dy = b.min_image8(1, yj - yi);
            let r2 = dx * dx + dy * dy;
            let in_range = r2.simd_lt(range2) & r2.simd_gt(f64x8::ZERO);
            // Most groups hold no partner in range: skip the exponential.
            if !in_range.any() {
                return;
            }
            let r = r2.sqrt();
            let in_cone = !((dx * ex8 + dy * ey8) / (r * norm)).simd_lt(cos_psi);
            let seen = in_range & in_cone;
            let w = (-r / decay).exp() * ((ex8 * dy - ey8 * dx) / (r * norm));
            sum += seen.select(w, f64x8::ZERO);
            count += seen.select(f64x8::ONE, f64x8::ZERO);
        };
        let mut j = 0;
        while j + 8 <= n {
            let xj = f64x8::new(x[j..j + 8].try_into().expect("eight partners"));
            let yj = f64x8::new(y[j..j + 8].try_into().expect("eight partners"));
            group(xj, yj);
            j += 8;
        }
        if j < n {
            let (mut xt, mut yt) = ([x[i]; 8], [y[i]; 8]);
            xt[..n - j].copy_from_slice(&x[j..]);
            yt[..n - j].copy_from_slice(&y[j..]);
            group(f64x8::new(xt), f64x8::new(yt));
        }
        (sum.reduce_add(), count.reduce_add() as usize)
    }
}

fn active_update(
    ws: &Workspace,
    (prm, kind): (&ActiveParams, NoiseKind),
    torque: &[f64],
    p: &mut Particles,
    step: u64,
    b: &SimBox,
) {
    let n = p.len();
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    let draws: usize = if three { 6 } else { 3 };
    let dt = prm.dt;
    let mu = prm.mobility;
    let amp = (2.0 * prm.mobility * prm.kt * dt).sqrt();
    let ramp = (2.0 * prm.dr * dt).sqrt();
    let AxisArrays { pos, orient, .. } = axis_arrays(p);
    for_each_noisy_segment(
        join(pos, orient),
        n,
        UPDATE_SEGMENT,
        (prm.seed, Stream::ActiveRotationNoise, prm.stream, kind),
        &|noise, first, [x, y, z, ox, oy, oz]| {
            let (mut rot_s, mut rot_c) = ([0.0; NOISE_CHUNK], [0.0; NOISE_CHUNK]);
            for_each_noise_chunk(noise, step, n, first, x.len(), draws, |c, xi| {
                if !three {
                    // The chunk's rotation angles, then their sines and
                    // cosines eight at a time (crate::simd::trig).
                    let m = xi.len() / draws;
                    let mut dtheta = [0.0; NOISE_CHUNK];
                    for (j, d) in dtheta[..m].iter_mut().enumerate() {
                        let i = first + c + j;
                        let tau = if torque.is_empty() { 0.0 } else { torque[i] };
                        *d = tau * dt + ramp * xi[draws * j + 2];
                    }
                    sin_cos_each(&dtheta[..m], &mut rot_s, &mut rot_c);
                }
                for (j, xi) in xi.chunks_exact(draws).enumerate() {
                    let (k, i) = (c + j, first + c + j);
                    x[k] = b.wrap(0, x[k] + (prm.v0 * ox[k] + mu * fx[i]) * dt + amp * xi[0]);
                    y[k] = b.wrap(1, y[k] + (prm.v0 * oy[k] + mu * fy[i]) * dt + amp * xi[1]);
                    if three {
                        z[k] = b.wrap(2, z[k] + (prm.v0 * oz[k] + mu * fz[i]) * dt + amp * xi[2]);
                        let w = [ramp * xi[3], ramp * xi[4], ramp * xi[5]];
                        let (a, bb, c) = (ox[k], oy[k], oz[k]);
                        let nx = a + (w[1] * c - w[2] * bb);
                        let ny = bb + (w[2] * a - w[0] * c);
                        let nz = c + (w[0] * bb - w[1] * a);
                        let inv = 1.0 / (nx * nx + ny * ny + nz * nz).sqrt();
                        ox[k] = nx * inv;
                        oy[k] = ny * inv;
                        oz[k] = nz * inv;
                    } else {
                        let (s, c) = (rot_s[j], rot_c[j]);
                        let (a, bb) = (ox[k], oy[k]);
                        let (nx, ny) = (c * a - s * bb, s * a + c * bb);
                        let inv = 1.0 / (nx * nx + ny * ny).sqrt();
                        ox[k] = nx * inv;
                        oy[k] = ny * inv;
                    }
                }
            });
        },
    );
}
