//! Velocity Verlet (Swope, Andersen, Berens & Wilson 1982), NVE:
//! `v += dt/2 F/m; x += dt v; F = F(x); v += dt/2 F/m`.
//! Symplectic and time-reversible; energy error bounded, O(dt^2).
//! Each step call evaluates `F(x)` once at its start (so the caller may edit
//! positions between calls), then once per step.

use super::common::{positive, run_steps, sim_box, Needs, Workspace, UPDATE_SEGMENT};
use super::split::for_each_segment;
use super::state::Particles;
use crate::error::Result;
use crate::forces::ForceField;

/// A velocity-Verlet integrator for up to `capacity` particles.
#[derive(Debug)]
pub struct VelocityVerlet {
    pub dt: f64,
    ws: Workspace,
}

const NEEDS: Needs = Needs {
    velocities: true,
    orientation: false,
};

impl VelocityVerlet {
    pub fn new(dim: usize, capacity: usize, dt: f64) -> Result<Self> {
        positive("dt", dt)?;
        Ok(Self {
            dt,
            ws: Workspace::new(dim, capacity, NEEDS)?,
        })
    }

    /// Advances `n_steps` steps from step index `step0`. Returns the steps
    /// completed and the first error (particles are then at the last
    /// completed step).
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
        if let Err(e) = self.ws.forces(ff.as_deref_mut(), p, step0) {
            return (0, Err(e));
        }
        let b = sim_box(ff.as_deref(), p.dim);
        run_steps(
            self,
            |s| &mut s.ws,
            ff,
            p,
            step0,
            n_steps,
            |s, ff, p, step| {
                let dt = s.dt;
                kick_drift(&s.ws, p, 0.5 * dt, dt, &b);
                s.ws.forces(ff, p, step.wrapping_add(1))?;
                kick(&s.ws, p, 0.5 * dt);
                Ok(())
            },
        )
    }
}

/// `v += h F/m; x = wrap(x + dt v)`.
fn kick_drift(ws: &Workspace, p: &mut Particles, h: f64, dt: f64, b: &super::state::SimBox) {
    let n = p.len();
    let im = p.inv_mass;
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
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

/// `v += h F/m`.
pub(crate) fn kick(ws: &Workspace, p: &mut Particles, h: f64) {
    let n = p.len();
    let im = p.inv_mass;
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    let vz: &mut [f64] = if three { &mut *p.vz } else { &mut [] };
    for_each_segment(
        [&mut *p.vx, &mut *p.vy, vz],
        n,
        UPDATE_SEGMENT,
        &|_, first, [vx, vy, vz]| {
            for k in 0..vx.len() {
                let i = first + k;
                let w = h * if im.is_empty() { 1.0 } else { im[i] };
                vx[k] += w * fx[i];
                vy[k] += w * fy[i];
                if three {
                    vz[k] += w * fz[i];
                }
            }
        },
    );
}
