//! The 64-site micro-kernel of the checkerboard Ising sweep
//! (src/mc/ising.rs): one vector of 64 int8 spins of one colour, their
//! neighbour sums, a 16-bit uniform per site and a 32-entry table of 16-bit
//! thresholds.
//!
//! Lane `i` (`0..64`) computes `key = (sum of its neighbours) + offset +
//! (s_i < 0)`, reads `hi = table[key mod 32]` and its uniform
//! `r = (words[i / 32][(i mod 32) / 2] >> (16 (i mod 2))) mod 2^16`, and
//! * accepts when `r < hi` (Metropolis: `s_i -> -s_i`; heat bath: `s_i -> +1`),
//! * rejects when `r > hi` (Metropolis: unchanged; heat bath: `s_i -> -1`),
//! * and for `r == hi` leaves the decision to the caller, who refines with 16
//!   more random bits (bit `i` of the returned mask; the kernel treats the
//!   lane as rejected).
//!
//! The AVX-512BW path and the portable path are the same function lane for
//! lane (a unit test compares them on random inputs).

/// Updates `spins` in place; returns the lanes that need refinement.
///
/// `neighbours` holds the 4 (2D) or 6 (3D) neighbour vectors, lane-aligned
/// with `spins`. `words[0]` feeds lanes `0..32`, `words[1]` lanes `32..64`.
#[inline]
pub fn update64<const HEAT_BATH: bool, const D: usize>(
    spins: &mut [i8; 64],
    neighbours: &[&[i8; 64]; D],
    offset: i8,
    words: [&[u32; 16]; 2],
    table: &[u16; 32],
) -> u64 {
    #[cfg(all(target_feature = "avx512f", target_feature = "avx512bw"))]
    {
        avx512::update64::<HEAT_BATH, D>(spins, neighbours, offset, words, table)
    }
    #[cfg(not(all(target_feature = "avx512f", target_feature = "avx512bw")))]
    {
        update64_portable::<HEAT_BATH, D>(spins, neighbours, offset, words, table)
    }
}

/// The reference lane loop (also the non-AVX-512 build's kernel).
pub fn update64_portable<const HEAT_BATH: bool, const D: usize>(
    spins: &mut [i8; 64],
    neighbours: &[&[i8; 64]; D],
    offset: i8,
    words: [&[u32; 16]; 2],
    table: &[u16; 32],
) -> u64 {
    let mut refine = 0u64;
    for (i, s) in spins.iter_mut().enumerate() {
        let nb = neighbours.iter().fold(0i8, |a, n| a.wrapping_add(n[i]));
        let key = nb.wrapping_add(offset).wrapping_add(i8::from(*s < 0)) as u8 & 31;
        let hi = table[key as usize];
        let word = words[i / 32][(i % 32) / 2];
        let r = (word >> (16 * (i % 2))) as u16;
        let accept = r < hi;
        if r == hi {
            refine |= 1 << i;
        }
        *s = match (HEAT_BATH, accept) {
            (true, true) => 1,
            (true, false) => -1,
            (false, true) => s.wrapping_neg(),
            (false, false) => *s,
        };
    }
    refine
}

#[cfg(all(target_feature = "avx512f", target_feature = "avx512bw"))]
mod avx512 {
    use core::arch::x86_64::*;

