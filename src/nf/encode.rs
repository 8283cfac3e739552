//! Input encodings `gamma(x)`: the first stage of a neural field, evaluated on
//! a tile of points (feature-major rows of [`TILE`](super::mlp::TILE) lanes).
//!
//! * Identity: `gamma(x) = x`.
//! * Fourier features (Tancik et al. 2020, "Fourier Features Let Networks
//!   Learn High Frequency Functions"): with a matrix `B` of `m` rows,
//!   `gamma(x) = [sin(2 pi B x), cos(2 pi B x)]`: the `m` sines first, then the
//!   `m` cosines (the order of the authors' code).
//! * NeRF positional encoding (Mildenhall et al. 2020, eq. 4) with `L` octaves:
//!   `gamma(x) = [x, sin(2^0 pi x), cos(2^0 pi x), ..., sin(2^{L-1} pi x),
//!   cos(2^{L-1} pi x)]`, each entry a block of `d` rows (one per input
//!   coordinate); the leading `x` block is present only with `include_input`.
//!
//! Inputs are dimensionless; the frequencies carry the caller's length unit.

use super::hashgrid::HashGrid;
use super::mlp::Row;
use super::model::MAX_WIDTH;
use crate::error::{Error, ErrorKind, Result};
use crate::simd::f32x16;

/// C codes of the encodings (`FK_NF_ENC_*` in the header). Fixed forever.
pub mod code {
    pub const IDENTITY: i32 = 0;
    pub const FOURIER: i32 = 1;
    pub const POSITIONAL: i32 = 2;
    pub const HASH_GRID: i32 = 3;
}

/// An input encoding, with its constants prepared for the tile kernels.
#[derive(Clone, Debug, PartialEq)]
pub enum Encoding {
    Identity,
    Fourier {
        /// `B` as given, `[m][d]` row-major (kept for export and checks).
        b: Vec<f32>,
        /// `2 pi B`, rounded once from f64.
        two_pi_b: Vec<f32>,
        /// `2 pi B` transposed for single points: `[d][chunk]`, lane `r` of
        /// chunk `c` = row `16 c + r` (zero past `m`).
        two_pi_b_t: Vec<f32x16>,
        m: usize,
    },
    Positional {
        octaves: usize,
        include_input: bool,
    },
    /// Multiresolution hash grid (Instant-NGP), see [`super::hashgrid`].
    HashGrid(Box<HashGrid>),
}

/// Largest octave count: 2^(L-1) pi x must stay an accurate f32 phase.
pub const MAX_OCTAVES: usize = 24;

