//! Machinery shared by the particle integrators: force buffers reserved at
//! create, argument checks, force evaluation, and the step loop that backs up
//! the state when a force evaluation can fail, so a failed step leaves the
//! particles at the last completed step.

use super::state::{check_finite, check_len, Particles, SimBox};
use crate::error::{Error, ErrorKind, Result};
use crate::forces::ForceField;

/// Particles per segment of the integrator update loops.
pub const UPDATE_SEGMENT: usize = 4096;

/// Checks a positive, finite parameter.
pub fn positive(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::new(
            ErrorKind::NonFinite,
            format!("{name} = {v} must be finite"),
        ));
    }
    if v <= 0.0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("{name} = {v} must be > 0"),
        ));
    }
    Ok(())
}

/// Checks a non-negative, finite parameter.
pub fn non_negative(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::new(
            ErrorKind::NonFinite,
            format!("{name} = {v} must be finite"),
        ));
    }
    if v < 0.0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("{name} = {v} must be >= 0"),
        ));
    }
    Ok(())
}

/// Checks a finite parameter.
pub fn finite(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::new(
            ErrorKind::NonFinite,
            format!("{name} = {v} must be finite"),
        ));
    }
    Ok(())
}

/// Force and backup buffers of one integrator.
#[derive(Debug)]
pub struct Workspace {
    pub dim: usize,
    pub capacity: usize,
    pub fx: Vec<f64>,
    pub fy: Vec<f64>,
    pub fz: Vec<f64>,
    backup: [Vec<f64>; 9],
}

/// Which optional arrays an integrator uses.
#[derive(Clone, Copy, Debug)]
pub struct Needs {
    pub velocities: bool,
    pub orientation: bool,
}

impl Workspace {
    /// Reserves force buffers and the rollback copy of every array `needs`
    /// names, for up to `capacity` particles.
    pub fn new(dim: usize, capacity: usize, needs: Needs) -> Result<Self> {
        if dim != 2 && dim != 3 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("dim = {dim} must be 2 or 3"),
            ));
        }
        if capacity == 0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "capacity (n) = 0 must be >= 1",
            ));
        }
        let z = if dim == 3 { capacity } else { 0 };
        if capacity
            .checked_mul(15 * 8)
            .is_none_or(|b| b > isize::MAX as usize)
        {
            return Err(Error::new(
                ErrorKind::OutOfMemory,
                format!("cannot reserve buffers for {capacity} particles"),
            ));
        }
        Ok(Self {
            dim,
            capacity,
            fx: vec![0.0; capacity],
            fy: vec![0.0; capacity],
            fz: vec![0.0; z],
            backup: std::array::from_fn(|k| {
                let used = match k {
                    0 | 1 => true,
                    2 => dim == 3,
                    3 | 4 => needs.velocities,
                    5 => needs.velocities && dim == 3,
                    6 | 7 => needs.orientation,
                    _ => needs.orientation && dim == 3,
                };
                vec![0.0; if used { capacity } else { 0 }]
            }),
        })
    }

    /// Validates particles against this workspace and the force field.
    pub fn check(&self, ff: Option<&ForceField>, p: &Particles, needs: Needs) -> Result<()> {
        if p.dim != self.dim {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "particles have dim = {} but the integrator was created with dim = {}",
                    p.dim, self.dim
                ),
            ));
        }
        let n = p.len();
        if n > self.capacity {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!(
                    "n = {n} exceeds the capacity {} reserved at create",
                    self.capacity
                ),
            ));
        }
        let ntypes = ff.map_or(usize::MAX, |f| f.params().ntypes);
        p.validate(ntypes, needs.velocities)?;
        if needs.orientation {
            check_len("ox", p.ox.len(), n)?;
            check_len("oy", p.oy.len(), n)?;
            check_finite("ox", p.ox)?;
            check_finite("oy", p.oy)?;
            if self.dim == 3 {
                check_len("oz", p.oz.len(), n)?;
                check_finite("oz", p.oz)?;
            }
        }
        if let Some(f) = ff {
            f.validate(&p.positions())?;
        }
        Ok(())
    }

    /// Evaluates forces at the particles' positions of `step` into `fx..fz`.
    pub fn forces(&mut self, ff: Option<&mut ForceField>, p: &Particles, step: u64) -> Result<()> {
        let n = p.len();
        let fz: &mut [f64] = if self.dim == 3 {
            &mut self.fz[..n]
        } else {
            &mut []
        };
        match ff {
            Some(f) => f.compute(
                &p.positions(),
                step,
                &mut self.fx[..n],
                &mut self.fy[..n],
                fz,
                false,
            ),
            None => {
                self.fx[..n].fill(0.0);
                self.fy[..n].fill(0.0);
                fz.fill(0.0);
                Ok(())
            }
        }
    }

    fn save(&mut self, p: &Particles) {
        let n = p.len();
        let src: [&[f64]; 9] = [p.x, p.y, p.z, p.vx, p.vy, p.vz, p.ox, p.oy, p.oz];
        for (b, s) in self.backup.iter_mut().zip(src) {
            let m = s.len().min(n).min(b.len());
            b[..m].copy_from_slice(&s[..m]);
        }
    }

    fn restore(&self, p: &mut Particles) {
        let n = p.len();
        let dst: [&mut [f64]; 9] = [
            &mut *p.x, &mut *p.y, &mut *p.z, &mut *p.vx, &mut *p.vy, &mut *p.vz, &mut *p.ox,
            &mut *p.oy, &mut *p.oz,
        ];
        for (b, d) in self.backup.iter().zip(dst) {
            let m = d.len().min(n).min(b.len());
            d[..m].copy_from_slice(&b[..m]);
        }
    }
}

/// The box positions live in: the force field's, or open.
pub fn sim_box(ff: Option<&ForceField>, dim: usize) -> SimBox {
    ff.map_or(SimBox::open(dim), |f| *f.sim_box())
}

/// Runs `n_steps` steps `step0, step0 + 1, ...` of `one_step`. If a step
/// fails and the force field can fail mid-step, the particles are restored to
/// the start of that step. Returns the completed steps and the first error.
pub fn run_steps<S>(
    state: &mut S,
    ws: impl Fn(&mut S) -> &mut Workspace,
    mut ff: Option<&mut ForceField>,
    p: &mut Particles,
    step0: u64,
    n_steps: usize,
    mut one_step: impl FnMut(&mut S, Option<&mut ForceField>, &mut Particles, u64) -> Result<()>,
) -> (usize, Result<()>) {
    let may_fail = ff.as_deref().is_some_and(|f| f.may_fail());
    for s in 0..n_steps {
        let step = step0.wrapping_add(s as u64);
        if may_fail {
            ws(state).save(p);
        }
        if let Err(e) = one_step(state, ff.as_deref_mut(), p, step) {
            if may_fail {
                ws(state).restore(p);
            }
            return (s, Err(e));
        }
    }
    (n_steps, Ok(()))
}
