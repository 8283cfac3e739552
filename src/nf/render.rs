//! Volume rendering of a radiance field along rays (NeRF: Mildenhall et al.
//! 2020, eq. 3): for a ray `r(t) = o + t d`, `t` in `[near, far]`, split into
//! `S` equal bins of width `D = (far - near) / S` with one sample `t_i` per bin
//! (bin midpoints, or stratified: uniform within the bin),
//!
//! `alpha_i = 1 - exp(-sigma_i D)`, `T_i = prod_{j<i} (1 - alpha_j)`,
//! `C = sum_i T_i alpha_i c_i`, `depth = sum_i T_i alpha_i t_i`,
//! `opacity = sum_i T_i alpha_i = 1 - T_S`.
//!
//! The bin width `D` (not NeRF's distance to the next sample) makes
//! `sum sigma_i D` a midpoint / stratified estimate of the optical depth
//! `int sigma dt`. The field maps a point to four raw values
//! `(sigma, c_r, c_g, c_b)`; density is `max(sigma, 0)` and colours are used
//! as they are or through a sigmoid (NeRF's heads). There is no background
//! term: composite one as `C + (1 - opacity) c_bg`. `d` need not be unit
//! length: `t` is in units of `|d|`.
//!
//! Rays are processed in batches of `rays_per_batch`: the batch's `R * S`
//! sample points go through one batched (parallel) field evaluation, then
//! each ray is composited in order; buffers are allocated at create, so a
//! call allocates nothing, and results do not depend on the thread count.
//! Stratified jitter draws from Philox keyed by `(seed,
//! Stream::NeuralRenderJitter.with_sub(stream))` with counter
//! `(counter_offset + ray) S + i`, so any split of the rays is reproducible.

use super::model::Model;
use crate::error::{Error, ErrorKind, Result};
use crate::rng::philox::Philox;
use crate::rng::stream::Stream;
use crate::rng::uniform::u01_f32;

/// A field giving `(sigma, r, g, b)` per point.
pub trait RadianceField {
    /// `points` is `[m][3]`, `out` `[m][4]`.
    fn radiance(&mut self, points: &[f32], out: &mut [f32]) -> Result<()>;
}

impl RadianceField for Model {
    fn radiance(&mut self, points: &[f32], out: &mut [f32]) -> Result<()> {
        if self.in_dim() != 3 || self.out_dim() != 4 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "a radiance field maps R^3 -> (sigma, r, g, b); this model maps R^{} -> R^{}",
                    self.in_dim(),
                    self.out_dim()
                ),
            ));
        }
        self.forward(points, out)
    }
}

/// Rendering settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderParams {
    /// Samples per ray `S` (>= 1).
    pub samples: usize,
    /// Rays per batched field evaluation (memory: `R * S * 8` floats: points,
    /// field values and sample positions).
    pub rays_per_batch: usize,
    /// `Some((seed, stream))`: stratified jitter; `None`: bin midpoints.
    pub jitter: Option<(u64, u64)>,
    /// Colours through a sigmoid (NeRF) instead of as given.
    pub colour_sigmoid: bool,
}

/// Preallocated buffers for rendering.
#[derive(Debug)]
pub struct Renderer {
    params: RenderParams,
    points: Vec<f32>,
    raw: Vec<f32>,
    t: Vec<f32>,
}

/// Largest sample count per ray.
pub const MAX_SAMPLES: usize = 1 << 16;

