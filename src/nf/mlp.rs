//! Dense layers `h' = a(W h + b)` on tiles of points, with weights packed into
//! register-block panels at create (the idea of fully fused MLPs: Müller et
//! al. 2021, "Real-time Neural Radiance Caching for Path Tracing").
//!
//! A tile holds [`TILE`] points; a feature is one [`Row`] of `VECS` lane
//! vectors (feature-major, so one weight times one row is `VECS` FMAs). The
//! micro-kernel keeps an `MR x VECS` block of accumulators in registers
//! (4 x 4 zmm on AVX-512), broadcasts `MR` weights per input feature and
//! streams the input rows: `MR * VECS` FMAs per `MR + VECS` loads. Every lane
//! runs the same instruction sequence, so a point's result does not depend on
//! its position in the tile, on the tile boundaries or on the thread count.

use super::activation::Activation;
use crate::error::{Error, ErrorKind, Result};
use crate::simd::f32x16;

/// Points per tile.
pub const TILE: usize = 64;
/// Lane vectors per feature row.
pub const VECS: usize = TILE / 16;
/// Output features per register block.
pub const MR: usize = 4;

/// One feature of a tile: `TILE` points.
pub type Row = [f32x16; VECS];

/// The zero row.
pub const ZERO_ROW: Row = [f32x16::ZERO; VECS];

/// A dense layer with its weights packed for the tile kernels.
#[derive(Clone, Debug)]
pub struct DenseLayer {
    pub in_dim: usize,
    pub out_dim: usize,
    pub activation: Activation,
    /// `panels[ob * in_dim + i][r] = W[ob * MR + r][i]` (zero past `out_dim`).
    panels: Vec<[f32; MR]>,
    /// `bias[ob][r] = b[ob * MR + r]`.
    bias: Vec<[f32; MR]>,
    /// Transposed panels for the backward pass:
    /// `panels_t[ib * out_dim + o][r] = W[o][ib * MR + r]`.
    panels_t: Vec<[f32; MR]>,
    /// Columns for single points (outputs in lanes):
    /// `columns[i * chunks + c]` lane `r` = `W[16 c + r][i]` (zero past `out_dim`).
    columns: Vec<f32x16>,
    /// `bias16[c]` lane `r` = `b[16 c + r]`.
    bias16: Vec<f32x16>,
}

