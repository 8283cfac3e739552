//! Particle state: a structure-of-arrays view of caller-owned `double` arrays
//! (positions, velocities, optional inverse masses and types) and the
//! simulation box (open, or periodic orthorhombic).
//!
//! The step index is never stored here: every kernel takes it as an argument,
//! so random numbers are keyed by `(step, particle, draw)` and a run restarted
//! at step `k` continues bitwise as if never stopped. Units are reduced.

use crate::error::{Error, ErrorKind, Result};
use crate::simd::f64x8;

/// The simulation box: open (no boundaries) or periodic orthorhombic with
/// edge lengths `lengths[0..dim]`, spanning `[0, L)` along each axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimBox {
    /// 2 or 3.
    pub dim: usize,
    /// Periodic in every axis (true) or open (false).
    pub periodic: bool,
    /// Edge lengths; only the first `dim` are used (ignored when open).
    pub lengths: [f64; 3],
    /// `1 / lengths` (0 when open), so minimum images multiply instead of divide.
    pub inv_lengths: [f64; 3],
}

impl SimBox {
    /// An open box in `dim` dimensions.
    pub fn open(dim: usize) -> Self {
        Self {
            dim,
            periodic: false,
            lengths: [0.0; 3],
            inv_lengths: [0.0; 3],
        }
    }

    /// A periodic box with edges `lengths[..dim]`.
    pub fn periodic(dim: usize, lengths: [f64; 3]) -> Self {
        Self {
            dim,
            periodic: true,
            lengths,
            inv_lengths: lengths.map(|l| 1.0 / l),
        }
    }

    /// Checks the dimension and, when periodic, that every edge is finite and
    /// positive.
    pub fn validate(&self) -> Result<()> {
        if self.dim != 2 && self.dim != 3 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("dim = {} must be 2 or 3", self.dim),
            ));
        }
        if self.periodic {
            for (a, &l) in self.lengths[..self.dim].iter().enumerate() {
                if !l.is_finite() || l <= 0.0 {
                    return Err(Error::new(
                        ErrorKind::OutOfRange,
                        format!("box length {a} = {l} must be finite and > 0"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Volume (area in 2D); NaN for an open box.
    pub fn volume(&self) -> f64 {
        if !self.periodic {
            return f64::NAN;
        }
        self.lengths[..self.dim].iter().product()
    }

    /// Minimum-image separation along axis `a` (identity when open).
    #[inline(always)]
    pub fn min_image(&self, a: usize, d: f64) -> f64 {
        if self.periodic {
            d - self.lengths[a] * (d * self.inv_lengths[a]).round_ties_even()
        } else {
            d
        }
    }

    /// [`Self::min_image`] on eight separations (the same IEEE operations
    /// per lane, so the same bits as the scalar form).
    #[inline(always)]
    pub fn min_image8(&self, a: usize, d: f64x8) -> f64x8 {
        if self.periodic {
            d - f64x8::splat(self.lengths[a])
                * (d * f64x8::splat(self.inv_lengths[a])).round_ties_even()
        } else {
            d
        }
    }

    /// Coordinate wrapped into `[0, L)` along axis `a` (identity when open).
    #[inline(always)]
    pub fn wrap(&self, a: usize, x: f64) -> f64 {
        if self.periodic {
            wrap_into(x, self.lengths[a])
        } else {
            x
        }
    }
}

/// `x` wrapped into `[0, l)`.
#[inline(always)]
pub fn wrap_into(x: f64, l: f64) -> f64 {
    let w = x - l * (x / l).floor();
    // Rounding can give exactly `l` for tiny negative `x`.
    if w >= l || w < 0.0 {
        0.0
    } else {
        w
    }
}

/// [`wrap_into`] of eight values: the same bits lane by lane.
#[inline(always)]
pub fn wrap_into8(x: f64x8, l: f64x8) -> f64x8 {
    let w = x - l * (x / l).floor();
    (w.simd_ge(l) | w.simd_lt(f64x8::ZERO)).select(f64x8::ZERO, w)
}

/// Mutable view of the particle state. `z` and `vz` are empty in 2D.
/// `inv_mass` (empty = all 1) and `types` (empty = all 0) are optional;
/// velocities are empty for overdamped integrators; the orientation unit
/// vector `(ox, oy, oz)` is used by active particles only.
#[derive(Debug, Default)]
pub struct Particles<'a> {
    pub dim: usize,
    pub x: &'a mut [f64],
    pub y: &'a mut [f64],
    pub z: &'a mut [f64],
    pub vx: &'a mut [f64],
    pub vy: &'a mut [f64],
    pub vz: &'a mut [f64],
    pub ox: &'a mut [f64],
    pub oy: &'a mut [f64],
    pub oz: &'a mut [f64],
    pub inv_mass: &'a [f64],
    pub types: &'a [u32],
}

/// Read-only positions (and optional types) for force evaluation.
#[derive(Clone, Copy, Debug)]
pub struct Positions<'a> {
    pub dim: usize,
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub z: &'a [f64],
    pub types: &'a [u32],
}

impl Positions<'_> {
    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Type of particle `i` (0 when no types are given).
    #[inline(always)]
    pub fn type_of(&self, i: usize) -> usize {
        if self.types.is_empty() {
            0
        } else {
            self.types[i] as usize
        }
    }

    /// Checks lengths, finiteness and type range (`ntypes`).
    pub fn validate(&self, ntypes: usize) -> Result<()> {
        let n = self.x.len();
        let need_z = if self.dim == 3 { n } else { 0 };
        check_len("y", self.y.len(), n)?;
        if self.dim == 3 {
            check_len("z", self.z.len(), need_z)?;
        }
        if !self.types.is_empty() {
            check_len("type", self.types.len(), n)?;
            if let Some((i, &t)) = self
                .types
                .iter()
                .enumerate()
                .find(|(_, &t)| t as usize >= ntypes)
            {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("type[{i}] = {t} must be < ntypes = {ntypes}"),
                ));
            }
        }
        check_finite("x", self.x)?;
        check_finite("y", self.y)?;
        if self.dim == 3 {
            check_finite("z", self.z)?;
        }
        Ok(())
    }
}

