//! The distance scan of a neighbour-list build: which slots of a contiguous
//! run of packed `[x, y, z, type]` records lie within the list radius of a
//! centre. With AVX-512, eight records at a time: four loads, a register
//! transpose, the minimum-image separations and a compress of the hit slots;
//! elsewhere (and near a full row) the scalar loop. Both append the same
//! slots in the same order, with the same arithmetic (`d - L round(d / L)`
//! as a multiply by `1/L` and a separate multiply-subtract, never fused, and
//! `(dx^2 + dy^2) + dz^2`), so the list does not depend on the path taken.

use std::ops::Range;

/// The centre of a scan and the geometry it is measured in.
#[derive(Clone, Copy, Debug)]
pub struct ScanCentre {
    pub r: [f64; 3],
    pub lengths: [f64; 3],
    pub inv_lengths: [f64; 3],
    pub periodic: bool,
    /// Whether z counts (3D).
    pub three: bool,
    /// Squared list radius: a slot is a hit when its squared distance is
    /// below this.
    pub r2: f64,
    /// The centre's own slot, never a hit.
    pub exclude: usize,
}

impl ScanCentre {
    #[inline(always)]
    fn min_image(&self, a: usize, d: f64) -> f64 {
        if self.periodic {
            d - self.lengths[a] * (d * self.inv_lengths[a]).round_ties_even()
        } else {
            d
        }
    }

    /// Whether `q` lies within the radius.
    #[inline(always)]
    fn hit(&self, q: &[f64; 4]) -> bool {
        let dx = self.min_image(0, self.r[0] - q[0]);
        let dy = self.min_image(1, self.r[1] - q[1]);
        let dz = if self.three {
            self.min_image(2, self.r[2] - q[2])
        } else {
            0.0
        };
        dx * dx + dy * dy + dz * dz < self.r2
    }
}

/// Appends to `row[1 + count ..]` the slots `j` in `slots` (ascending) with
/// `packed[j]` within the radius of `c`, except `c.exclude`; returns the new
/// count. Once the count exceeds `cap`, further slots overwrite
/// `row[1 + cap]` (the caller reports the overflow), so `row` needs
/// `cap + 2` entries.
#[inline]
pub fn append_within(
    packed: &[[f64; 4]],
    slots: Range<usize>,
    c: &ScanCentre,
    row: &mut [u32],
    count: usize,
    cap: usize,
) -> usize {
    #[cfg(all(target_feature = "avx512f", target_feature = "avx512vl"))]
    let (slots, count) = {
        let mut count = count;
        let (mut j, hi) = (slots.start, slots.end);
        while j < hi && count + 8 <= cap {
            count = avx512::eight(packed, j, hi, c, row, count);
            j += 8;
        }
        (j.min(hi)..hi, count)
    };
    append_within_scalar(packed, slots, c, row, count, cap)
}

/// The scalar loop alone: the tail of [`append_within`], and the reference
/// its SIMD path is tested against.
pub fn append_within_scalar(
    packed: &[[f64; 4]],
    slots: Range<usize>,
    c: &ScanCentre,
    row: &mut [u32],
    mut count: usize,
    cap: usize,
) -> usize {
    for j in slots {
        row[1 + count.min(cap)] = j as u32;
        count += usize::from(c.hit(&packed[j]) & (j != c.exclude));
    }
    count
}

#[cfg(all(target_feature = "avx512f", target_feature = "avx512vl"))]
mod avx512 {
    use super::ScanCentre;
    use core::arch::x86_64::*;

