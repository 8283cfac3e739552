//! Multiresolution hash-grid encoding (Instant-NGP: Müller, Evans, Schied &
//! Keller 2022, "Instant Neural Graphics Primitives", sec. 3).
//!
//! Level `l` (of `L`) has resolution `N_l = floor(N_min b^l)` and a table of
//! `T` feature vectors of width `F`. A point `x` in `[0, 1]^d` (d = 2 or 3;
//! the caller scales its domain) is scaled to `p = x N_l`; the `2^d` corners
//! `c` of its grid cell are looked up (directly, `sum_k c_k (N_l + 1)^k`, when
//! the level's `(N_l + 1)^d` vertices fit in `T`; else with the paper's
//! spatial hash `(c_0 * 1 xor c_1 * 2654435761 xor c_2 * 805459861) mod T`,
//! `T` a power of two), and their features are blended with (bi/tri)linear
//! weights `w_c = prod_k (c_k ? f_k : 1 - f_k)`, `f = p - floor(p)`.
//! Output: `L F` values, level-major (`[l][f]`). Points outside `[0, 1]^d`
//! are clamped to it (the encoding is then constant along the clamped axis).
//!
//! The derivative used by input gradients is that of the multilinear blend,
//! `d/dx_k = N_l sum_c t_c dw_c/df_k` (piecewise, like the encoding).

use super::mlp::Row;
use crate::error::{Error, ErrorKind, Result};
use crate::simd::{f32x16, u32x16};
use wide::{bytemuck::cast, i32x16};

/// Hash primes of the paper (the first is 1).
const PRIMES: [u32; 3] = [1, 2_654_435_761, 805_459_861];
/// Largest `L * F` (per-lane scratch on the stack).
pub const MAX_OUTPUT: usize = 64;
/// Largest `F`.
pub const MAX_FEATURES: usize = 8;

/// A hash-grid encoding with its table.
#[derive(Clone, Debug, PartialEq)]
pub struct HashGrid {
    pub dims: usize,
    pub levels: usize,
    pub features: usize,
    pub log2_table: u32,
    pub base_resolution: u32,
    pub growth: f32,
    /// `N_l` per level.
    pub resolution: Vec<u32>,
    /// `[L][T][F]`.
    pub table: Vec<f32>,
    /// Per level: whether its vertices are indexed directly (they fit in T).
    dense: Vec<bool>,
}