impl DenseLayer {
    /// Packs `weight` (`[out_dim][in_dim]`, row-major: PyTorch's
    /// `nn.Linear.weight`) and `bias` (`[out_dim]`, `None` = zero).
    pub fn new(
        in_dim: usize,
        out_dim: usize,
        activation: Activation,
        weight: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<DenseLayer> {
        if in_dim == 0 || out_dim == 0 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("dense layer {out_dim} x {in_dim}: sizes must be >= 1"),
            ));
        }
        let mut layer = DenseLayer {
            in_dim,
            out_dim,
            activation,
            panels: vec![[0.0; MR]; out_dim.div_ceil(MR) * in_dim],
            bias: vec![[0.0; MR]; out_dim.div_ceil(MR)],
            panels_t: vec![[0.0; MR]; in_dim.div_ceil(MR) * out_dim],
            columns: vec![f32x16::ZERO; in_dim * out_dim.div_ceil(16)],
            bias16: vec![f32x16::ZERO; out_dim.div_ceil(16)],
        };
        layer.repack(weight, bias)?;
        Ok(layer)
    }

    /// Checks and re-packs new weights of the same shape (no allocation).
    pub fn repack(&mut self, weight: &[f32], bias: Option<&[f32]>) -> Result<()> {
        let (n_in, n_out) = (self.in_dim, self.out_dim);
        if weight.len() != n_in * n_out {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "weight has {} entries, expected out_dim * in_dim = {n_out} * {n_in}",
                    weight.len()
                ),
            ));
        }
        if let Some(b) = bias {
            if b.len() != n_out {
                return Err(Error::new(
                    ErrorKind::InvalidSize,
                    format!("bias has {} entries, expected out_dim = {n_out}", b.len()),
                ));
            }
        }
        let bias_iter = bias.into_iter().flatten();
        if let Some((i, v)) = weight
            .iter()
            .chain(bias_iter)
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            let what = if i < weight.len() {
                format!("weight[{i}]")
            } else {
                format!("bias[{}]", i - weight.len())
            };
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("{what} = {v} is not finite"),
            ));
        }
        for p in self.panels.iter_mut().chain(self.panels_t.iter_mut()) {
            *p = [0.0; MR];
        }
        for o in 0..n_out {
            for i in 0..n_in {
                let w = weight[o * n_in + i];
                self.panels[(o / MR) * n_in + i][o % MR] = w;
                self.panels_t[(i / MR) * n_out + o][i % MR] = w;
            }
        }
        for o in 0..n_out {
            self.bias[o / MR][o % MR] = bias.map_or(0.0, |b| b[o]);
        }
        let chunks = n_out.div_ceil(16);
        for i in 0..n_in {
            for c in 0..chunks {
                let lanes: [f32; 16] = std::array::from_fn(|r| {
                    weight
                        .get((16 * c + r) * n_in + i)
                        .copied()
                        .filter(|_| 16 * c + r < n_out)
                        .unwrap_or(0.0)
                });
                self.columns[i * chunks + c] = f32x16::from(lanes);
            }
        }
        for c in 0..chunks {
            let lanes: [f32; 16] = std::array::from_fn(|r| {
                let o = 16 * c + r;
                if o < n_out {
                    bias.map_or(0.0, |b| b[o])
                } else {
                    0.0
                }
            });
            self.bias16[c] = f32x16::from(lanes);
        }
        Ok(())
    }

    /// `out[o] = a(sum_i W[o][i] input[i] + b[o])` for the first `nv` lane
    /// vectors of one tile; `input` has `in_dim` rows, `out` `out_dim` rows.
    #[inline]
    pub fn forward_tile(&self, nv: usize, input: &[Row], out: &mut [Row]) {
        let act = self.activation;
        panel_product(
            nv,
            &self.panels,
            Some(&self.bias),
            self.in_dim,
            self.out_dim,
            input,
            |o, z| {
                for (slot, &zv) in out[o].iter_mut().zip(z) {
                    *slot = act.value(zv);
                }
            },
        );
    }

    /// As [`forward_tile`](Self::forward_tile), also storing `a'(z)` in `deriv`.
    #[inline]
    pub fn forward_tile_with_derivative(
        &self,
        nv: usize,
        input: &[Row],
        out: &mut [Row],
        deriv: &mut [Row],
    ) {
        let act = self.activation;
        panel_product(
            nv,
            &self.panels,
            Some(&self.bias),
            self.in_dim,
            self.out_dim,
            input,
            |o, z| {
                for (v, &zv) in z.iter().enumerate() {
                    let (a, da) = act.value_and_derivative(zv);
                    out[o][v] = a;
                    deriv[o][v] = da;
                }
            },
        );
    }

    /// FiLM-conditioned forward: `z = W h + b` (kept in `zpre`), then
    /// `out = a(gamma z + beta)` with `film = [gamma rows; beta rows]`;
    /// `deriv` (if given) receives `a'(gamma z + beta)`.
    #[inline]
    pub fn forward_tile_film(
        &self,
        nv: usize,
        input: &[Row],
        film: &[Row],
        out: &mut [Row],
        mut deriv: Option<&mut [Row]>,
        zpre: &mut [Row],
    ) {
        let act = self.activation;
        let n = self.out_dim;
        panel_product(
            nv,
            &self.panels,
            Some(&self.bias),
            self.in_dim,
            self.out_dim,
            input,
            |o, z| {
                for (v, &zv) in z.iter().enumerate() {
                    zpre[o][v] = zv;
                    let zf = film[o][v].mul_add(zv, film[n + o][v]);
                    match deriv.as_deref_mut() {
                        Some(d) => {
                            let (a, da) = act.value_and_derivative(zf);
                            out[o][v] = a;
                            d[o][v] = da;
                        }
                        None => out[o][v] = act.value(zf),
                    }
                }
            },
        );
    }

    /// One point, outputs in lanes: `out[o] = a(b[o] + sum_i W[o][i] h[i])`
    /// with the same per-output operation sequence as the tile kernel (bias,
    /// then one FMA per input in order, then the activation), so a point
    /// gets the same bits on either path.
    #[inline]
    pub fn forward_point(&self, h: &[f32], out: &mut [f32]) {
        let chunks = self.out_dim.div_ceil(16);
        let h = &h[..self.in_dim];
        let mut c0 = 0;
        while c0 < chunks {
            let width = (chunks - c0).min(4);
            let mut acc = [f32x16::ZERO; 4];
            acc[..width].copy_from_slice(&self.bias16[c0..c0 + width]);
            for (i, &hi) in h.iter().enumerate() {
                let hv = f32x16::splat(hi);
                let col = &self.columns[i * chunks + c0..i * chunks + c0 + width];
                for (a, w) in acc.iter_mut().zip(col) {
                    *a = w.mul_add(hv, *a);
                }
            }
            for (k, a) in acc[..width].iter().enumerate() {
                let v = self.activation.value(*a).to_array();
                let o0 = 16 * (c0 + k);
                let n = 16.min(self.out_dim - o0);
                out[o0..o0 + n].copy_from_slice(&v[..n]);
            }
            c0 += width;
        }
    }

    /// Backward pass through the weights on `nv` lane vectors:
    /// `g_in[i] = sum_o W[o][i] d[o]` (`d` has `out_dim` rows, `g_in` `in_dim`).
    #[inline]
    pub fn backward_tile(&self, nv: usize, d: &[Row], g_in: &mut [Row]) {
        panel_product(
            nv,
            &self.panels_t,
            None,
            self.out_dim,
            self.in_dim,
            d,
            |i, z| g_in[i][..z.len()].copy_from_slice(z),
        );
    }
}

