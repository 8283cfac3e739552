//! Pair potentials with per-type-pair parameters. Every potential is given by
//! its energy `u(r)` and the scalar `f(r)/r = -u'(r)/r`, so the force on
//! particle `i` from `j` is `(f/r) * (r_i - r_j)` (minimum image in periodic
//! boxes). Reduced units throughout.
//!
//! * Lennard-Jones (Allen & Tildesley, *Computer Simulation of Liquids*, 2nd ed., sec. 1.4):
//!   `u = 4 eps [(sigma/r)^12 - (sigma/r)^6]` for `r < r_c`, optionally shifted
//!   by `-u(r_c)` so it is continuous at the cut.
//! * WCA (Weeks, Chandler & Andersen 1971): LJ cut at `2^(1/6) sigma` and
//!   shifted up by `eps`: purely repulsive.
//! * Coulomb: `u = k / r` with `k = q_i q_j / (4 pi eps0)` given per type pair;
//!   plain (all pairs, no cutoff), Plummer-softened `k / sqrt(r^2 + a^2)`
//!   (all pairs), or cut at `r_c` and shifted (`k/r - k/r_c`, short-range).
//! * Softened gravity: `u = -k / sqrt(r^2 + eps^2)` with `k = G m_i m_j`
//!   (all pairs; `eps = 0` is Newtonian).
//!
//! Short-range kinds (finite cutoff) are evaluated over cell/Verlet neighbour
//! lists ([`super::cells`]); long-range kinds over all pairs in SIMD.

use crate::error::{Error, ErrorKind, Result};
use crate::simd::{f64x8, rsqrt};

/// The pair potential families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairKind {
    /// Lennard-Jones truncated at `cutoff` (not shifted).
    LennardJones,
    /// Lennard-Jones truncated at `cutoff` and shifted to zero there.
    LennardJonesShifted,
    /// WCA: LJ cut at `2^(1/6) sigma`, shifted by `eps` (the cutoff argument is ignored).
    Wca,
    /// Coulomb `k/r` over all pairs, no cutoff.
    Coulomb,
    /// Plummer-softened Coulomb `k / sqrt(r^2 + a^2)` over all pairs.
    CoulombPlummer,
    /// Coulomb cut at `cutoff` and shifted: `k/r - k/r_c` (short-range).
    CoulombCut,
    /// Softened gravity `-k / sqrt(r^2 + eps^2)` over all pairs.
    Gravity,
}

impl PairKind {
    /// Whether the kind has a finite cutoff (neighbour lists) or acts between
    /// all pairs.
    pub fn is_short_range(self) -> bool {
        matches!(
            self,
            PairKind::LennardJones
                | PairKind::LennardJonesShifted
                | PairKind::Wca
                | PairKind::CoulombCut
        )
    }
}

/// Precomputed coefficients of one type pair of a short-range term.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ShortCoef {
    /// Squared cutoff (0 = no interaction).
    pub rc2: f64,
    /// LJ: `4 eps sigma^12`; Coulomb: `k`.
    pub a: f64,
    /// LJ: `4 eps sigma^6`.
    pub b: f64,
    /// Energy shift subtracted inside the cutoff.
    pub shift: f64,
}

/// A short-range pair term: one kind, coefficients per type pair (row-major
/// `ntypes x ntypes`).
#[derive(Clone, Debug)]
pub struct ShortPair {
    pub kind: PairKind,
    pub ntypes: usize,
    pub coef: Vec<ShortCoef>,
    /// Largest cutoff over all type pairs.
    pub max_cutoff: f64,
}

/// A long-range (all-pairs) term: strength `k` and squared softening per
/// type pair.
#[derive(Clone, Debug)]
pub struct LongPair {
    pub kind: PairKind,
    pub ntypes: usize,
    pub strength: Vec<f64>,
    pub soft2: Vec<f64>,
    /// All type pairs share one strength and softening (fast path).
    pub uniform: bool,
}

/// Either kind of pair term.
#[derive(Clone, Debug)]
pub enum PairTerm {
    Short(ShortPair),
    Long(LongPair),
}