impl HashGrid {
    pub fn new(
        dims: usize,
        levels: usize,
        features: usize,
        log2_table: u32,
        base_resolution: u32,
        growth: f32,
        table: &[f32],
    ) -> Result<HashGrid> {
        if !(2..=3).contains(&dims) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("hash grid: in_dim = {dims} must be 2 or 3"),
            ));
        }
        if levels == 0 || features == 0 || features > MAX_FEATURES || levels * features > MAX_OUTPUT
        {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "hash grid: features = {features} must be in 1..={MAX_FEATURES} and \
                     levels * features = {levels} * {features} in 1..={MAX_OUTPUT}"
                ),
            ));
        }
        if !(4..=24).contains(&log2_table) || base_resolution == 0 || !(1.0..=8.0).contains(&growth)
        {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "hash grid: log2_table = {log2_table} must be in 4..=24, base_resolution >= 1, \
                     growth = {growth} in [1, 8]"
                ),
            ));
        }
        let resolution: Vec<u32> = (0..levels)
            .map(|l| (f64::from(base_resolution) * f64::from(growth).powi(l as i32)).floor())
            .map(|r| if r < 1e6 { r as u32 } else { u32::MAX })
            .collect();
        if resolution.iter().any(|&r| r >= 1 << 20) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "hash grid: the finest resolution must stay below 2^20",
            ));
        }
        let size = levels * (1usize << log2_table) * features;
        if table.len() != size {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "hash grid table has {} entries, expected L * 2^log2_table * F = {size}",
                    table.len()
                ),
            ));
        }
        if let Some(i) = table.iter().position(|v| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("hash grid table[{i}] = {} is not finite", table[i]),
            ));
        }
        let t = 1usize << log2_table;
        let dense = resolution
            .iter()
            .map(|&r| {
                (r as usize + 1)
                    .checked_pow(dims as u32)
                    .is_some_and(|v| v <= t)
            })
            .collect();
        Ok(HashGrid {
            dense,
            dims,
            levels,
            features,
            log2_table,
            base_resolution,
            growth,
            resolution,
            table: table.to_vec(),
        })
    }

    pub fn output_dim(&self) -> usize {
        self.levels * self.features
    }

    /// Table row of corner `corner` (grid coordinates) at level `l`.
    #[inline]
    fn slot(&self, l: usize, corner: [u32; 3]) -> usize {
        let t = 1usize << self.log2_table;
        let n1 = self.resolution[l] as usize + 1;
        let index = if self.dense[l] {
            let mut i = 0usize;
            for k in (0..self.dims).rev() {
                i = i * n1 + corner[k] as usize;
            }
            i
        } else {
            let mut h = 0u32;
            for k in 0..self.dims {
                h ^= corner[k].wrapping_mul(PRIMES[k]);
            }
            h as usize & (t - 1)
        };
        (l * t + index) * self.features
    }

    /// Encodes one point into `out` (`L F` values); with `grad`, also
    /// accumulates `grad[k] += sum_j g[j] d out_j / d x_k` for upstream `g`.
    #[inline]
    fn point(&self, x: [f32; 3], out: &mut [f32], g: Option<(&[f32], &mut [f32; 3])>) {
        let d = self.dims;
        let mut gx = [0f32; 3];
        let want_grad = g.is_some();
        for l in 0..self.levels {
            let n = self.resolution[l] as f32;
            let mut cell = [0u32; 3];
            let mut frac = [0f32; 3];
            for k in 0..d {
                // Clamp to the unit cube; NaN stays NaN through `p` below.
                let xk = x[k].clamp(0.0, 1.0);
                let p = xk * n;
                let c = if p >= n { n - 1.0 } else { p.floor() };
                cell[k] = if c.is_nan() { 0 } else { c as u32 };
                frac[k] = p - c;
            }
            let o = &mut out[l * self.features..(l + 1) * self.features];
            o.fill(0.0);
            let mut dfrac = [[0f32; MAX_FEATURES]; 3];
            for corner in 0..(1u32 << d) {
                let mut w = 1.0f32;
                let mut c = [0u32; 3];
                for k in 0..d {
                    let bit = (corner >> k) & 1;
                    c[k] = cell[k] + bit;
                    w *= if bit == 1 { frac[k] } else { 1.0 - frac[k] };
                }
                let s = self.slot(l, c);
                let feats = &self.table[s..s + self.features];
                for (a, &t) in o.iter_mut().zip(feats) {
                    *a += w * t;
                }
                if want_grad {
                    for k in 0..d {
                        // dw/df_k: the other axes' weights, signed.
                        let mut dw = if (corner >> k) & 1 == 1 { 1.0 } else { -1.0 };
                        for m in 0..d {
                            if m != k {
                                dw *= if (corner >> m) & 1 == 1 {
                                    frac[m]
                                } else {
                                    1.0 - frac[m]
                                };
                            }
                        }
                        for (f, &t) in feats.iter().enumerate() {
                            dfrac[k][f] += dw * t;
                        }
                    }
                }
            }
            if let Some((g, _)) = &g {
                for k in 0..d {
                    let inside = x[k] > 0.0 && x[k] < 1.0;
                    if inside {
                        let s: f32 = (0..self.features)
                            .map(|f| g[l * self.features + f] * dfrac[k][f])
                            .sum();
                        gx[k] += n * s;
                    }
                }
            }
        }
        if let Some((_, acc)) = g {
            for k in 0..d {
                acc[k] += gx[k];
            }
        }
    }

    /// `enc = gamma(x)` for one point.
    pub fn encode_point(&self, x: &[f32], enc: &mut [f32]) {
        let p: [f32; 3] = std::array::from_fn(|k| if k < self.dims { x[k] } else { 0.0 });
        self.point(p, &mut enc[..self.output_dim()], None);
    }

    /// `enc = gamma(x)` for the first `nv` lane vectors of a tile.
    pub fn encode_tile(&self, nv: usize, x: &[Row], enc: &mut [Row]) {
        let width = self.output_dim();
        for v in 0..nv {
            let xv: [f32x16; 3] =
                std::array::from_fn(|k| if k < self.dims { x[k][v] } else { f32x16::ZERO });
            if !xv.iter().any(|c| c.is_nan().any()) {
                self.encode_lanes(xv, enc, v);
                continue;
            }
            // NaN somewhere: point by point (a NaN coordinate maps to cell 0
            // with a NaN weight, exactly as `encode_point`).
            let xs: [[f32; 16]; 3] = std::array::from_fn(|k| {
                if k < self.dims {
                    x[k][v].to_array()
                } else {
                    [0.0; 16]
                }
            });
            let mut lanes = [[0f32; 16]; MAX_OUTPUT];
            let mut out = [0f32; MAX_OUTPUT];
            for lane in 0..16 {
                self.point(
                    [xs[0][lane], xs[1][lane], xs[2][lane]],
                    &mut out[..width],
                    None,
                );
                for j in 0..width {
                    lanes[j][lane] = out[j];
                }
            }
            for j in 0..width {
                enc[j][v] = f32x16::from(lanes[j]);
            }
        }
    }

    /// [`Self::point`] on the 16 lanes of one vector at once (no NaN lane):
    /// the same operations in the same order per lane, so the same bits; the
    /// cell, weight and hash arithmetic is vectorised and only the table
    /// reads are per lane.
    #[inline]
    fn encode_lanes(&self, xv: [f32x16; 3], enc: &mut [Row], v: usize) {
        let d = self.dims;
        let f_width = self.features;
        for l in 0..self.levels {
            let (cell, frac) = self.cell_lanes(l, xv);
            let mut acc = [f32x16::ZERO; MAX_FEATURES];
            for corner in 0..(1u32 << d) {
                let mut w = f32x16::ONE;
                for k in 0..d {
                    w *= if (corner >> k) & 1 == 1 {
                        frac[k]
                    } else {
                        f32x16::ONE - frac[k]
                    };
                }
                let slots = self.corner_slots(l, cell, corner);
                for (f, a) in acc.iter_mut().enumerate().take(f_width) {
                    *a += w * self.feature_lanes(&slots, f);
                }
            }
            for (f, a) in acc.iter().enumerate().take(f_width) {
                enc[l * f_width + f][v] = *a;
            }
        }
    }

    /// [`Self::cell`] on 16 lanes (no NaN lane).
    #[inline(always)]
    fn cell_lanes(&self, l: usize, xv: [f32x16; 3]) -> ([u32x16; 3], [f32x16; 3]) {
        let n = f32x16::splat(self.resolution[l] as f32);
        let mut cell = [u32x16::ZERO; 3];
        let mut frac = [f32x16::ZERO; 3];
        for k in 0..self.dims {
            let xk = xv[k].max(f32x16::ZERO).min(f32x16::ONE);
            let p = xk * n;
            let c = p.simd_ge(n).select(n - f32x16::ONE, p.floor());
            cell[k] = cast::<i32x16, u32x16>(c.trunc_int());
            frac[k] = p - c;
        }
        (cell, frac)
    }

    /// Table offsets (`slot`: row times `F`) of corner `corner` (bit k: +1
    /// along axis k) of the cells `cell` at level `l`, per lane
    /// ([`Self::slot`] in SIMD).
    #[inline(always)]
    fn corner_slots(&self, l: usize, cell: [u32x16; 3], corner: u32) -> [u32; 16] {
        let d = self.dims;
        let t = 1u32 << self.log2_table;
        let c: [u32x16; 3] = std::array::from_fn(|k| cell[k] + u32x16::splat((corner >> k) & 1));
        let index = if self.dense[l] {
            let n1 = u32x16::splat(self.resolution[l] + 1);
            let mut i = u32x16::ZERO;
            for k in (0..d).rev() {
                i = i * n1 + c[k];
            }
            i
        } else {
            let mut h = u32x16::ZERO;
            for k in 0..d {
                h ^= c[k] * u32x16::splat(PRIMES[k]);
            }
            h & u32x16::splat(t - 1)
        };
        let base = u32x16::splat(l as u32 * t);
        ((base + index) * u32x16::splat(self.features as u32)).to_array()
    }

    /// Feature `f` of the rows at `slots`, one per lane.
    #[inline(always)]
    fn feature_lanes(&self, slots: &[u32; 16], f: usize) -> f32x16 {
        f32x16::from(std::array::from_fn::<f32, 16, _>(|j| {
            self.table[slots[j] as usize + f]
        }))
    }

    /// The input gradient of [`Self::point`] on 16 lanes (no NaN lane), same
    /// operations in the same order per lane: `sum_l [x_k in (0, 1)] N_l
    /// sum_f g_(l f) sum_c t_(c f) dw_c/df_k`.
    #[inline]
    fn backward_lanes(&self, xv: [f32x16; 3], g: &[Row], v: usize) -> [f32x16; 3] {
        let d = self.dims;
        let f_width = self.features;
        let mut gx = [f32x16::ZERO; 3];
        for l in 0..self.levels {
            let n = f32x16::splat(self.resolution[l] as f32);
            let (cell, frac) = self.cell_lanes(l, xv);
            let mut dfrac = [[f32x16::ZERO; MAX_FEATURES]; 3];
            for corner in 0..(1u32 << d) {
                let slots = self.corner_slots(l, cell, corner);
                let feats: [f32x16; MAX_FEATURES] = std::array::from_fn(|f| {
                    if f < f_width {
                        self.feature_lanes(&slots, f)
                    } else {
                        f32x16::ZERO
                    }
                });
                for k in 0..d {
                    let mut dw = f32x16::splat(if (corner >> k) & 1 == 1 { 1.0 } else { -1.0 });
                    for m in 0..d {
                        if m != k {
                            dw *= if (corner >> m) & 1 == 1 {
                                frac[m]
                            } else {
                                f32x16::ONE - frac[m]
                            };
                        }
                    }
                    for (df, t) in dfrac[k].iter_mut().zip(&feats).take(f_width) {
                        *df += dw * *t;
                    }
                }
            }
            for k in 0..d {
                let inside = xv[k].simd_gt(f32x16::ZERO) & xv[k].simd_lt(f32x16::ONE);
                // `Iterator::sum` of f32 starts from -0.0.
                let mut s = f32x16::splat(-0.0);
                for f in 0..f_width {
                    s += g[l * f_width + f][v] * dfrac[k][f];
                }
                gx[k] = inside.select(gx[k] + n * s, gx[k]);
            }
        }
        // `acc[k] += gx[k]` from zero, as the point path.
        gx.map(|a| f32x16::ZERO + a)
    }

    /// `gx[k] = sum_j g_enc[j] d gamma_j / d x_k` on `nv` lane vectors.
    pub fn backward_tile(&self, nv: usize, x: &[Row], g_enc: &[Row], gx: &mut [Row]) {
        let width = self.output_dim();
        for v in 0..nv {
            let xv: [f32x16; 3] =
                std::array::from_fn(|k| if k < self.dims { x[k][v] } else { f32x16::ZERO });
            if !xv.iter().any(|c| c.is_nan().any()) {
                let r = self.backward_lanes(xv, g_enc, v);
                for k in 0..self.dims {
                    gx[k][v] = r[k];
                }
                continue;
            }
            let xs: [[f32; 16]; 3] = std::array::from_fn(|k| {
                if k < self.dims {
                    x[k][v].to_array()
                } else {
                    [0.0; 16]
                }
            });
            let gs: [[f32; 16]; MAX_OUTPUT] = std::array::from_fn(|j| {
                if j < width {
                    g_enc[j][v].to_array()
                } else {
                    [0.0; 16]
                }
            });
            let mut out = [0f32; MAX_OUTPUT];
            let mut res = [[0f32; 16]; 3];
            for lane in 0..16 {
                let g: [f32; MAX_OUTPUT] = std::array::from_fn(|j| gs[j][lane]);
                let mut acc = [0f32; 3];
                self.point(
                    [xs[0][lane], xs[1][lane], xs[2][lane]],
                    &mut out[..width],
                    Some((&g[..width], &mut acc)),
                );
                for k in 0..3 {
                    res[k][lane] = acc[k];
                }
            }
            for k in 0..self.dims {
                gx[k][v] = f32x16::from(res[k]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nf::mlp::VECS;

    /// The vectorised tile paths (encoding and input gradient) equal the
    /// point path lane by lane, bit for bit: 2D and 3D, dense and hashed levels, points on cell faces, on the
    /// upper boundary (p = N), outside the cube (clamped), signed zeros, and
    /// a vector holding a NaN (the per-point fallback).
    #[test]
    fn tile_encoding_and_gradient_equal_the_point_path_bitwise() {
        for dims in [2usize, 3] {
            let (levels, features, log2) = (6, 2, 10);
            let table: Vec<f32> = (0..levels * (1usize << log2) * features)
                .map(|i| ((i * 7919 % 1013) as f32 - 506.0) * 1e-3)
                .collect();
            let g = HashGrid::new(dims, levels, features, log2, 4, 2.0, &table).unwrap();
            assert!(g.dense.iter().any(|&d| d) && g.dense.iter().any(|&d| !d));
            let special = [
                0.0f32,
                -0.0,
                1.0,
                0.25,
                0.5,
                1.5,
                -0.5,
                0.999_999_9,
                0.125,
                0.3,
            ];
            for with_nan in [false, true] {
                let mut x: [Row; 3] = [[f32x16::ZERO; VECS]; 3];
                let mut pts = [[0f32; 3]; 16];
                for (j, p) in pts.iter_mut().enumerate() {
                    for (k, c) in p.iter_mut().enumerate() {
                        *c = special[(j + 3 * k) % special.len()] + 0.01 * (j / 10) as f32;
                    }
                }
                if with_nan {
                    pts[5][1] = f32::NAN;
                }
                for k in 0..3 {
                    x[k][0] = f32x16::from(std::array::from_fn::<f32, 16, _>(|j| pts[j][k]));
                }
                let width = g.output_dim();
                let mut enc: Vec<Row> = vec![[f32x16::ZERO; VECS]; width];
                g.encode_tile(1, &x, &mut enc);
                // Backward with an upstream gradient that varies per output and lane.
                let up: Vec<Row> = (0..width)
                    .map(|c| {
                        let mut r = [f32x16::ZERO; VECS];
                        r[0] = f32x16::from(std::array::from_fn::<f32, 16, _>(|j| {
                            ((c * 31 + j * 7) % 13) as f32 * 0.25 - 1.5
                        }));
                        r
                    })
                    .collect();
                let mut gx: [Row; 3] = [[f32x16::ZERO; VECS]; 3];
                g.backward_tile(1, &x, &up, &mut gx);
                for (j, p) in pts.iter().enumerate() {
                    let mut out = vec![0f32; width];
                    let gj: Vec<f32> = (0..width).map(|c| up[c][0].to_array()[j]).collect();
                    let mut acc = [0f32; 3];
                    g.point(*p, &mut out, Some((&gj, &mut acc)));
                    for k in 0..dims {
                        let got = gx[k][0].to_array()[j];
                        assert_eq!(
                            got.to_bits(),
                            acc[k].to_bits(),
                            "grad dims {dims} lane {j} axis {k}"
                        );
                    }
                }
                for (j, p) in pts.iter().enumerate() {
                    let mut want = vec![0f32; width];
                    g.encode_point(&p[..dims], &mut want);
                    for (c, w) in want.iter().enumerate() {
                        let got = enc[c][0].to_array()[j];
                        assert_eq!(
                            got.to_bits(),
                            w.to_bits(),
                            "dims {dims} lane {j} output {c}"
                        );
                    }
                }
            }
        }
    }
}
