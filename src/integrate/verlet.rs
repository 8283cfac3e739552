//! Velocity Verlet (Swope, Andersen, Berens & Wilson 1982), NVE:
//! `v += dt/2 F/m; x += dt v; F = F(x); v += dt/2 F/m`.
//! Symplectic and time-reversible; energy error bounded, O(dt^2).
//! Each step call evaluates `F(x)` once at its start (so the caller may edit
//! positions between calls; skipped when the previous call ended with the
//! same field and bitwise the same positions, see
//! [`super::common::Workspace::forces_at_call_start`]), then once per step.
//!
//! **Bit-reversible mode** ([`VelocityVerlet::set_bit_reversible`], after
//! Levesque & Verlet, J. Stat. Phys. 72, 519 (1993)): positions and
//! velocities live on the grid `q Z` with `q = 2^-k`, and every increment is
//! rounded to it, `v += R(dt/2 F/m)`, `x += R(dt v)`, with
//! `R(a) = q round_ties_even(a / q)`. Grid numbers below `2^(52-k)` add
//! exactly, each sub-step is an exact shear, and `R(-a) = -R(a)`: negating
//! the velocities and stepping again retraces the trajectory bit for bit,
//! for any number of steps, however chaotic the system (in floating point a
//! chaotic fluid amplifies rounding by its Lyapunov exponent instead). This
//! needs forces that are a pure function of the positions, which pair terms
//! are (the neighbour-list sum does not depend on when the list was built),
//! and periodic box lengths that are multiples of `q`. The rounding is a
//! perturbation of size `q` per step (`k = 40`: 1e-12), far below the
//! integrator's own O(dt^2) error.

use super::common::{
    axis_arrays, join, kick, positive, step_particles, AxisArrays, Needs, ParticleScheme,
    Workspace, UPDATE_SEGMENT,
};
use super::split::for_each_segment;
use super::state::{Particles, SimBox};
use crate::error::{Error, ErrorKind, Result};
use crate::forces::ForceField;

/// A velocity-Verlet integrator for up to `capacity` particles.
#[derive(Debug)]
pub struct VelocityVerlet {
    pub dt: f64,
    ws: Workspace,
    /// `k` of the bit-reversible grid `2^-k`; 0 = ordinary floating point.
    fraction_bits: u32,
}

/// Smallest and largest `k` of the bit-reversible grid `2^-k`.
pub const REVERSIBLE_BITS: std::ops::RangeInclusive<u32> = 8..=48;

impl VelocityVerlet {
    pub fn new(dim: usize, capacity: usize, dt: f64) -> Result<Self> {
        positive("dt", dt)?;
        Ok(Self {
            dt,
            ws: Workspace::new(dim, capacity, Self::NEEDS)?,
            fraction_bits: 0,
        })
    }

    /// Bit-reversible mode on the grid `2^-fraction_bits` (see the module
    /// docs), `fraction_bits` in [`REVERSIBLE_BITS`]; 0 switches it off.
    /// Each later step call first rounds positions and velocities to the
    /// grid (a change below `2^-(k+1)`), and fails with
    /// [`ErrorKind::OutOfRange`] (state unchanged) when a periodic box length
    /// is not a multiple of the grid or a position or velocity is at least
    /// `2^(51-k)` in magnitude.
    pub fn set_bit_reversible(&mut self, fraction_bits: u32) -> Result<()> {
        if fraction_bits != 0 && !REVERSIBLE_BITS.contains(&fraction_bits) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "fraction_bits = {fraction_bits} must be 0 (off) or in {}..={}",
                    REVERSIBLE_BITS.start(),
                    REVERSIBLE_BITS.end()
                ),
            ));
        }
        self.fraction_bits = fraction_bits;
        Ok(())
    }

    /// `k` of the bit-reversible grid `2^-k`, 0 when off.
    pub fn bit_reversible(&self) -> u32 {
        self.fraction_bits
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
        carried_forces: true,
    };

    fn workspace(&mut self) -> &mut Workspace {
        &mut self.ws
    }

    fn begin_call(&mut self, p: &mut Particles, b: &SimBox) -> Result<()> {
        if self.fraction_bits == 0 {
            return Ok(());
        }
        let grid = Grid::new(self.fraction_bits);
        for a in 0..p.dim {
            let l = b.lengths[a];
            if b.periodic && grid.round(l) != l {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "bit-reversible Verlet: box length {l} (axis {a}) is not a multiple of 2^-{}",
                        self.fraction_bits
                    ),
                ));
            }
        }
        let AxisArrays { pos, vel, .. } = axis_arrays(p);
        let limit = grid.limit;
        for (name, arrays) in [("position", &pos), ("velocity", &vel)] {
            for (a, v) in arrays.iter().enumerate() {
                if let Some(i) = v.iter().position(|x| x.abs() >= limit) {
                    return Err(Error::new(
                        ErrorKind::OutOfRange,
                        format!(
                            "bit-reversible Verlet: {name} {} of particle {i} (axis {a}) is not below 2^{} (grid 2^-{})",
                            v[i],
                            51 - self.fraction_bits as i32,
                            self.fraction_bits
                        ),
                    ));
                }
            }
        }
        for v in pos.into_iter().chain(vel) {
            v.iter_mut().for_each(|x| *x = grid.round(*x));
        }
        Ok(())
    }

    fn one_step(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step: u64,
        b: &SimBox,
    ) -> Result<()> {
        let dt = self.dt;
        if self.fraction_bits == 0 {
            kick_drift::<false>(&self.ws, p, 0.5 * dt, dt, b);
            self.ws.forces(ff, p, step.wrapping_add(1))?;
            kick(&self.ws, p, 0.5 * dt);
        } else {
            let grid = Grid::new(self.fraction_bits);
            grid_kick_drift(&self.ws, p, 0.5 * dt, dt, b, grid);
            self.ws.forces(ff, p, step.wrapping_add(1))?;
            grid_kick(&self.ws, p, 0.5 * dt, grid);
        }
        Ok(())
    }

    const DEFERS_CLOSING_KICK: bool = true;

    fn one_step_open(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step: u64,
        b: &SimBox,
        pending: bool,
    ) -> Result<()> {
        let dt = self.dt;
        if self.fraction_bits == 0 {
            if pending {
                kick_drift::<true>(&self.ws, p, 0.5 * dt, dt, b);
            } else {
                kick_drift::<false>(&self.ws, p, 0.5 * dt, dt, b);
            }
        } else {
            let grid = Grid::new(self.fraction_bits);
            if pending {
                grid_kick(&self.ws, p, 0.5 * dt, grid);
            }
            grid_kick_drift(&self.ws, p, 0.5 * dt, dt, b, grid);
        }
        self.ws.forces(ff, p, step.wrapping_add(1))
    }

    fn close_kick(&mut self, p: &mut Particles) {
        let h = 0.5 * self.dt;
        if self.fraction_bits == 0 {
            kick(&self.ws, p, h);
        } else {
            grid_kick(&self.ws, p, h, Grid::new(self.fraction_bits));
        }
    }
}

