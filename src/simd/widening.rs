//! Integer lane operations `wide` does not expose with the instruction the
//! hot loops need: the 32 x 32 -> 64-bit unsigned lane product (`vpmuludq`)
//! and packing the low 32-bit halves of two `u64x8` into one `u32x16`.
//! Philox rounds (src/rng/philox.rs) are built on these two.

use super::{u32x16, u64x8};

/// `(a mod 2^32) (b mod 2^32)` per 64-bit lane: the full 64-bit product of the
/// low 32-bit halves (the high halves of the inputs are ignored).
#[inline(always)]
pub fn mul_low32_wide(a: u64x8, b: u64x8) -> u64x8 {
    #[cfg(target_feature = "avx512f")]
    {
        use core::arch::x86_64::{__m512i, _mm512_mul_epu32};
        // SAFETY: u64x8 and __m512i are both 64 bytes of plain integer data
        // (wide's u64x8 is a repr(transparent) wrapper of __m512i with
        // avx512f), and the build enables avx512f, so the intrinsic exists.
        unsafe {
            let (x, y) = (
                core::mem::transmute::<u64x8, __m512i>(a),
                core::mem::transmute::<u64x8, __m512i>(b),
            );
            core::mem::transmute::<__m512i, u64x8>(_mm512_mul_epu32(x, y))
        }
    }
    #[cfg(not(target_feature = "avx512f"))]
    {
        let low = u64x8::splat(0xFFFF_FFFF);
        (a & low) * (b & low)
    }
}

/// Lanes `0..8` from the low halves of `a`'s lanes, `8..16` from `b`'s.
#[inline(always)]
pub fn pack_low32(a: u64x8, b: u64x8) -> u32x16 {
    #[cfg(target_feature = "avx512f")]
    {
        use core::arch::x86_64::{__m512i, _mm512_permutex2var_epi32, _mm512_setr_epi32};
        // SAFETY: as in `mul_low32_wide` (plain 64-byte integer vectors, avx512f
        // enabled); the index vector selects the even 32-bit words of a then b.
        unsafe {
            let (x, y) = (
                core::mem::transmute::<u64x8, __m512i>(a),
                core::mem::transmute::<u64x8, __m512i>(b),
            );
            let idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            core::mem::transmute::<__m512i, u32x16>(_mm512_permutex2var_epi32(x, idx, y))
        }
    }
    #[cfg(not(target_feature = "avx512f"))]
    {
        let (x, y) = (a.to_array(), b.to_array());
        u32x16::new(core::array::from_fn(|j| {
            if j < 8 {
                x[j] as u32
            } else {
                y[j - 8] as u32
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_product_and_pack_match_scalar() {
        let a: [u64; 8] =
            core::array::from_fn(|j| 0x1234_5678_9ABC_DEF0u64.rotate_left(7 * j as u32));
        let b: [u64; 8] =
            core::array::from_fn(|j| 0xFEDC_BA98_7654_3210u64.rotate_left(5 * j as u32));
        let p = mul_low32_wide(u64x8::new(a), u64x8::new(b)).to_array();
        for j in 0..8 {
            assert_eq!(p[j], (a[j] & 0xFFFF_FFFF) * (b[j] & 0xFFFF_FFFF));
        }
        let packed = pack_low32(u64x8::new(a), u64x8::new(b)).to_array();
        for j in 0..16 {
            let src = if j < 8 { a[j] } else { b[j - 8] };
            assert_eq!(packed[j], src as u32);
        }
    }
}
