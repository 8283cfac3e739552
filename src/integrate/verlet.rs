//! Velocity Verlet (Swope, Andersen, Berens & Wilson 1982), NVE:
//! `v += dt/2 F/m; x += dt v; F = F(x); v += dt/2 F/m`.
//! Symplectic and time-reversible; energy error bounded, O(dt^2).
//! Each step call evaluates `F(x)` once at its start (so the caller may edit
//! positions between calls), then once per step.

use super::common::{
    axis_arrays, join, kick, positive, step_particles, AxisArrays, Needs, ParticleScheme,
    Workspace, UPDATE_SEGMENT,
};
use super::split::for_each_segment;
use super::state::{Particles, SimBox};
use crate::error::Result;
use crate::forces::ForceField;

/// A velocity-Verlet integrator for up to `capacity` particles.
#[derive(Debug)]
pub struct VelocityVerlet {
    pub dt: f64,
    ws: Workspace,
}

impl VelocityVerlet {
    pub fn new(dim: usize, capacity: usize, dt: f64) -> Result<Self> {
        positive("dt", dt)?;
        Ok(Self {
            dt,
            ws: Workspace::new(dim, capacity, Self::NEEDS)?,
        })
    }

    /// Advances `n_steps` steps from step index `step0`. Returns the steps
    /// completed and the first error (particles are then at the last
    /// completed step).
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

impl ParticleScheme for VelocityVerlet {
    const NEEDS: Needs = Needs {
        velocities: true,
        orientation: false,
    };
    const CARRIES_FORCES: bool = true;

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
        let dt = self.dt;
        kick_drift(&self.ws, p, 0.5 * dt, dt, b);
        self.ws.forces(ff, p, step.wrapping_add(1))?;
        kick(&self.ws, p, 0.5 * dt);
        Ok(())
    }
}

/// `v += h F/m; x = wrap(x + dt v)`.
fn kick_drift(ws: &Workspace, p: &mut Particles, h: f64, dt: f64, b: &SimBox) {
    let n = p.len();
    let im = p.inv_mass;
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    let AxisArrays { pos, vel, .. } = axis_arrays(p);
    for_each_segment(
        join(pos, vel),
        n,
        UPDATE_SEGMENT,
        &|_, first, [x, y, z, vx, vy, vz]| {
            for k in 0..x.len() {
                let i = first + k;
                let w = h * if im.is_empty() { 1.0 } else { im[i] };
                vx[k] += w * fx[i];
                vy[k] += w * fy[i];
                x[k] = b.wrap(0, x[k] + dt * vx[k]);
                y[k] = b.wrap(1, y[k] + dt * vy[k]);
                if three {
                    vz[k] += w * fz[i];
                    z[k] = b.wrap(2, z[k] + dt * vz[k]);
                }
            }
        },
    );
}