impl Encoding {
    /// Fourier features from `b` (`[m][in_dim]`, row-major).
    pub fn fourier(b: &[f32], m: usize, in_dim: usize) -> Result<Encoding> {
        if m == 0 || m > MAX_WIDTH / 2 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "Fourier encoding needs n_frequencies = {m} in 1..={} (width 2 m <= {MAX_WIDTH})",
                    MAX_WIDTH / 2
                ),
            ));
        }
        if m.checked_mul(in_dim) != Some(b.len()) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "Fourier matrix B has {} entries, expected n_frequencies * in_dim = {m} * {in_dim}",
                    b.len()
                ),
            ));
        }
        if let Some(i) = b.iter().position(|v| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("Fourier matrix B[{i}] = {} is not finite", b[i]),
            ));
        }
        let two_pi_b: Vec<f32> = b
            .iter()
            .map(|&v| (std::f64::consts::TAU * f64::from(v)) as f32)
            .collect();
        let chunks = m.div_ceil(16);
        let two_pi_b_t = (0..in_dim * chunks)
            .map(|k| {
                let (d, c) = (k / chunks, k % chunks);
                f32x16::from(std::array::from_fn::<f32, 16, _>(|r| {
                    let j = 16 * c + r;
                    if j < m {
                        two_pi_b[j * in_dim + d]
                    } else {
                        0.0
                    }
                }))
            })
            .collect();
        Ok(Encoding::Fourier {
            b: b.to_vec(),
            two_pi_b,
            two_pi_b_t,
            m,
        })
    }

    /// NeRF positional encoding with `octaves` frequencies.
    pub fn positional(octaves: usize, include_input: bool) -> Result<Encoding> {
        if octaves > MAX_OCTAVES || (octaves == 0 && !include_input) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "positional encoding: octaves = {octaves} must be in 1..={MAX_OCTAVES} \
                     (0 only with include_input)"
                ),
            ));
        }
        Ok(Encoding::Positional {
            octaves,
            include_input,
        })
    }

    /// The encoding for C code `code`: `n_frequencies` is the Fourier row
    /// count `m` or the positional octave count `L`; `b` is `[m][in_dim]`
    /// (Fourier only); `include_input` applies to the positional encoding.
    pub fn from_code(
        code: i32,
        in_dim: usize,
        n_frequencies: usize,
        b: Option<&[f32]>,
        include_input: bool,
    ) -> Result<Encoding> {
        match code {
            code::IDENTITY => Ok(Encoding::Identity),
            code::FOURIER => Encoding::fourier(b.unwrap_or(&[]), n_frequencies, in_dim),
            code::POSITIONAL => Encoding::positional(n_frequencies, include_input),
            other => Err(Error::new(
                ErrorKind::UnknownEnum,
                format!("encoding = {other} is not a known FK_NF_ENC_* value (0..=2)"),
            )),
        }
    }

    /// The C code of this encoding.
    pub fn code(&self) -> i32 {
        match self {
            Encoding::Identity => code::IDENTITY,
            Encoding::Fourier { .. } => code::FOURIER,
            Encoding::Positional { .. } => code::POSITIONAL,
            Encoding::HashGrid(_) => code::HASH_GRID,
        }
    }

    /// Width of `gamma(x)` for `in_dim` input coordinates.
    pub fn output_dim(&self, in_dim: usize) -> usize {
        match self {
            Encoding::Identity => in_dim,
            Encoding::Fourier { m, .. } => 2 * m,
            Encoding::Positional {
                octaves,
                include_input,
            } => in_dim * (2 * octaves + usize::from(*include_input)),
            Encoding::HashGrid(g) => g.output_dim(),
        }
    }

    /// `2^k pi` as an f32 (exact power of two times pi rounded once).
    #[inline]
    fn octave_frequency(k: usize) -> f32 {
        (std::f64::consts::PI * (1u64 << k) as f64) as f32
    }

    /// `enc = gamma(x)` for the first `nv` lane vectors of one tile; `x` has
    /// `in_dim` rows.
    pub fn encode_tile(&self, nv: usize, in_dim: usize, x: &[Row], enc: &mut [Row]) {
        match self {
            Encoding::Identity => enc[..in_dim].copy_from_slice(&x[..in_dim]),
            Encoding::Fourier { two_pi_b, m, .. } => {
                let (sin_rows, cos_rows) = enc[..2 * m].split_at_mut(*m);
                for ((bj, s_row), c_row) in two_pi_b
                    .chunks_exact(in_dim)
                    .zip(sin_rows.iter_mut())
                    .zip(cos_rows.iter_mut())
                {
                    for v in 0..nv {
                        let mut phase = f32x16::ZERO;
                        for (d, &b) in bj.iter().enumerate() {
                            phase = f32x16::splat(b).mul_add(x[d][v], phase);
                        }
                        let (s, c) = phase.sin_cos();
                        s_row[v] = s;
                        c_row[v] = c;
                    }
                }
            }
            Encoding::Positional {
                octaves,
                include_input,
            } => {
                let mut row = 0;
                if *include_input {
                    enc[..in_dim].copy_from_slice(&x[..in_dim]);
                    row = in_dim;
                }
                for k in 0..*octaves {
                    let f = Self::octave_frequency(k);
                    for d in 0..in_dim {
                        for v in 0..nv {
                            let (s, c) = (x[d][v] * f).sin_cos();
                            enc[row + d][v] = s;
                            enc[row + in_dim + d][v] = c;
                        }
                    }
                    row += 2 * in_dim;
                }
            }
            Encoding::HashGrid(g) => g.encode_tile(nv, x, enc),
        }
    }

    /// `enc = gamma(x)` for one point, features in lanes, with the same
    /// per-feature operations as [`encode_tile`](Self::encode_tile) (so the
    /// same bits).
    pub fn encode_point(&self, in_dim: usize, x: &[f32], enc: &mut [f32]) {
        match self {
            Encoding::Identity => enc[..in_dim].copy_from_slice(&x[..in_dim]),
            Encoding::Fourier { two_pi_b_t, m, .. } => {
                let chunks = m.div_ceil(16);
                for c in 0..chunks {
                    let mut phase = f32x16::ZERO;
                    for d in 0..in_dim {
                        phase = two_pi_b_t[d * chunks + c].mul_add(f32x16::splat(x[d]), phase);
                    }
                    let (sv, cv) = phase.sin_cos();
                    let (sv, cv) = (sv.to_array(), cv.to_array());
                    let n = 16.min(m - 16 * c);
                    enc[16 * c..16 * c + n].copy_from_slice(&sv[..n]);
                    enc[m + 16 * c..m + 16 * c + n].copy_from_slice(&cv[..n]);
                }
            }
            Encoding::Positional {
                octaves,
                include_input,
            } => {
                let base = if *include_input {
                    enc[..in_dim].copy_from_slice(&x[..in_dim]);
                    in_dim
                } else {
                    0
                };
                // Phases (k, d) in order, 16 at a time.
                let total = octaves * in_dim;
                let mut start = 0;
                while start < total {
                    let n = 16.min(total - start);
                    let lanes: [f32; 16] = std::array::from_fn(|r| {
                        let q = start + r;
                        if r < n {
                            x[q % in_dim] * Self::octave_frequency(q / in_dim)
                        } else {
                            0.0
                        }
                    });
                    let (sv, cv) = f32x16::from(lanes).sin_cos();
                    let (sv, cv) = (sv.to_array(), cv.to_array());
                    for r in 0..n {
                        let (k, d) = ((start + r) / in_dim, (start + r) % in_dim);
                        let row = base + 2 * in_dim * k + d;
                        enc[row] = sv[r];
                        enc[row + in_dim] = cv[r];
                    }
                    start += n;
                }
            }
            Encoding::HashGrid(g) => g.encode_point(x, enc),
        }
    }

    /// Chain rule through the encoding: `gx[d] = sum_j g_enc[j] d gamma_j / d x_d`
    /// for one tile, using the sines and cosines already stored in `enc`
    /// (`d sin(a)/da = cos(a)`, `d cos(a)/da = -sin(a)`).
    pub fn backward_tile(
        &self,
        nv: usize,
        in_dim: usize,
        x: &[Row],
        enc: &[Row],
        g_enc: &[Row],
        gx: &mut [Row],
    ) {
        match self {
            Encoding::Identity => gx[..in_dim].copy_from_slice(&g_enc[..in_dim]),
            Encoding::Fourier { two_pi_b, m, .. } => {
                for row in gx[..in_dim].iter_mut() {
                    *row = [f32x16::ZERO; super::mlp::VECS];
                }
                for (j, bj) in two_pi_b.chunks_exact(in_dim).enumerate() {
                    for v in 0..nv {
                        // d/d(phase) of g_s sin + g_c cos.
                        let t = g_enc[j][v] * enc[m + j][v] - g_enc[m + j][v] * enc[j][v];
                        for (d, &b) in bj.iter().enumerate() {
                            gx[d][v] = f32x16::splat(b).mul_add(t, gx[d][v]);
                        }
                    }
                }
            }
            Encoding::Positional {
                octaves,
                include_input,
            } => {
                let mut row = 0;
                if *include_input {
                    gx[..in_dim].copy_from_slice(&g_enc[..in_dim]);
                    row = in_dim;
                } else {
                    for r in gx[..in_dim].iter_mut() {
                        *r = [f32x16::ZERO; super::mlp::VECS];
                    }
                }
                for k in 0..*octaves {
                    let f = f32x16::splat(Self::octave_frequency(k));
                    for d in 0..in_dim {
                        let (s, c) = (row + d, row + in_dim + d);
                        for v in 0..nv {
                            let t = g_enc[s][v] * enc[c][v] - g_enc[c][v] * enc[s][v];
                            gx[d][v] = f.mul_add(t, gx[d][v]);
                        }
                    }
                    row += 2 * in_dim;
                }
            }
            Encoding::HashGrid(g) => g.backward_tile(nv, x, g_enc, gx),
        }
    }
}