    #[inline(always)]
    pub fn update64<const HEAT_BATH: bool, const D: usize>(
        spins: &mut [i8; 64],
        neighbours: &[&[i8; 64]; D],
        offset: i8,
        words: [&[u32; 16]; 2],
        table: &[u16; 32],
    ) -> u64 {
        // SAFETY: this module is compiled only when the build enables avx512f
        // and avx512bw, so every intrinsic below exists on the target; each
        // load/store touches exactly the 64 bytes of a `[i8; 64]`,
        // `[u32; 16]` or `[u16; 32]` borrowed with the matching mutability
        // (unaligned forms).
        unsafe {
            let s = _mm512_loadu_si512(spins.as_ptr().cast());
            let mut nb = _mm512_set1_epi8(offset);
            for n in neighbours {
                nb = _mm512_add_epi8(nb, _mm512_loadu_si512(n.as_ptr().cast()));
            }
            let negative = _mm512_movepi8_mask(s);
            let key = _mm512_mask_add_epi8(nb, negative, nb, _mm512_set1_epi8(1));
            let table = _mm512_loadu_si512(table.as_ptr().cast());
            let key_lo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(key));
            let key_hi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64::<1>(key));
            // vpermw uses the low 5 bits of each index: `key mod 32`.
            let hi_lo = _mm512_permutexvar_epi16(key_lo, table);
            let hi_hi = _mm512_permutexvar_epi16(key_hi, table);
            let r_lo = _mm512_loadu_si512(words[0].as_ptr().cast());
            let r_hi = _mm512_loadu_si512(words[1].as_ptr().cast());
            let accept = u64::from(_mm512_cmplt_epu16_mask(r_lo, hi_lo))
                | u64::from(_mm512_cmplt_epu16_mask(r_hi, hi_hi)) << 32;
            let refine = u64::from(_mm512_cmpeq_epi16_mask(r_lo, hi_lo))
                | u64::from(_mm512_cmpeq_epi16_mask(r_hi, hi_hi)) << 32;
            let new = if HEAT_BATH {
                _mm512_mask_blend_epi8(accept, _mm512_set1_epi8(-1), _mm512_set1_epi8(1))
            } else {
                _mm512_mask_sub_epi8(s, accept, _mm512_setzero_si512(), s)
            };
            _mm512_storeu_si512(spins.as_mut_ptr().cast(), new);
            refine
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 11
    }

    #[test]
    fn simd_kernel_equals_lane_loop() {
        let mut state = 7u64;
        for trial in 0..400 {
            let spin = |st: &mut u64| if lcg(st) & 1 == 0 { 1i8 } else { -1 };
            let spins: [i8; 64] = core::array::from_fn(|_| spin(&mut state));
            let n: Vec<[i8; 64]> = (0..6)
                .map(|_| core::array::from_fn(|_| spin(&mut state)))
                .collect();
            let refs: [&[i8; 64]; 6] = core::array::from_fn(|i| &n[i]);
            let refs4: [&[i8; 64]; 4] = core::array::from_fn(|i| &n[i]);
            let dims = if trial % 2 == 0 { 4 } else { 6 };
            // Small words so that r == hi happens: draws from a 4-value range.
            let small = trial % 3 == 0;
            let w = |st: &mut u64| {
                let v = lcg(st) as u32;
                if small {
                    v & 0x0003_0003
                } else {
                    v
                }
            };
            let w0: [u32; 16] = core::array::from_fn(|_| w(&mut state));
            let w1: [u32; 16] = core::array::from_fn(|_| w(&mut state));
            let table: [u16; 32] = core::array::from_fn(|_| {
                if small {
                    (lcg(&mut state) & 3) as u16
                } else {
                    lcg(&mut state) as u16
                }
            });
            let offset = dims as i8;
            for heat_bath in [false, true] {
                let (mut a, mut b) = (spins, spins);
                let w = [&w0, &w1];
                let (ra, rb) = match (heat_bath, dims) {
                    (true, 4) => (
                        update64::<true, 4>(&mut a, &refs4, offset, w, &table),
                        update64_portable::<true, 4>(&mut b, &refs4, offset, w, &table),
                    ),
                    (true, _) => (
                        update64::<true, 6>(&mut a, &refs, offset, w, &table),
                        update64_portable::<true, 6>(&mut b, &refs, offset, w, &table),
                    ),
                    (false, 4) => (
                        update64::<false, 4>(&mut a, &refs4, offset, w, &table),
                        update64_portable::<false, 4>(&mut b, &refs4, offset, w, &table),
                    ),
                    (false, _) => (
                        update64::<false, 6>(&mut a, &refs, offset, w, &table),
                        update64_portable::<false, 6>(&mut b, &refs, offset, w, &table),
                    ),
                };
                assert_eq!(a, b, "trial {trial} heat bath {heat_bath}");
                assert_eq!(ra, rb, "trial {trial} heat bath {heat_bath}");
            }
        }
    }
}
