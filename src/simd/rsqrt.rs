//! Reciprocal square roots for the all-pairs kernels: `x^-1/2` and `x^-3/2`
//! of eight doubles.
//!
//! With AVX-512F (`target-cpu=native` on AVX-512 machines) the hardware
//! estimate `vrsqrt14pd` (relative error < 2^-14, Intel SDM) is refined by
//! Newton-Raphson for `y = x^-1/2`: with `e = 1 - x y^2`,
//! `y' = y + y e / 2` squares the relative error (times 3/2): 2^-14 ->
//! ~5.6e-9 after one step. The second refinement is folded into the cube:
//! `x^-3/2 = y^3 (1 - e)^-3/2 = y^3 (1 + 3e/2 + O(e^2))`, whose dropped term
//! is ~(15/8) (5.6e-9)^2 ~ 6e-17, below one ulp. Measured maximum relative
//! error over `x` in `[1e-200, 1e200]` (unit test
//! `rsqrt_cubed_is_accurate_over_a_wide_range`, AVX-512 build): 4.9e-16
//! (4.4 ulp) for `x^-3/2` against a double-double reference, 2.6e-16 for
//! `x^-1/2` against `1/sqrt(x)`; a square root and a division followed by
//! the cube (the previous kernel) are within ~3 ulp. This
//! costs 9 multiply/FMA operations plus the estimate, against a square root
//! and a division (each of tens of cycles on a 512-bit vector).
//!
//! Without AVX-512F the functions fall back to `1 / sqrt(x)`. Either way one
//! build computes every lane with the same instructions, so results do not
//! depend on lane position, call path or thread count.
//!
//! Inputs must be positive and finite; `x = 0` gives NaN or infinity (as
//! `1/sqrt(0)` does) and callers mask such lanes.

use super::f64x8;

/// `(x^-1/2, x^-3/2)` for positive finite `x`. The second component is
/// bitwise equal to [`rsqrt_cubed`]`(x)`.
#[inline(always)]
pub fn rsqrt_and_cubed(x: f64x8) -> (f64x8, f64x8) {
    let (y, e) = estimate_refined(x);
    let half = f64x8::splat(0.5);
    ((y * half).mul_add(e, y), cube_corrected(y, e))
}

/// `x^-3/2` for positive finite `x` (the all-pairs force factor `1/r^3`).
#[inline(always)]
pub fn rsqrt_cubed(x: f64x8) -> f64x8 {
    let (y, e) = estimate_refined(x);
    cube_corrected(y, e)
}

/// `x^-1/2` for positive finite `x`; bitwise equal to the first component of
/// [`rsqrt_and_cubed`].
#[inline(always)]
pub fn rsqrt(x: f64x8) -> f64x8 {
    rsqrt_and_cubed(x).0
}

/// `y^3 (1 + 3e/2)`: the cube of `x^-1/2` with its residual `e` corrected.
#[inline(always)]
fn cube_corrected(y: f64x8, e: f64x8) -> f64x8 {
    let c = y * y * y;
    (c * f64x8::splat(1.5)).mul_add(e, c)
}

/// `y ~ x^-1/2` to ~5.6e-9 and its residual `e = 1 - x y^2`.
#[cfg(target_feature = "avx512f")]
#[inline(always)]
fn estimate_refined(x: f64x8) -> (f64x8, f64x8) {
    // SAFETY: this build enables AVX-512F (cfg above), so `vrsqrt14pd`
    // exists; it only reads and writes registers.
    let r = unsafe { core::arch::x86_64::_mm512_rsqrt14_pd(to_m512d(x)) };
    let y0 = from_m512d(r);
    let one = f64x8::ONE;
    let half = f64x8::splat(0.5);
    // e0 = 1 - (x y0) y0 (x y0 ~ sqrt(x) cannot overflow where y0^2 would).
    let e0 = (-(x * y0)).mul_add(y0, one);
    let y1 = (y0 * half).mul_add(e0, y0);
    let e1 = (-(x * y1)).mul_add(y1, one);
    (y1, e1)
}

#[cfg(target_feature = "avx512f")]
#[inline(always)]
fn to_m512d(x: f64x8) -> core::arch::x86_64::__m512d {
    // SAFETY: `f64x8` (AVX-512 build) wraps one `__m512d`: both are 64 bytes
    // of eight f64 lanes with no invalid bit patterns.
    unsafe { core::mem::transmute::<f64x8, core::arch::x86_64::__m512d>(x) }
}

