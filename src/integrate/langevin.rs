//! BAOAB Langevin dynamics (Leimkuhler & Matthews, Appl. Math. Res. Express
//! 2013, 34; J. Chem. Phys. 138, 174102 (2013)):
//! `B(dt/2) A(dt/2) O(dt) A(dt/2) B(dt/2)` with
//! `B: v += h F/m`, `A: x += h v`,
//! `O: v = c1 v + sqrt((1 - c1^2) kT / m) xi`, `c1 = exp(-gamma dt)`.
//! Configurational averages are exact to O(dt^2) with a small (superconvergent)
//! error for harmonic forces: `<x^2> = kT/k` exactly for a harmonic trap.
//!
//! Noise: draw `a` (axis) of particle `i` at step `s` is normal element
//! `(s n + i) dim + a` of stream `Stream::LangevinNoise.with_sub(stream)`
//! (see [`super::noise`]).

use super::common::{non_negative, positive, run_steps, sim_box, Needs, Workspace, UPDATE_SEGMENT};
use super::noise::{element, NormalSource};
use super::split::for_each_segment;
use super::state::{Particles, SimBox};
use super::verlet::kick;
use crate::error::Result;
use crate::forces::ForceField;
use crate::rng::stream::Stream;

/// BAOAB parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LangevinParams {
    pub dt: f64,
    /// Friction rate gamma (1/time), >= 0 (0 gives velocity Verlet).
    pub gamma: f64,
    /// Temperature kT (energy), >= 0.
    pub kt: f64,
    pub seed: u64,
    /// User sub-stream (< 2^48).
    pub stream: u64,
}

/// A BAOAB integrator for up to `capacity` particles.
#[derive(Debug)]
pub struct Baoab {
    params: LangevinParams,
    ws: Workspace,
}

const NEEDS: Needs = Needs {
    velocities: true,
    orientation: false,
};

impl Baoab {
    pub fn new(dim: usize, capacity: usize, params: LangevinParams) -> Result<Self> {
        positive("dt", params.dt)?;
        non_negative("gamma", params.gamma)?;
        non_negative("kT", params.kt)?;
        Ok(Self {
            params,
            ws: Workspace::new(dim, capacity, NEEDS)?,
        })
    }

    pub fn params(&self) -> &LangevinParams {
        &self.params
    }

    /// Changes the temperature (e.g. for annealing); same checks as `new`.
    pub fn set_kt(&mut self, kt: f64) -> Result<()> {
        non_negative("kT", kt)?;
        self.params.kt = kt;
        Ok(())
    }

    /// Advances `n_steps` steps from step index `step0`; see
    /// [`super::verlet::VelocityVerlet::step`] for the contract.
    pub fn step(
        &mut self,
        mut ff: Option<&mut ForceField>,
        p: &mut Particles,
        step0: u64,
        n_steps: usize,
    ) -> (usize, Result<()>) {
        if let Err(e) = self.ws.check(ff.as_deref(), p, NEEDS) {
            return (0, Err(e));
        }
        if n_steps == 0 {
            return (0, Ok(()));
        }
        let b = sim_box(ff.as_deref(), p.dim);
        if let Some(local) = ff.as_deref().filter(|f| f.is_local()) {
            // Only one-body fields: the whole step in one pass per particle
            // (6 arrays read and written instead of 15), same bits.
            for s in 0..n_steps {
                baoab_local(local, &self.params, p, step0.wrapping_add(s as u64), &b);
            }
            return (n_steps, Ok(()));
        }
        if let Err(e) = self.ws.forces(ff.as_deref_mut(), p, step0) {
            return (0, Err(e));
        }
        run_steps(
            self,
            |s| &mut s.ws,
            ff,
            p,
            step0,
            n_steps,
            |s, ff, p, step| {
                baoa(&s.ws, &s.params, p, step, &b);
                s.ws.forces(ff, p, step.wrapping_add(1))?;
                kick(&s.ws, p, 0.5 * s.params.dt);
                Ok(())
            },
        )
    }
}

