//! Uniform variates on the open interval (0, 1) from Philox words.
//!
//! Both conversions keep every random bit they use exactly representable, so
//! they are symmetric and never return 0 or 1.

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