    /// Slots `j0 .. min(j0 + 8, hi)`; needs `count + 8 <= cap` (the eight
    /// stored words then fit in `row[1 + count .. 9 + count]`).
    #[inline(always)]
    pub fn eight(
        packed: &[[f64; 4]],
        j0: usize,
        hi: usize,
        c: &ScanCentre,
        row: &mut [u32],
        count: usize,
    ) -> usize {
        let valid = (hi - j0).min(8);
        assert!(j0 + valid <= packed.len() && 9 + count <= row.len());
        // Record k of the eight is loaded only if it exists (masked loads do
        // not touch masked-out elements).
        let pair_mask = |k: usize| -> __mmask8 {
            (if k < valid { 0x0F } else { 0 }) | (if k + 1 < valid { 0xF0 } else { 0 })
        };
        let base = packed[j0..].as_ptr().cast::<f64>();
        // SAFETY: the build enables avx512f and avx512vl, so the intrinsics
        // exist. Each masked load reads only records j0 + k with k < valid,
        // which lie inside `packed` (asserted above); addresses past the end
        // are formed with wrapping_add and never accessed (their mask bits
        // are 0, and masked-out elements do not fault). The store writes 8
        // u32 at row[1 + count ..], inside `row` (asserted above).
        unsafe {
            let v01 = _mm512_maskz_loadu_pd(pair_mask(0), base);
            let v23 = _mm512_maskz_loadu_pd(pair_mask(2), base.wrapping_add(8));
            let v45 = _mm512_maskz_loadu_pd(pair_mask(4), base.wrapping_add(16));
            let v67 = _mm512_maskz_loadu_pd(pair_mask(6), base.wrapping_add(24));
            // [x0 x1 x2 x3 y0 y1 y2 y3] and [z0 z1 z2 z3 t0 t1 t2 t3].
            let ixy = _mm512_setr_epi64(0, 4, 8, 12, 1, 5, 9, 13);
            let izt = _mm512_setr_epi64(2, 6, 10, 14, 3, 7, 11, 15);
            let xy03 = _mm512_permutex2var_pd(v01, ixy, v23);
            let xy47 = _mm512_permutex2var_pd(v45, ixy, v67);
            let x = _mm512_shuffle_f64x2::<0b0100_0100>(xy03, xy47);
            let y = _mm512_shuffle_f64x2::<0b1110_1110>(xy03, xy47);
            let sep = |a: usize, q: __m512d| {
                let d = _mm512_sub_pd(_mm512_set1_pd(c.r[a]), q);
                if c.periodic {
                    let k = _mm512_roundscale_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                        _mm512_mul_pd(d, _mm512_set1_pd(c.inv_lengths[a])),
                    );
                    _mm512_sub_pd(d, _mm512_mul_pd(_mm512_set1_pd(c.lengths[a]), k))
                } else {
                    d
                }
            };
            let (dx, dy) = (sep(0, x), sep(1, y));
            let mut d2 = _mm512_add_pd(_mm512_mul_pd(dx, dx), _mm512_mul_pd(dy, dy));
            if c.three {
                let zt03 = _mm512_permutex2var_pd(v01, izt, v23);
                let zt47 = _mm512_permutex2var_pd(v45, izt, v67);
                let dz = sep(2, _mm512_shuffle_f64x2::<0b0100_0100>(zt03, zt47));
                d2 = _mm512_add_pd(d2, _mm512_mul_pd(dz, dz));
            }
            let lanes_valid: __mmask8 = ((1u32 << valid) - 1) as __mmask8;
            let mut hits =
                _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(lanes_valid, d2, _mm512_set1_pd(c.r2));
            if (j0..j0 + valid).contains(&c.exclude) {
                hits &= !(1u8 << (c.exclude - j0));
            }
            let slots = _mm256_add_epi32(
                _mm256_set1_epi32(j0 as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            );
            // Compress in a register, then a plain store: on Zen 4 the
            // compress-to-memory form is microcoded and much slower.
            let packed_slots = _mm256_maskz_compress_epi32(hits, slots);
            _mm256_storeu_si256(
                row[1 + count..].as_mut_ptr().cast::<__m256i>(),
                packed_slots,
            );
            count + hits.count_ones() as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_scan_appends_the_same_slots_as_the_scalar_loop() {
        // Random records in a box of side 4, periodic and open, 2D and 3D,
        // runs of every length 0..=40 at every offset near the end (masked
        // loads), radii around the typical spacing; the centre is one of the
        // records (excluded) or not.
        let n = 97;
        let mut u = vec![0.0; 4 * n + 8];
        crate::rng::fill::fill_uniform_f64(11, 0, 0, &mut u).unwrap();
        let packed: Vec<[f64; 4]> = (0..n)
            .map(|k| [4.0 * u[4 * k], 4.0 * u[4 * k + 1], 4.0 * u[4 * k + 2], 0.0])
            .collect();
        let mut checked = 0;
        for periodic in [false, true] {
            for three in [false, true] {
                for r2 in [0.5, 2.0, 9.0] {
                    for centre in [3usize, 50, 96] {
                        let c = ScanCentre {
                            r: [packed[centre][0], packed[centre][1], packed[centre][2]],
                            lengths: [4.0; 3],
                            inv_lengths: [0.25; 3],
                            periodic,
                            three,
                            r2,
                            exclude: centre,
                        };
                        for lo in (0..n).step_by(7).chain(n - 9..n) {
                            for len in 0..=40.min(n - lo) {
                                let cap = 48;
                                let mut a = vec![0u32; cap + 2];
                                let mut b = vec![0u32; cap + 2];
                                let start = (lo % 5) * 4;
                                let ca =
                                    append_within(&packed, lo..lo + len, &c, &mut a, start, cap);
                                let cb = append_within_scalar(
                                    &packed,
                                    lo..lo + len,
                                    &c,
                                    &mut b,
                                    start,
                                    cap,
                                );
                                assert_eq!(ca, cb);
                                // Past `cap` only the count is defined.
                                let kept = 1 + ca.min(cap);
                                assert_eq!(a[1 + start..kept], b[1 + start..kept]);
                                checked += kept - 1 - start;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000, "too few hits to compare: {checked}");
    }

    #[test]
    fn a_nearly_full_row_takes_the_scalar_path_and_reports_overflow() {
        let packed = vec![[0.5, 0.5, 0.5, 0.0]; 20];
        let c = ScanCentre {
            r: [0.5; 3],
            lengths: [1.0; 3],
            inv_lengths: [1.0; 3],
            periodic: true,
            three: true,
            r2: 1.0,
            exclude: 0,
        };
        let cap = 10;
        let mut row = vec![0u32; cap + 2];
        let count = append_within(&packed, 0..20, &c, &mut row, 0, cap);
        assert_eq!(count, 19);
        assert_eq!(&row[1..11], &(1..11).collect::<Vec<u32>>()[..]);
    }
}