/// The bit-reversible grid `2^-k`.
#[derive(Clone, Copy)]
struct Grid {
    scale: f64,
    quantum: f64,
    /// Magnitudes below `2^(51-k)` keep sums of two grid numbers exact.
    limit: f64,
}

impl Grid {
    fn new(k: u32) -> Self {
        let k = k as i32;
        Self {
            scale: 2f64.powi(k),
            quantum: 2f64.powi(-k),
            limit: 2f64.powi(51 - k),
        }
    }

    /// `R(a)`: the nearest grid number, ties to even (odd: `R(-a) = -R(a)`);
    /// the scalings by powers of two are exact.
    #[inline(always)]
    fn round(self, a: f64) -> f64 {
        (a * self.scale).round_ties_even() * self.quantum
    }
}

/// [`kick_drift`] on the grid: `v += R(h F/m); x = wrap(x + R(dt v))`.
fn grid_kick_drift(ws: &Workspace, p: &mut Particles, h: f64, dt: f64, b: &SimBox, g: Grid) {
    let n = p.len();
    let im = p.inv_mass;
    let f = [&ws.fx[..n], &ws.fy[..n], &ws.fz[..]];
    let dim = p.dim;
    let AxisArrays { pos, vel, .. } = axis_arrays(p);
    for_each_segment(
        join(pos, vel),
        n,
        UPDATE_SEGMENT,
        &|_, first, [x, y, z, vx, vy, vz]| {
            let mut axes = [(x, vx), (y, vy), (z, vz)];
            for (a, (xa, va)) in axes.iter_mut().enumerate().take(dim) {
                for k in 0..xa.len() {
                    let i = first + k;
                    let w = h * if im.is_empty() { 1.0 } else { im[i] };
                    va[k] += g.round(w * f[a][i]);
                    xa[k] = b.wrap(a, xa[k] + g.round(dt * va[k]));
                }
            }
        },
    );
}

/// `v += R(h F/m)`.
fn grid_kick(ws: &Workspace, p: &mut Particles, h: f64, g: Grid) {
    let n = p.len();
    let im = p.inv_mass;
    let f = [&ws.fx[..n], &ws.fy[..n], &ws.fz[..]];
    let dim = p.dim;
    for_each_segment(axis_arrays(p).vel, n, UPDATE_SEGMENT, &|_, first, v| {
        for (a, va) in v.into_iter().enumerate().take(dim) {
            for k in 0..va.len() {
                let i = first + k;
                let w = h * if im.is_empty() { 1.0 } else { im[i] };
                va[k] += g.round(w * f[a][i]);
            }
        }
    });
}

/// `v += h F/m; x = wrap(x + dt v)`; with `PENDING`, the previous step's
/// closing half-kick `v += h F/m` first (the same operation as [`kick`], so
/// the same bits as a separate pass).
fn kick_drift<const PENDING: bool>(ws: &Workspace, p: &mut Particles, h: f64, dt: f64, b: &SimBox) {
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
                if PENDING {
                    vx[k] += w * fx[i];
                    vy[k] += w * fy[i];
                }
                vx[k] += w * fx[i];
                vy[k] += w * fy[i];
                x[k] = b.wrap(0, x[k] + dt * vx[k]);
                y[k] = b.wrap(1, y[k] + dt * vy[k]);
                if three {
                    if PENDING {
                        vz[k] += w * fz[i];
                    }
                    vz[k] += w * fz[i];
                    z[k] = b.wrap(2, z[k] + dt * vz[k]);
                }
            }
        },
    );
}