fn table_check(name: &str, v: &[f64], ntypes: usize, nonneg: bool) -> Result<()> {
    if v.len() != ntypes * ntypes {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!(
                "`{name}` has {} entries, expected ntypes^2 = {}",
                v.len(),
                ntypes * ntypes
            ),
        ));
    }
    for a in 0..ntypes {
        for b in 0..ntypes {
            let x = v[a * ntypes + b];
            if !x.is_finite() {
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("{name}[{a}][{b}] = {x} is not finite"),
                ));
            }
            if nonneg && x < 0.0 {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("{name}[{a}][{b}] = {x} must be >= 0"),
                ));
            }
            if x != v[b * ntypes + a] {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "{name} is not symmetric: [{a}][{b}] = {x} but [{b}][{a}] = {}",
                        v[b * ntypes + a]
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl PairTerm {
    /// Builds a term from per-type-pair tables (`ntypes^2` entries each,
    /// symmetric): `strength` (LJ/WCA: eps >= 0; Coulomb: k; gravity: G m m),
    /// `length` (LJ/WCA: sigma > 0; Plummer/gravity: softening >= 0; unused
    /// otherwise) and `cutoff` (LJ, Coulomb-cut: r_c > 0; unused otherwise).
    pub fn new(
        kind: PairKind,
        ntypes: usize,
        strength: &[f64],
        length: &[f64],
        cutoff: &[f64],
    ) -> Result<PairTerm> {
        table_check(
            "strength",
            strength,
            ntypes,
            matches!(
                kind,
                PairKind::LennardJones | PairKind::LennardJonesShifted | PairKind::Wca
            ),
        )?;
        let uses_length = !matches!(kind, PairKind::Coulomb | PairKind::CoulombCut);
        if uses_length {
            table_check("length", length, ntypes, true)?;
        }
        let uses_cutoff = matches!(
            kind,
            PairKind::LennardJones | PairKind::LennardJonesShifted | PairKind::CoulombCut
        );
        if uses_cutoff {
            table_check("cutoff", cutoff, ntypes, true)?;
        }
        if kind.is_short_range() {
            let mut coef = vec![ShortCoef::default(); ntypes * ntypes];
            let mut max_cutoff: f64 = 0.0;
            for p in 0..ntypes * ntypes {
                let (eps, k) = (strength[p], strength[p]);
                let c = match kind {
                    PairKind::LennardJones | PairKind::LennardJonesShifted | PairKind::Wca => {
                        let sigma = length[p];
                        let rc = if kind == PairKind::Wca {
                            2f64.powf(1.0 / 6.0) * sigma
                        } else {
                            cutoff[p]
                        };
                        if eps > 0.0 && sigma <= 0.0 {
                            return Err(Error::new(
                                ErrorKind::OutOfRange,
                                format!("length (sigma) of type pair {p} = {sigma} must be > 0"),
                            ));
                        }
                        let s6 = sigma.powi(6);
                        let (a, b) = (4.0 * eps * s6 * s6, 4.0 * eps * s6);
                        let shift = match kind {
                            PairKind::LennardJones => 0.0,
                            _ if rc > 0.0 => {
                                let ir6 = 1.0 / rc.powi(6);
                                a * ir6 * ir6 - b * ir6
                            }
                            _ => 0.0,
                        };
                        ShortCoef {
                            rc2: if eps == 0.0 { 0.0 } else { rc * rc },
                            a,
                            b,
                            shift,
                        }
                    }
                    _ => {
                        let rc = cutoff[p];
                        ShortCoef {
                            rc2: if k == 0.0 { 0.0 } else { rc * rc },
                            a: k,
                            b: 0.0,
                            shift: if rc > 0.0 { k / rc } else { 0.0 },
                        }
                    }
                };
                max_cutoff = max_cutoff.max(c.rc2.sqrt());
                coef[p] = c;
            }
            Ok(PairTerm::Short(ShortPair {
                kind,
                ntypes,
                coef,
                max_cutoff,
            }))
        } else {
            let soft2: Vec<f64> = if uses_length {
                length.iter().map(|a| a * a).collect()
            } else {
                vec![0.0; ntypes * ntypes]
            };
            let uniform =
                strength.iter().all(|&s| s == strength[0]) && soft2.iter().all(|&s| s == soft2[0]);
            Ok(PairTerm::Long(LongPair {
                kind,
                ntypes,
                strength: strength.to_vec(),
                soft2,
                uniform,
            }))
        }
    }
}

impl ShortPair {
    /// `(f/r, u)` at squared distance `r2 < rc2` for coefficients `c`.
    #[inline(always)]
    pub fn eval(&self, c: &ShortCoef, r2: f64) -> (f64, f64) {
        match self.kind {
            PairKind::CoulombCut => {
                let ir = 1.0 / r2.sqrt();
                let u = c.a * ir;
                (u * ir * ir, u - c.shift)
            }
            _ => {
                let ir2 = 1.0 / r2;
                let ir6 = ir2 * ir2 * ir2;
                let t12 = c.a * ir6 * ir6;
                let t6 = c.b * ir6;
                ((12.0 * t12 - 6.0 * t6) * ir2, t12 - t6 - c.shift)
            }
        }
    }
}

impl LongPair {
    /// SIMD `(f/r, u)` at squared distances `r2` with strengths `k` and
    /// squared softenings `s2` (lanes with `k = 0` must have `r2 + s2 > 0`).
    /// `1/sqrt` and its cube come from [`crate::simd::rsqrt`], as in the
    /// all-pairs kernel.
    #[inline(always)]
    pub fn eval8(&self, k: f64x8, s2: f64x8, r2: f64x8) -> (f64x8, f64x8) {
        let (ir, ir3) = rsqrt::rsqrt_and_cubed(r2 + s2);
        let (u, fr) = (k * ir, k * ir3);
        match self.kind {
            PairKind::Gravity => (-fr, -u),
            _ => (fr, u),
        }
    }

    /// Scalar `(f/r, u)`, bitwise equal to one lane of [`Self::eval8`].
    #[inline(always)]
    pub fn eval(&self, k: f64, s2: f64, r2: f64) -> (f64, f64) {
        let (fr, u) = self.eval8(f64x8::splat(k), f64x8::splat(s2), f64x8::splat(r2));
        (fr.to_array()[0], u.to_array()[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_force(term: &ShortPair, r: f64) -> f64 {
        let h = 1e-6;
        let c = &term.coef[0];
        let u = |r: f64| term.eval(c, r * r).1;
        -(u(r + h) - u(r - h)) / (2.0 * h)
    }

    #[test]
    fn lj_force_is_minus_the_energy_derivative_and_shift_zeroes_the_cut() {
        let t = PairTerm::new(PairKind::LennardJonesShifted, 1, &[1.0], &[1.0], &[2.5]).unwrap();
        let PairTerm::Short(t) = t else { panic!() };
        for r in [0.95, 1.1, 1.5, 2.2] {
            let (fr, _) = t.eval(&t.coef[0], r * r);
            assert!((fr * r - numeric_force(&t, r)).abs() < 1e-6, "r = {r}");
        }
        assert!(t.eval(&t.coef[0], 2.5 * 2.5).1.abs() < 1e-15);
    }

    #[test]
    fn wca_is_eps_at_sigma_and_zero_at_the_cut() {
        let PairTerm::Short(t) = PairTerm::new(PairKind::Wca, 1, &[1.0], &[1.0], &[0.0]).unwrap()
        else {
            panic!()
        };
        let rc = 2f64.powf(1.0 / 6.0);
        assert!((t.coef[0].rc2 - rc * rc).abs() < 1e-15);
        assert!((t.eval(&t.coef[0], 1.0).1 - 1.0).abs() < 1e-14);
        assert!(t.eval(&t.coef[0], rc * rc).1.abs() < 1e-14);
    }

    #[test]
    fn asymmetric_tables_are_rejected() {
        let e = PairTerm::new(
            PairKind::Wca,
            2,
            &[1.0, 1.0, 2.0, 1.0],
            &[1.0; 4],
            &[0.0; 4],
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::OutOfRange);
    }
}
