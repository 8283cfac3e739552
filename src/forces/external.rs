//! External (one-body) fields. Each gives the force `F = -grad U` and the
//! energy `U` of one particle at position `r` (absolute coordinates, no
//! minimum image).
//!
//! * uniform: `U = -F0 . r` (e.g. a charge in a uniform electric field);
//! * harmonic trap: `U = k/2 |r - c|^2`;
//! * annular trap: `U = k/2 (|r - c| - R)^2` (a ring in 2D, a shell in 3D);
//! * time-delayed feedback trap (Loos & Klapp, Sci. Rep. 9, 2491 (2019);
//!   Kotar et al., PRL 104, 2010): the harmonic or annular force evaluated at
//!   the particle's position `D` steps earlier, `F_i(t) = -grad U(r_i(t - D dt))`.
//!   The position history (`D + 1` slots) lives in the force-field handle.
//!   Until step `t - D` has been recorded (the first `D` evaluations after
//!   create), the current position stands in for the missing one.
//! * a batch callback ([`BatchField`]): any user field, evaluated once per
//!   force evaluation for all particles. This is also the seam for the
//!   neural-field term ([`super::neural::NeuralField`] implements it).

use crate::error::{zeros, Error, ErrorKind, Result};
use crate::integrate::state::Positions;
use crate::simd::f64x8;

/// A user-supplied (or neural) field evaluated for a whole batch at once:
/// adds nothing itself; it writes forces into `fx, fy, fz` (zeroed before the
/// call; `z`/`fz` are empty in 2D) and returns the field's total energy.
pub trait BatchField: Send + Sync {
    fn eval(
        &mut self,
        x: &[f64],
        y: &[f64],
        z: &[f64],
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
    ) -> Result<f64>;

    /// [`Self::eval`] with the full particle view (types included), which
    /// is what the force field calls; fields that need more than positions
    /// (e.g. the EGNN term's per-type features) override it.
    fn eval_particles(
        &mut self,
        pos: &Positions,
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
    ) -> Result<f64> {
        self.eval(pos.x, pos.y, pos.z, fx, fy, fz)
    }
}

/// Shape of a trap potential.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trap {
    /// `U = k/2 |r - c|^2`.
    Harmonic { k: f64, centre: [f64; 3] },
    /// `U = k/2 (|r - c| - R)^2`.
    Annular {
        k: f64,
        radius: f64,
        centre: [f64; 3],
    },
}

impl Trap {
    pub fn validate(&self) -> Result<()> {
        let (k, r, c) = match *self {
            Trap::Harmonic { k, centre } => (k, 0.0, centre),
            Trap::Annular { k, radius, centre } => (k, radius, centre),
        };
        if !(k.is_finite() && r.is_finite() && c.iter().all(|v| v.is_finite())) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("trap parameters k = {k}, radius = {r}, centre = {c:?} must be finite"),
            ));
        }
        if k < 0.0 || r < 0.0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("trap stiffness k = {k} and radius = {r} must be >= 0"),
            ));
        }
        Ok(())
    }

    /// Force and energy at `r` (components beyond `dim` are zero).
    #[inline(always)]
    pub fn force(&self, dim: usize, r: [f64; 3]) -> ([f64; 3], f64) {
        match *self {
            Trap::Harmonic { k, centre } => {
                let mut f = [0.0; 3];
                let mut u = 0.0;
                for a in 0..dim {
                    let d = r[a] - centre[a];
                    f[a] = -k * d;
                    u += d * d;
                }
                (f, 0.5 * k * u)
            }
            Trap::Annular { k, radius, centre } => {
                let mut d = [0.0; 3];
                let mut rho2 = 0.0;
                for a in 0..dim {
                    d[a] = r[a] - centre[a];
                    rho2 += d[a] * d[a];
                }
                let rho = rho2.sqrt();
                let dev = rho - radius;
                let mut f = [0.0; 3];
                if rho > 0.0 {
                    let s = -k * dev / rho;
                    for a in 0..dim {
                        f[a] = s * d[a];
                    }
                }
                (f, 0.5 * k * dev * dev)
            }
        }
    }
}