impl<'a> Particles<'a> {
    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Positions as a read-only view.
    pub fn positions(&self) -> Positions<'_> {
        Positions {
            dim: self.dim,
            x: self.x,
            y: self.y,
            z: self.z,
            types: self.types,
        }
    }

    /// Inverse mass of particle `i` (1 when none given).
    #[inline(always)]
    pub fn inv_mass_of(&self, i: usize) -> f64 {
        if self.inv_mass.is_empty() {
            1.0
        } else {
            self.inv_mass[i]
        }
    }

    /// Checks every array length against `n`, finiteness of positions and
    /// velocities (velocities only if `with_velocities`), inverse masses
    /// finite and >= 0, types below `ntypes`.
    pub fn validate(&self, ntypes: usize, with_velocities: bool) -> Result<()> {
        if self.dim != 2 && self.dim != 3 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("dim = {} must be 2 or 3", self.dim),
            ));
        }
        self.positions().validate(ntypes)?;
        let n = self.len();
        if with_velocities {
            check_len("vx", self.vx.len(), n)?;
            check_len("vy", self.vy.len(), n)?;
            check_finite("vx", self.vx)?;
            check_finite("vy", self.vy)?;
            if self.dim == 3 {
                check_len("vz", self.vz.len(), n)?;
                check_finite("vz", self.vz)?;
            }
        }
        if !self.inv_mass.is_empty() {
            check_len("inv_mass", self.inv_mass.len(), n)?;
            if let Some((i, &m)) = self
                .inv_mass
                .iter()
                .enumerate()
                .find(|(_, &m)| !m.is_finite() || m < 0.0)
            {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("inv_mass[{i}] = {m} must be finite and >= 0"),
                ));
            }
        }
        Ok(())
    }
}

/// `sum_i m_i v_i^2` (unit masses unless inverse masses are given; pinned
/// particles with inverse mass 0 contribute nothing).
pub fn kinetic_mv2(p: &Particles) -> f64 {
    let mut s = 0.0;
    for i in 0..p.len() {
        let im = p.inv_mass_of(i);
        if im == 0.0 {
            continue;
        }
        let mut v2 = p.vx[i] * p.vx[i] + p.vy[i] * p.vy[i];
        if p.dim == 3 {
            v2 += p.vz[i] * p.vz[i];
        }
        s += v2 / im;
    }
    s
}

pub(crate) fn check_len(name: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("array `{name}` has {got} elements, expected n = {want}"),
        ));
    }
    Ok(())
}

/// Error naming the first non-finite element of `a`.
pub fn check_finite(name: &str, a: &[f64]) -> Result<()> {
    // A branch-free pass first: a value is non-finite exactly when its
    // exponent bits are all ones. Integer ORs vectorise (a floating-point
    // sum would be a serial chain of dependent adds); only a hit needs the
    // scan that names the index.
    const EXPONENT: u64 = 0x7ff0_0000_0000_0000;
    if a.iter()
        .fold(false, |bad, v| bad | (v.to_bits() & EXPONENT == EXPONENT))
    {
        if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("{name}[{i}] = {v} is not finite"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_image8_equals_the_scalar_minimum_image_bitwise() {
        let d = [-7.3, -2.5, -2.0000001, -0.1, 0.0, 1.9999, 2.5, 11.0];
        for b in [SimBox::periodic(2, [4.0, 5.0, 1.0]), SimBox::open(2)] {
            for a in 0..2 {
                let v = b.min_image8(a, f64x8::new(d)).to_array();
                for l in 0..8 {
                    assert_eq!(v[l].to_bits(), b.min_image(a, d[l]).to_bits());
                }
            }
        }
    }

    #[test]
    fn wrap_lands_in_half_open_box() {
        for x in [-1e-18, -3.5, 0.0, 9.999999999, 10.0, 25.0] {
            let w = wrap_into(x, 10.0);
            assert!((0.0..10.0).contains(&w), "{x} -> {w}");
        }
    }

    #[test]
    fn minimum_image_is_at_most_half_a_box() {
        let b = SimBox::periodic(3, [10.0, 10.0, 10.0]);
        assert_eq!(b.min_image(0, 9.0), -1.0);
        assert_eq!(b.min_image(0, -6.0), 4.0);
    }

    #[test]
    fn non_finite_positions_are_named() {
        let e = check_finite("x", &[0.0, f64::NAN]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NonFinite);
        assert!(e.message.contains("x[1]"));
    }
}