/// The first four sub-steps B A O A, fused in one pass.
fn baoa(ws: &Workspace, prm: &LangevinParams, p: &mut Particles, step: u64, b: &SimBox) {
    let n = p.len();
    let im = p.inv_mass;
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    let dim = p.dim as u64;
    let h = 0.5 * prm.dt;
    let c1 = (-prm.gamma * prm.dt).exp();
    let c2 = ((1.0 - c1 * c1) * prm.kt).sqrt();
    let (z, vz): (&mut [f64], &mut [f64]) = if three {
        (&mut *p.z, &mut *p.vz)
    } else {
        (&mut [], &mut [])
    };
    for_each_segment(
        [&mut *p.x, &mut *p.y, z, &mut *p.vx, &mut *p.vy, vz],
        n,
        UPDATE_SEGMENT,
        &|_, first, [x, y, z, vx, vy, vz]| {
            let mut noise = NormalSource::new(prm.seed, Stream::LangevinNoise, prm.stream);
            for k in 0..x.len() {
                let i = first + k;
                let m1 = if im.is_empty() { 1.0 } else { im[i] };
                let (w, s) = (h * m1, c2 * m1.sqrt());
                let e = element(step, n, i, dim, 0);
                let mut v = vx[k] + w * fx[i];
                let mut q = x[k] + h * v;
                v = c1 * v + s * noise.normal(e);
                vx[k] = v;
                x[k] = b.wrap(0, q + h * v);
                v = vy[k] + w * fy[i];
                q = y[k] + h * v;
                v = c1 * v + s * noise.normal(e + 1);
                vy[k] = v;
                y[k] = b.wrap(1, q + h * v);
                if three {
                    v = vz[k] + w * fz[i];
                    q = z[k] + h * v;
                    v = c1 * v + s * noise.normal(e + 2);
                    vz[k] = v;
                    z[k] = b.wrap(2, q + h * v);
                }
            }
        },
    );
}

/// One whole BAOAB step for a local (one-body) force field, fused per
/// particle: `F(x)` is recomputed from the position instead of stored, which
/// gives the same bits as the stored force of the previous step.
fn baoab_local(ff: &ForceField, prm: &LangevinParams, p: &mut Particles, step: u64, b: &SimBox) {
    let n = p.len();
    let im = p.inv_mass;
    let three = p.dim == 3;
    let dim = p.dim;
    let h = 0.5 * prm.dt;
    let c1 = (-prm.gamma * prm.dt).exp();
    let c2 = ((1.0 - c1 * c1) * prm.kt).sqrt();
    let (z, vz): (&mut [f64], &mut [f64]) = if three {
        (&mut *p.z, &mut *p.vz)
    } else {
        (&mut [], &mut [])
    };
    for_each_segment(
        [&mut *p.x, &mut *p.y, z, &mut *p.vx, &mut *p.vy, vz],
        n,
        UPDATE_SEGMENT,
        &|_, first, [x, y, z, vx, vy, vz]| {
            let mut noise = NormalSource::new(prm.seed, Stream::LangevinNoise, prm.stream);
            for k in 0..x.len() {
                let i = first + k;
                let m1 = if im.is_empty() { 1.0 } else { im[i] };
                let (w, s) = (h * m1, c2 * m1.sqrt());
                let e = element(step, n, i, dim as u64, 0);
                let r0 = [x[k], y[k], if three { z[k] } else { 0.0 }];
                let f0 = ff.local_force(dim, r0);
                let mut v = vx[k] + w * f0[0];
                let mut q = x[k] + h * v;
                v = c1 * v + s * noise.normal(e);
                let vx1 = v;
                let x1 = b.wrap(0, q + h * v);
                v = vy[k] + w * f0[1];
                q = y[k] + h * v;
                v = c1 * v + s * noise.normal(e + 1);
                let vy1 = v;
                let y1 = b.wrap(1, q + h * v);
                let (mut vz1, mut z1) = (0.0, 0.0);
                if three {
                    v = vz[k] + w * f0[2];
                    q = z[k] + h * v;
                    v = c1 * v + s * noise.normal(e + 2);
                    vz1 = v;
                    z1 = b.wrap(2, q + h * v);
                }
                let f1 = ff.local_force(dim, [x1, y1, z1]);
                x[k] = x1;
                y[k] = y1;
                vx[k] = vx1 + w * f1[0];
                vy[k] = vy1 + w * f1[1];
                if three {
                    z[k] = z1;
                    vz[k] = vz1 + w * f1[2];
                }
            }
        },
    );
}
