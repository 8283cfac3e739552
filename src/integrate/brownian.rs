//! Overdamped Langevin (Brownian) dynamics by Euler-Maruyama
//! (Ermak & McCammon, J. Chem. Phys. 69, 1352 (1978)):
//! `x += mu F dt + sqrt(2 D dt) xi`, with mobility `mu` and `D = mu kT`
//! (Einstein relation). Free diffusion gives `<|dx|^2> = 2 d D t` exactly;
//! in a harmonic trap of stiffness `k` the stationary variance is
//! `kT/k / (1 - mu k dt / 2)` (exact for this scheme), `kT/k` as `dt -> 0`.
//!
//! Noise: draw `a` of particle `i` at step `s` is noise element
//! `(s n + i) dim + a` of stream `Stream::BrownianNoise.with_sub(stream)`.

use super::common::{
    axis_arrays, for_each_noisy_segment, non_negative, positive, step_particles, Needs,
    ParticleScheme, Workspace, UPDATE_SEGMENT,
};
use super::noise::{for_each_noise_chunk, NoiseKind};
use super::state::{Particles, SimBox};
use crate::error::Result;
use crate::forces::ForceField;
use crate::rng::stream::Stream;

/// Brownian-dynamics parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BrownianParams {
    pub dt: f64,
    /// Mobility mu = 1 / (friction coefficient), > 0.
    pub mobility: f64,
    /// Temperature kT >= 0; D = mu kT.
    pub kt: f64,
    pub seed: u64,
    pub stream: u64,
}

/// An Euler-Maruyama Brownian integrator.
#[derive(Debug)]
pub struct Brownian {
    params: BrownianParams,
    noise: NoiseKind,
    ws: Workspace,
}

impl Brownian {
    pub fn new(dim: usize, capacity: usize, params: BrownianParams) -> Result<Self> {
        positive("dt", params.dt)?;
        positive("mobility", params.mobility)?;
        non_negative("kT", params.kt)?;
        Ok(Self {
            params,
            noise: NoiseKind::Gaussian,
            ws: Workspace::new(dim, capacity, Self::NEEDS)?,
        })
    }

    pub fn params(&self) -> &BrownianParams {
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

    /// Advances `n_steps` steps from `step0` (velocities are not used).
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

impl ParticleScheme for Brownian {
    const NEEDS: Needs = Needs {
        velocities: false,
        orientation: false,
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
        brownian_update(&self.ws, (&self.params, self.noise), p, step, b);
        Ok(())
    }
}

fn brownian_update(
    ws: &Workspace,
    (prm, kind): (&BrownianParams, NoiseKind),
    p: &mut Particles,
    step: u64,
    b: &SimBox,
) {
    let n = p.len();
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    let dim = p.dim;
    let drift = prm.mobility * prm.dt;
    let amp = (2.0 * prm.mobility * prm.kt * prm.dt).sqrt();
    for_each_noisy_segment(
        axis_arrays(p).pos,
        n,
        UPDATE_SEGMENT,
        (prm.seed, Stream::BrownianNoise, prm.stream, kind),
        &|noise, first, [x, y, z]| {
            for_each_noise_chunk(noise, step, n, first, x.len(), dim, |c, xi| {
                for (j, xi) in xi.chunks_exact(dim).enumerate() {
                    let (k, i) = (c + j, first + c + j);
                    x[k] = b.wrap(0, x[k] + drift * fx[i] + amp * xi[0]);
                    y[k] = b.wrap(1, y[k] + drift * fy[i] + amp * xi[1]);
                    if three {
                        z[k] = b.wrap(2, z[k] + drift * fz[i] + amp * xi[2]);
                    }
                }
            });
        },
    );
}