impl Renderer {
    pub fn new(params: RenderParams) -> Result<Renderer> {
        if params.samples == 0 || params.samples > MAX_SAMPLES {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("samples = {} must be in 1..={MAX_SAMPLES}", params.samples),
            ));
        }
        if params.rays_per_batch == 0
            || params.rays_per_batch.saturating_mul(params.samples) > 1 << 24
        {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "rays_per_batch = {} must be >= 1 with rays_per_batch * samples <= 2^24",
                    params.rays_per_batch
                ),
            ));
        }
        let m = params.rays_per_batch * params.samples;
        Ok(Renderer {
            params,
            points: vec![0.0; 3 * m],
            raw: vec![0.0; 4 * m],
            t: vec![0.0; m],
        })
    }

    pub fn params(&self) -> RenderParams {
        self.params
    }

    /// Renders `rays` (`[n][8]`: origin xyz, direction xyz, near, far) into
    /// `rgb` `[n][3]`, `depth` `[n]`, `opacity` `[n]`. `counter_offset` is
    /// the global index of the first ray (for jitter). Rays with
    /// `far <= near` or non-finite entries are rejected before anything is
    /// written.
    pub fn render<F: RadianceField + ?Sized>(
        &mut self,
        field: &mut F,
        rays: &[f32],
        counter_offset: u64,
        rgb: &mut [f32],
        depth: &mut [f32],
        opacity: &mut [f32],
    ) -> Result<()> {
        if !rays.len().is_multiple_of(8) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("rays length {} is not a multiple of 8", rays.len()),
            ));
        }
        let n = rays.len() / 8;
        if rgb.len() != 3 * n || depth.len() != n || opacity.len() != n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "outputs must hold 3n, n, n = {}, {n}, {n} values (got {}, {}, {})",
                    3 * n,
                    rgb.len(),
                    depth.len(),
                    opacity.len()
                ),
            ));
        }
        for (r, ray) in rays.chunks_exact(8).enumerate() {
            if let Some(k) = ray.iter().position(|v| !v.is_finite()) {
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("ray {r}: entry {k} = {} is not finite", ray[k]),
                ));
            }
            if ray[7] <= ray[6] {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("ray {r}: far = {} must exceed near = {}", ray[7], ray[6]),
                ));
            }
        }
        let s = self.params.samples;
        let rng = self
            .params
            .jitter
            .map(|(seed, stream)| Philox::new(seed, Stream::NeuralRenderJitter.with_sub(stream)));
        for (b, batch) in rays.chunks(8 * self.params.rays_per_batch).enumerate() {
            let first_ray = b * self.params.rays_per_batch;
            let m = batch.len() / 8 * s;
            for (r, ray) in batch.chunks_exact(8).enumerate() {
                let (near, far) = (ray[6], ray[7]);
                let width = (far - near) / s as f32;
                let global = counter_offset
                    .wrapping_add((first_ray + r) as u64)
                    .wrapping_mul(s as u64);
                for i in 0..s {
                    let u = match &rng {
                        None => 0.5,
                        Some(p) => {
                            let e = global.wrapping_add(i as u64);
                            u01_f32(p.block(e / 4)[(e % 4) as usize])
                        }
                    };
                    let t = near + (i as f32 + u) * width;
                    let k = r * s + i;
                    self.t[k] = t;
                    for c in 0..3 {
                        self.points[3 * k + c] = ray[c] + t * ray[3 + c];
                    }
                }
            }
            field.radiance(&self.points[..3 * m], &mut self.raw[..4 * m])?;
            for (r, ray) in batch.chunks_exact(8).enumerate() {
                let ray_index = first_ray + r;
                let width = (ray[7] - ray[6]) / s as f32;
                let (mut trans, mut acc_c, mut acc_d, mut acc_o) =
                    (1.0f32, [0.0f32; 3], 0.0f32, 0.0f32);
                for i in 0..s {
                    let k = r * s + i;
                    let q = &self.raw[4 * k..4 * k + 4];
                    let sigma = if q[0] > 0.0 { q[0] } else { 0.0 };
                    let alpha = -(-sigma * width).exp_m1();
                    let w = trans * alpha;
                    for c in 0..3 {
                        let col = if self.params.colour_sigmoid {
                            1.0 / (1.0 + (-q[1 + c]).exp())
                        } else {
                            q[1 + c]
                        };
                        acc_c[c] += w * col;
                    }
                    acc_d += w * self.t[k];
                    acc_o += w;
                    trans *= 1.0 - alpha;
                }
                rgb[3 * ray_index..3 * ray_index + 3].copy_from_slice(&acc_c);
                depth[ray_index] = acc_d;
                opacity[ray_index] = acc_o;
            }
        }
        Ok(())
    }
}