#[cfg(target_feature = "avx512f")]
#[inline(always)]
fn from_m512d(x: core::arch::x86_64::__m512d) -> f64x8 {
    // SAFETY: as in `to_m512d`, the other way round.
    unsafe { core::mem::transmute::<core::arch::x86_64::__m512d, f64x8>(x) }
}

/// Portable fallback: the correctly rounded square root and a division,
/// residual zero.
#[cfg(not(target_feature = "avx512f"))]
#[inline(always)]
fn estimate_refined(x: f64x8) -> (f64x8, f64x8) {
    (f64x8::ONE / x.sqrt(), f64x8::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x^-3/2` to double-double accuracy from the correctly rounded sqrt:
    /// `s = sqrt(x)` with its residual, `x s = p + p_lo`, `1/(x s)` refined
    /// by one Newton step in double-double; good to ~1e-30 relative.
    fn reference_cubed(x: f64) -> f64 {
        let s = x.sqrt();
        // sqrt(x) = s + ds with ds = (x - s^2) / (2 s) (exact residual by FMA).
        let ds = (-s).mul_add(s, x) / (2.0 * s);
        let p = x * s;
        let p_lo = x.mul_add(s, -p) + x * ds;
        let q = 1.0 / p;
        // 1/(p + p_lo) = q (1 - (p q - 1) - p_lo q) to first order.
        let r = (-p).mul_add(q, 1.0) - p_lo * q;
        q.mul_add(r, q)
    }

    fn lanes(f: impl Fn(f64x8) -> f64x8, x: f64) -> f64 {
        f(f64x8::splat(x)).to_array()[0]
    }

    /// Max relative error of `x^-3/2` and `x^-1/2` over 200001 log-spaced
    /// `x` in `[1e-200, 1e200]` plus the mantissa sweep `[1, 4)` (where the
    /// estimate's error pattern repeats). Bound for `x^-3/2`, with
    /// `u = 2^-53`: `y^3` takes two roundings (2u), the residual
    /// `e1 = 1 - (x y1) y1` carries the rounding of `x y1` (times 3/2 in the
    /// correction: 1.5u), `1.5 c` and the final FMA one each (2u), the
    /// dropped O(e1^2) term < 0.5u: 6u = 6.7e-16. For `x^-1/2` against
    /// `1/sqrt(x)` (itself within 1u): the residual (0.5u), the product and
    /// the FMA (2u), the reference (1u): 4u. One Newton step alone (error
    /// ~5.6e-9) or the plain 14-bit estimate fail by orders of magnitude.
    /// Measured on this build's path: see the printed line.
    #[test]
    fn rsqrt_cubed_is_accurate_over_a_wide_range() {
        let mut xs: Vec<f64> = (0..=200_000)
            .map(|k| 10f64.powf(-200.0 + 400.0 * k as f64 / 200_000.0))
            .collect();
        xs.extend((0..=100_000).map(|k| 1.0 + 3.0 * k as f64 / 100_000.0));
        let (mut worst3, mut worst1) = (0.0f64, 0.0f64);
        for &x in &xs {
            let exact3 = reference_cubed(x);
            let got3 = lanes(rsqrt_cubed, x);
            worst3 = worst3.max(((got3 - exact3) / exact3).abs());
            // Reference 1/sqrt(x): itself within one ulp (two roundings).
            let exact1 = 1.0 / x.sqrt();
            let got1 = lanes(rsqrt, x);
            worst1 = worst1.max(((got1 - exact1) / exact1).abs());
        }
        println!("max relative error: x^-3/2 {worst3:.3e}, x^-1/2 {worst1:.3e} (vs 1/sqrt)");
        assert!(worst3 <= 6.0 * f64::EPSILON / 2.0, "x^-3/2: {worst3:e}");
        assert!(worst1 <= 4.0 * f64::EPSILON / 2.0, "x^-1/2: {worst1:e}");
    }

    #[test]
    fn every_lane_computes_the_same_function() {
        let xs = [0.3, 1.0, 2.5, 1e-7, 7e9, 0.01, 123.456, 9.0];
        let v = f64x8::new(xs);
        let (a, b) = rsqrt_and_cubed(v);
        let c = rsqrt_cubed(v);
        for l in 0..8 {
            let (sa, sb) = rsqrt_and_cubed(f64x8::splat(xs[l]));
            assert_eq!(a.to_array()[l].to_bits(), sa.to_array()[0].to_bits());
            assert_eq!(b.to_array()[l].to_bits(), sb.to_array()[0].to_bits());
            assert_eq!(b.to_array()[l].to_bits(), c.to_array()[l].to_bits());
        }
    }
}