impl Trap {
    /// [`Self::force`] (force only) for eight positions, lane for lane the
    /// same floating-point operations, hence the same bits.
    #[inline(always)]
    pub fn force8(&self, dim: usize, r: [f64x8; 3]) -> [f64x8; 3] {
        match *self {
            Trap::Harmonic { k, centre } => {
                let mut f = [f64x8::ZERO; 3];
                for a in 0..dim {
                    f[a] = f64x8::splat(-k) * (r[a] - f64x8::splat(centre[a]));
                }
                f
            }
            Trap::Annular { k, radius, centre } => {
                let mut d = [f64x8::ZERO; 3];
                let mut rho2 = f64x8::ZERO;
                for a in 0..dim {
                    d[a] = r[a] - f64x8::splat(centre[a]);
                    rho2 += d[a] * d[a];
                }
                let rho = rho2.sqrt();
                let dev = rho - f64x8::splat(radius);
                let s = f64x8::splat(-k) * dev / rho;
                let inside = rho.simd_gt(f64x8::ZERO);
                let mut f = [f64x8::ZERO; 3];
                for a in 0..dim {
                    f[a] = inside.select(s * d[a], f64x8::ZERO);
                }
                f
            }
        }
    }
}

/// A delayed trap: the trap force at positions `delay` steps in the past.
#[derive(Clone, Debug)]
pub struct DelayedTrap {
    pub trap: Trap,
    pub delay: usize,
    /// `(delay + 1)` slots of `3 * capacity` doubles (x block, y block, z block).
    pub history: Vec<f64>,
    /// Step recorded in each slot (`u64::MAX` = empty).
    pub slot_step: Vec<u64>,
    pub capacity: usize,
}

impl DelayedTrap {
    pub fn new(trap: Trap, delay: usize, capacity: usize) -> Result<Self> {
        trap.validate()?;
        let slots = delay
            .checked_add(1)
            .and_then(|s| s.checked_mul(3 * capacity))
            .ok_or_else(|| Error::new(ErrorKind::OutOfMemory, "delay history size overflows"))?;
        let history = zeros(slots, "delay history")?;
        Ok(Self {
            trap,
            delay,
            history,
            slot_step: vec![u64::MAX; delay + 1],
            capacity,
        })
    }

    /// Records positions of `step` and returns the slot to read for the
    /// delayed positions (`None`: use the current positions).
    pub fn record(&mut self, step: u64, x: &[f64], y: &[f64], z: &[f64]) -> Option<usize> {
        let slots = self.delay as u64 + 1;
        let s = (step % slots) as usize;
        let base = s * 3 * self.capacity;
        let n = x.len();
        self.history[base..base + n].copy_from_slice(x);
        self.history[base + self.capacity..base + self.capacity + n].copy_from_slice(y);
        if !z.is_empty() {
            self.history[base + 2 * self.capacity..base + 2 * self.capacity + n].copy_from_slice(z);
        }
        self.slot_step[s] = step;
        let past = step.checked_sub(self.delay as u64)?;
        let ps = (past % slots) as usize;
        (self.slot_step[ps] == past).then_some(ps)
    }

    /// Delayed position of particle `i` from slot `slot`.
    #[inline(always)]
    pub fn position(&self, slot: usize, i: usize) -> [f64; 3] {
        let base = slot * 3 * self.capacity;
        [
            self.history[base + i],
            self.history[base + self.capacity + i],
            self.history[base + 2 * self.capacity + i],
        ]
    }
}

/// An external field term.
pub enum External {
    Uniform { force: [f64; 3] },
    Trap(Trap),
    Delayed(DelayedTrap),
}

impl std::fmt::Debug for External {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            External::Uniform { force } => write!(f, "Uniform({force:?})"),
            External::Trap(t) => write!(f, "Trap({t:?})"),
            External::Delayed(d) => write!(f, "Delayed({:?}, delay {})", d.trap, d.delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annular_trap_force_is_minus_gradient() {
        let t = Trap::Annular {
            k: 3.0,
            radius: 2.0,
            centre: [0.5, -0.5, 0.0],
        };
        let r = [1.7, 0.9, 0.3];
        let (f, _) = t.force(3, r);
        for a in 0..3 {
            let h = 1e-6;
            let (mut rp, mut rm) = (r, r);
            rp[a] += h;
            rm[a] -= h;
            let num = -(t.force(3, rp).1 - t.force(3, rm).1) / (2.0 * h);
            assert!((num - f[a]).abs() < 1e-6);
        }
    }

    #[test]
    fn delayed_trap_reads_positions_delay_steps_back() {
        let mut d = DelayedTrap::new(
            Trap::Harmonic {
                k: 1.0,
                centre: [0.0; 3],
            },
            2,
            1,
        )
        .unwrap();
        assert_eq!(d.record(10, &[1.0], &[0.0], &[]), None);
        assert_eq!(d.record(11, &[2.0], &[0.0], &[]), None);
        let s = d.record(12, &[3.0], &[0.0], &[]).unwrap();
        assert_eq!(d.position(s, 0)[0], 1.0);
    }
}
