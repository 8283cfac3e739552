//! Uniform variates on the open interval (0, 1) from Philox words.
//!
//! Both conversions keep every random bit they use exactly representable, so
//! they are symmetric and never return 0 or 1.

use crate::simd::{f64x8, u64x8};
use wide::bytemuck::cast;

/// 2^-53.
const TWO_POW_M53: f64 = 1.0 / 9_007_199_254_740_992.0;
/// 2^-24.
const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;

/// Double in (0, 1) with 53 random bits: `k = (hi << 21) | (lo >> 11)`,
/// `u = k * 2^-53`, except that `k = 0` gives `2^-54` (so `ln u` is finite).
#[inline]
pub fn u01_f64(lo: u32, hi: u32) -> f64 {
    let k = (u64::from(hi) << 21) | u64::from(lo >> 11);
    (k as f64).max(0.5) * TWO_POW_M53
}

/// [`u01_f64`] on eight lanes: `lo` and `hi` hold 32-bit words in the low
/// halves of their lanes (high halves zero). Bitwise equal to the scalar
/// form: both halves of `k` convert exactly (the `2^52` exponent trick) and
/// `k < 2^53` is assembled exactly.
#[inline]
pub fn u01_f64x8(lo: u64x8, hi: u64x8) -> f64x8 {
    let exponent_52 = u64x8::splat(0x4330_0000_0000_0000);
    let two_pow_52 = f64x8::splat(4_503_599_627_370_496.0);
    let as_f64 = |x: u64x8| cast::<u64x8, f64x8>(exponent_52 | x) - two_pow_52;
    let k = as_f64(hi).mul_add(f64x8::splat(2_097_152.0), as_f64(lo >> 11));
    k.max(f64x8::splat(0.5)) * f64x8::splat(TWO_POW_M53)
}

/// Float in (0, 1) with 24 random bits: `k = w >> 8`, `u = k * 2^-24`,
/// except that `k = 0` gives `2^-25`.
#[inline]
pub fn u01_f32(w: u32) -> f32 {
    ((w >> 8) as f32).max(0.5) * TWO_POW_M24
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u01_f64x8_equals_the_scalar_form_bitwise() {
        let words = [
            0u32,
            1,
            2047,
            2048,
            0x7FF_FFFF,
            0x8000_0000,
            0xFFFF_F7FF,
            0xFFFF_F800,
            u32::MAX,
        ];
        let mut lo = Vec::new();
        let mut hi = Vec::new();
        for &a in &words {
            for &b in &words {
                lo.push(a);
                hi.push(b);
            }
        }
        let mut x = 0x9E37_79B9u32;
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            lo.push(x);
            hi.push(x.rotate_left(11) ^ 0x5bd1_e995);
        }
        for (l, h) in lo.chunks_exact(8).zip(hi.chunks_exact(8)) {
            let v = u01_f64x8(
                u64x8::new(core::array::from_fn(|i| u64::from(l[i]))),
                u64x8::new(core::array::from_fn(|i| u64::from(h[i]))),
            )
            .to_array();
            for i in 0..8 {
                assert_eq!(
                    v[i].to_bits(),
                    u01_f64(l[i], h[i]).to_bits(),
                    "{:#x} {:#x}",
                    l[i],
                    h[i]
                );
            }
        }
    }

    #[test]
    fn u01_f64_extremes_stay_strictly_inside_the_unit_interval() {
        assert_eq!(u01_f64(0, 0), 2f64.powi(-54));
        let top = u01_f64(u32::MAX, u32::MAX);
        assert!(top < 1.0);
        assert_eq!(top, 1.0 - 2f64.powi(-53));
        // The lowest non-zero pattern is one unit of 2^-53.
        assert_eq!(u01_f64(1 << 11, 0), 2f64.powi(-53));
    }

    #[test]
    fn u01_f32_extremes_stay_strictly_inside_the_unit_interval() {
        assert_eq!(u01_f32(0), 2f32.powi(-25));
        assert_eq!(u01_f32(u32::MAX), 1.0 - 2f32.powi(-24));
    }
}
