//! Standard normal variates by the Box-Muller transform, in SIMD.
//!
//! From one Philox block `(w0, w1, w2, w3)`:
//! `u1 = u01(w0, w1)`, `u2 = u01(w2, w3)`, `r = sqrt(-2 ln u1)`,
//! `phi = 2 pi (u2 - 1/2)`, and the pair `(z0, z1) = (r cos phi, r sin phi)`.
//! The angle is centred on zero so the sine/cosine arguments stay in
//! `[-pi, pi]`, where the vector polynomials are most accurate.
//!
//! Every normal the library produces goes through [`box_muller`], so a value
//! does not depend on which SIMD lane or which call computed it.

use super::philox::{BlockBatch, BATCH_BLOCKS};
use super::uniform::u01_f64;
use crate::simd::f64x8;

/// Box-Muller on eight pairs of uniforms: returns `(r cos phi, r sin phi)`.
#[inline]
pub fn box_muller(u1: f64x8, u2: f64x8) -> (f64x8, f64x8) {
    let r = (f64x8::splat(-2.0) * u1.ln()).sqrt();
    let phi = (u2 - f64x8::splat(0.5)) * f64x8::splat(std::f64::consts::TAU);
    let (s, c) = phi.sin_cos();
    (r * c, r * s)
}

/// The 32 normals of a 16-block batch in element order: block `j` gives
/// elements `2j` (cosine branch) and `2j + 1` (sine branch).
#[inline]
pub fn normals_of_batch(batch: &BlockBatch, out: &mut [f64; 2 * BATCH_BLOCKS]) {
    for half in 0..BATCH_BLOCKS / 8 {
        let mut u1 = [0.0; 8];
        let mut u2 = [0.0; 8];
        for l in 0..8 {
            let j = 8 * half + l;
            u1[l] = u01_f64(batch[0][j], batch[1][j]);
            u2[l] = u01_f64(batch[2][j], batch[3][j]);
        }
        let (z0, z1) = box_muller(f64x8::new(u1), f64x8::new(u2));
        let (z0, z1) = (z0.to_array(), z1.to_array());
        for l in 0..8 {
            let j = 8 * half + l;
            out[2 * j] = z0[l];
            out[2 * j + 1] = z1[l];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: u64 = 1_407_082_440_054_632_689;

    /// FNV-1a over the bits of `fill_normal_f64(7, 3, 5, ..1000)`.
    fn golden_hash() -> u64 {
        let mut z = vec![0.0; 1000];
        crate::rng::fill::fill_normal_f64(7, 3, 5, &mut z).unwrap();
        z.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
            (h ^ x.to_bits()).wrapping_mul(0x100_0000_01b3)
        })
    }

    #[test]
    fn normals_follow_the_documented_mapping_bit_for_bit() {
        // Element e: block e / 2 of Philox(seed, stream), u1 = u01(w0, w1),
        // u2 = u01(w2, w3), Box-Muller; cosine branch for even e.
        let g = crate::rng::philox::Philox::new(7, 3);
        let mut z = vec![0.0; 1000];
        crate::rng::fill::fill_normal_f64(7, 3, 5, &mut z).unwrap();
        for (i, &got) in z.iter().enumerate() {
            let e = 5 + i as u64;
            let w = g.block(e / 2);
            let u1 = f64x8::splat(crate::rng::uniform::u01_f64(w[0], w[1]));
            let u2 = f64x8::splat(crate::rng::uniform::u01_f64(w[2], w[3]));
            let (c, s) = box_muller(u1, u2);
            let want = if e.is_multiple_of(2) { c } else { s }.to_array()[0];
            assert_eq!(got.to_bits(), want.to_bits(), "element {e}");
        }
        // The same bits as every earlier release (pins the vector ln and
        // sin_cos too, not only the word-to-uniform mapping).
        assert_eq!(golden_hash(), GOLDEN, "normal stream changed");
    }

    #[test]
    fn simd_box_muller_agrees_with_libm_to_a_few_ulp() {
        let u1 = [1e-300, 1e-10, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0 - 1e-16];
        let u2 = [0.0001, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9999];
        let (z0, z1) = box_muller(f64x8::new(u1), f64x8::new(u2));
        for l in 0..8 {
            let r = (-2.0 * u1[l].ln()).sqrt();
            let phi = std::f64::consts::TAU * (u2[l] - 0.5);
            let (e0, e1) = (r * phi.cos(), r * phi.sin());
            let tol = 1e-14 * r.max(1e-300);
            assert!((z0.to_array()[l] - e0).abs() <= tol, "cos branch lane {l}");
            assert!((z1.to_array()[l] - e1).abs() <= tol, "sin branch lane {l}");
        }
    }
}