/// The register-blocked product on the first `nv` lane vectors of a tile
/// (a short last tile computes only the vectors it needs; each lane runs the
/// same instructions either way, so results do not depend on `nv`).
#[inline(always)]
fn panel_product(
    nv: usize,
    panels: &[[f32; MR]],
    bias: Option<&[[f32; MR]]>,
    n_in: usize,
    n_out: usize,
    input: &[Row],
    store: impl FnMut(usize, &[f32x16]),
) {
    match nv {
        1 => panel_product_nv::<1>(panels, bias, n_in, n_out, input, store),
        2 => panel_product_nv::<2>(panels, bias, n_in, n_out, input, store),
        3 => panel_product_nv::<3>(panels, bias, n_in, n_out, input, store),
        _ => panel_product_nv::<VECS>(panels, bias, n_in, n_out, input, store),
    }
}

/// For every block of `MR` outputs, accumulate `bias + sum_i panel[i][r] *
/// input[i]` in `MR x NV` registers, then hand each valid output row to
/// `store` (which applies the activation).
#[inline(always)]
fn panel_product_nv<const NV: usize>(
    panels: &[[f32; MR]],
    bias: Option<&[[f32; MR]]>,
    n_in: usize,
    n_out: usize,
    input: &[Row],
    mut store: impl FnMut(usize, &[f32x16]),
) {
    let input = &input[..n_in];
    for (ob, panel) in panels.chunks_exact(n_in).enumerate() {
        let b = bias.map_or([0.0; MR], |b| b[ob]);
        let mut acc = [[f32x16::ZERO; NV]; MR];
        for r in 0..MR {
            acc[r] = [f32x16::splat(b[r]); NV];
        }
        for (w, x) in panel.iter().zip(input) {
            for r in 0..MR {
                let wr = f32x16::splat(w[r]);
                for v in 0..NV {
                    acc[r][v] = wr.mul_add(x[v], acc[r][v]);
                }
            }
        }
        let o0 = ob * MR;
        for r in 0..MR.min(n_out - o0) {
            store(o0 + r, &acc[r]);
        }
    }
}
