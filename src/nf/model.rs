//! A neural field: an input encoding followed by a stack of dense layers,
//! evaluated batched (`[n][in_dim] -> [n][out_dim]`, row-major) in f32.
//!
//! `create` validates the description, packs the weights into register-block
//! panels and allocates one workspace per *task slot*; `forward`, `gradient`
//! and `jacobian` then only compute. The batch is cut into tiles of
//! [`TILE`] points and the tiles into at most `task_slots` contiguous task
//! ranges (boundaries from `n` and `task_slots` only, never the thread count);
//! task `t` uses workspace `t`, so the number of workspaces is fixed at create
//! and no call allocates. Each point's result depends only on that point, so
//! outputs are bitwise identical for any thread count and any batch split.
//!
//! Skip connection (NeRF, Mildenhall et al. 2020): with `skip_layer = k`, the
//! input of layer `k` is the concatenation `[gamma(x), h_{k-1}]` (encoded
//! input first), so layer `k`'s weight has `enc_dim + out_{k-1}` columns.

use std::sync::Mutex;

use super::activation::Activation;
use super::encode::Encoding;
use super::mlp::{DenseLayer, Row, TILE, ZERO_ROW};
use crate::error::{Error, ErrorKind, Result};
use crate::simd::f32x16;

/// Tiles of at most this many points are evaluated point by point with the
/// outputs of each layer in lanes (forward passes without FiLM): a single
/// point then costs one lane-vector per 16 outputs instead of a 16-point
/// vector per output (~1 us instead of ~7 us for the benchmark field; the
/// 16-lane path wins from about 7 points). Same operations per value, so
/// the same bits.
pub const POINT_PATH_MAX: usize = 6;

/// Default number of task slots (workspaces).
pub const DEFAULT_TASK_SLOTS: usize = 16;
/// Largest number of task slots.
pub const MAX_TASK_SLOTS: usize = 64;
/// Largest width of any layer or encoding (keeps workspaces bounded).
pub const MAX_WIDTH: usize = 4096;
/// Largest number of dense layers.
pub const MAX_LAYERS: usize = 64;

/// One dense layer of a model description; the weights are borrowed.
#[derive(Clone, Copy, Debug)]
pub struct LayerSpec<'a> {
    pub out_dim: usize,
    pub activation: Activation,
    /// `[out_dim][in_dim]` row-major (PyTorch `nn.Linear.weight`).
    pub weight: &'a [f32],
    /// `[out_dim]`, or `None` for no bias.
    pub bias: Option<&'a [f32]>,
}

/// A model description.
#[derive(Clone, Debug)]
pub struct ModelSpec<'a> {
    pub in_dim: usize,
    pub encoding: Encoding,
    /// `Some(k)`, `1 <= k < layers.len()`: concatenate `gamma(x)` to the input
    /// of layer `k`.
    pub skip_layer: Option<usize>,
    pub layers: Vec<LayerSpec<'a>>,
    /// Number of workspaces = most tasks a call is split into (0: default).
    pub task_slots: usize,
    /// Latent code width `K`: each input point is `[x (in_dim), z (K)]`; the
    /// encoding sees `x` only.
    pub latent_dim: usize,
    /// Conditioning by concatenation: the encoded input becomes
    /// `[gamma(x), z]` (for layer 0 and the skip layer).
    pub latent_concat: bool,
    /// Conditioning by FiLM (Perez et al. 2018): `z_l' = g (W h + b) + beta`
    /// before layer `l`'s activation, with `[g; beta] = F z + f` per point.
    pub film: Vec<FilmSpec<'a>>,
}

/// FiLM conditioning of one layer: `[gamma; beta] = weight z + bias`,
/// `weight` `[2 out_l][K]` row-major (gamma rows first), `bias` `[2 out_l]`.
#[derive(Clone, Copy, Debug)]
pub struct FilmSpec<'a> {
    pub layer: usize,
    pub weight: &'a [f32],
    pub bias: Option<&'a [f32]>,
}

impl ModelSpec<'_> {
    /// The conditioning fields of an unconditioned model, for struct update
    /// syntax: `ModelSpec { in_dim, .., ..ModelSpec::conditioning_none() }`.
    pub fn conditioning_none() -> ModelSpec<'static> {
        ModelSpec {
            in_dim: 0,
            encoding: Encoding::Identity,
            skip_layer: None,
            layers: Vec::new(),
            task_slots: 0,
            latent_dim: 0,
            latent_concat: false,
            film: Vec::new(),
        }
    }
}

/// Input width of every dense layer: `enc_dim` for layer 0, `out_{l-1}` for
/// layer `l`, plus `enc_dim` for the skip layer.
pub fn layer_input_dims(
    enc_dim: usize,
    skip_layer: Option<usize>,
    out_dims: &[usize],
) -> Vec<usize> {
    let mut prev = enc_dim;
    out_dims
        .iter()
        .enumerate()
        .map(|(l, &o)| {
            let d = prev + if skip_layer == Some(l) { enc_dim } else { 0 };
            prev = o;
            d
        })
        .collect()
}

/// Element types of the caller's arrays (f32, or f64 converted per tile).
pub trait Scalar: Copy + Send + Sync + 'static {
    fn to_f32(self) -> f32;
    fn from_f32(v: f32) -> Self;
}

impl Scalar for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
}

impl Scalar for f64 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        f64::from(v)
    }
}

/// Row offsets of one workspace's regions.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Activation rows: `x`, then each layer's input, then the output.
    pub x: usize,
    pub layer_in: Vec<usize>,
    pub layer_out: Vec<usize>,
    pub act_rows: usize,
    /// Derivative rows `a'(z_l)`, one block per layer.
    pub deriv: Vec<usize>,
    pub deriv_rows: usize,
    /// FiLM rows per layer (`[gamma; beta]`, 2 out_l) and pre-FiLM `z` rows
    /// (out_l), in `Workspace::film` (offsets valid for FiLM layers only).
    pub film: Vec<usize>,
    pub film_rows: usize,
    /// Backward rows: two ping-pong buffers of `width`, `g_enc`, `gx`, then
    /// FiLM scratch: `g_film` (2 width) and two latent buffers.
    pub width: usize,
    pub g_enc: usize,
    pub gx: usize,
    pub grad_rows: usize,
}

/// One task slot's scratch memory.
#[derive(Clone, Debug)]
pub(crate) struct Workspace {
    pub act: Vec<Row>,
    /// One point's activations (one f32 per activation row), for batches
    /// of at most [`POINT_PATH_MAX`] points per tile.
    pub point: Vec<f32>,
    pub film: Vec<Row>,
    pub deriv: Vec<Row>,
    pub grad: Vec<Row>,
}

/// Everything but the workspaces: immutable during a call.
#[derive(Clone, Debug)]
pub(crate) struct Network {
    /// Input width per point: coordinates plus latent code.
    pub in_dim: usize,
    pub coord_dim: usize,
    pub latent_dim: usize,
    pub latent_concat: bool,
    /// Width of `gamma(x)` alone (`enc_dim` adds the concatenated latent).
    pub gamma_dim: usize,
    /// FiLM layer (`[out_l] -> [2 out_l]` from the latent) per dense layer.
    pub film: Vec<Option<DenseLayer>>,
    pub enc_dim: usize,
    pub out_dim: usize,
    pub encoding: Encoding,
    pub skip_layer: Option<usize>,
    pub layers: Vec<DenseLayer>,
    pub plan: Plan,
}

/// A neural field ready to evaluate.
#[derive(Debug)]
pub struct Model {
    pub(crate) net: Network,
    workspaces: Vec<Workspace>,
}

/// What one call computes per point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Forward,
    /// Values plus `d out_o / d x_d` for every `o`, `d` (`[n][out][in]`).
    Jacobian,
}

struct Job<'a, T> {
    ws: &'a mut Workspace,
    input: &'a [T],
    values: &'a mut [T],
    extra: &'a mut [T],
}

impl Model {
    /// Validates `spec`, packs the weights and allocates the workspaces.
    pub fn new(spec: &ModelSpec<'_>) -> Result<Model> {
        let coord_dim = spec.in_dim;
        let latent_dim = spec.latent_dim;
        if coord_dim == 0 || coord_dim > MAX_WIDTH || latent_dim > MAX_WIDTH {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "in_dim = {coord_dim} must be in 1..={MAX_WIDTH}, latent_dim = {latent_dim} \
                     at most {MAX_WIDTH}"
                ),
            ));
        }
        if latent_dim == 0 && (spec.latent_concat || !spec.film.is_empty()) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                "latent conditioning (concatenation or FiLM) needs latent_dim >= 1",
            ));
        }
        let in_dim = coord_dim + latent_dim;
        let n_layers = spec.layers.len();
        if n_layers == 0 || n_layers > MAX_LAYERS {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("n_layers = {n_layers} must be in 1..={MAX_LAYERS}"),
            ));
        }
        if let Some(k) = spec.skip_layer {
            if k == 0 || k >= n_layers {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("skip_layer = {k} must be in 1..n_layers = {n_layers} (0 = none)"),
                ));
            }
        }
        let task_slots = if spec.task_slots == 0 {
            DEFAULT_TASK_SLOTS
        } else {
            spec.task_slots
        };
        if task_slots > MAX_TASK_SLOTS {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("task_slots = {task_slots} must be in 0..={MAX_TASK_SLOTS}"),
            ));
        }
        if let Encoding::HashGrid(g) = &spec.encoding {
            if g.dims != coord_dim {
                return Err(Error::new(
                    ErrorKind::InvalidSize,
                    format!(
                        "hash grid is {}-dimensional but in_dim = {coord_dim}",
                        g.dims
                    ),
                ));
            }
        }
        let gamma_dim = spec.encoding.output_dim(coord_dim);
        let enc_dim = gamma_dim + if spec.latent_concat { latent_dim } else { 0 };
        if enc_dim > MAX_WIDTH {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("encoding width {enc_dim} exceeds {MAX_WIDTH}"),
            ));
        }
        let mut layers = Vec::with_capacity(n_layers);
        let mut prev = enc_dim;
        for (l, ls) in spec.layers.iter().enumerate() {
            if ls.out_dim == 0 || ls.out_dim > MAX_WIDTH {
                return Err(Error::new(
                    ErrorKind::InvalidSize,
                    format!(
                        "layer {l}: out_dim = {} must be in 1..={MAX_WIDTH}",
                        ls.out_dim
                    ),
                ));
            }
            let layer_in = prev
                + if spec.skip_layer == Some(l) {
                    enc_dim
                } else {
                    0
                };
            let layer = DenseLayer::new(layer_in, ls.out_dim, ls.activation, ls.weight, ls.bias)
                .map_err(|e| Error::new(e.kind, format!("layer {l}: {}", e.message)))?;
            layers.push(layer);
            prev = ls.out_dim;
        }
        let out_dim = prev;
        let mut film: Vec<Option<DenseLayer>> = vec![None; n_layers];
        for (k, fs) in spec.film.iter().enumerate() {
            let l = fs.layer;
            if l >= n_layers || film[l].is_some() {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("film[{k}].layer = {l} must be a layer index (< {n_layers}), each at most once"),
                ));
            }
            let fl = DenseLayer::new(
                latent_dim,
                2 * layers[l].out_dim,
                Activation::Identity,
                fs.weight,
                fs.bias,
            )
            .map_err(|e| Error::new(e.kind, format!("film[{k}] (layer {l}): {}", e.message)))?;
            film[l] = Some(fl);
        }

        // Workspace layout (rows).
        let x = 0;
        let mut cursor = in_dim;
        let mut layer_in = Vec::with_capacity(n_layers);
        let mut layer_out = Vec::with_capacity(n_layers);
        for layer in &layers {
            layer_in.push(cursor);
            cursor += layer.in_dim;
        }
        for l in 0..n_layers {
            if l + 1 < n_layers {
                let skip = if spec.skip_layer == Some(l + 1) {
                    enc_dim
                } else {
                    0
                };
                layer_out.push(layer_in[l + 1] + skip);
            } else {
                layer_out.push(cursor);
                cursor += out_dim;
            }
        }
        let act_rows = cursor;
        let mut deriv = Vec::with_capacity(n_layers);
        let mut deriv_rows = 0;
        for layer in &layers {
            deriv.push(deriv_rows);
            deriv_rows += layer.out_dim;
        }
        let width = layers
            .iter()
            .map(|l| l.in_dim.max(l.out_dim))
            .max()
            .unwrap_or(1);
        let mut film_off = vec![0; n_layers];
        let mut film_rows = 0;
        for l in 0..n_layers {
            if film[l].is_some() {
                film_off[l] = film_rows;
                film_rows += 3 * layers[l].out_dim;
            }
        }
        let g_enc = 2 * width;
        let gx = g_enc + enc_dim;
        let g_film = gx + in_dim;
        let g_latent = g_film + 2 * width;
        let g_latent_tmp = g_latent + latent_dim;
        let grad_rows = g_latent_tmp + latent_dim;
        let plan = Plan {
            x,
            layer_in,
            layer_out,
            act_rows,
            deriv,
            deriv_rows,
            film: film_off,
            film_rows,
            width,
            g_enc,
            gx,
            grad_rows,
        };
        let workspaces = (0..task_slots)
            .map(|_| Workspace {
                act: vec![ZERO_ROW; plan.act_rows],
                point: vec![0.0; plan.act_rows],
                film: vec![ZERO_ROW; plan.film_rows],
                deriv: vec![ZERO_ROW; plan.deriv_rows],
                grad: vec![ZERO_ROW; plan.grad_rows],
            })
            .collect();
        Ok(Model {
            net: Network {
                in_dim,
                coord_dim,
                latent_dim,
                latent_concat: spec.latent_concat,
                gamma_dim,
                film,
                enc_dim,
                out_dim,
                encoding: spec.encoding.clone(),
                skip_layer: spec.skip_layer,
                layers,
                plan,
            },
            workspaces,
        })
    }

    pub fn in_dim(&self) -> usize {
        self.net.in_dim
    }
    pub fn out_dim(&self) -> usize {
        self.net.out_dim
    }
    /// Width of the encoded input `gamma(x)`.
    pub fn encoded_dim(&self) -> usize {
        self.net.enc_dim
    }
    pub fn n_layers(&self) -> usize {
        self.net.layers.len()
    }
    /// The skip layer, if any.
    pub fn skip_layer(&self) -> Option<usize> {
        self.net.skip_layer
    }
    pub fn task_slots(&self) -> usize {
        self.workspaces.len()
    }
    /// Multiply-adds per point of the dense layers (for throughput figures).
    pub fn dense_macs_per_point(&self) -> usize {
        self.net.layers.iter().map(|l| l.in_dim * l.out_dim).sum()
    }

    /// Re-reads the dense weights (same shapes as at create), e.g. after the
    /// caller updated them in place. Validates everything before changing
    /// anything; allocates nothing.
    pub fn set_weights(&mut self, layers: &[LayerSpec<'_>]) -> Result<()> {
        if layers.len() != self.net.layers.len() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "{} layers given, the model has {}",
                    layers.len(),
                    self.net.layers.len()
                ),
            ));
        }
        for (l, (spec, layer)) in layers.iter().zip(&self.net.layers).enumerate() {
            let ok_shape = spec.out_dim == layer.out_dim
                && spec.weight.len() == layer.in_dim * layer.out_dim
                && spec.bias.is_none_or(|b| b.len() == layer.out_dim);
            if !ok_shape {
                return Err(Error::new(
                    ErrorKind::InvalidSize,
                    format!("layer {l}: shape differs from the model's"),
                ));
            }
            let bad = spec
                .weight
                .iter()
                .chain(spec.bias.into_iter().flatten())
                .any(|v| !v.is_finite());
            if bad {
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("layer {l}: a weight or bias is not finite"),
                ));
            }
        }
        for (spec, layer) in layers.iter().zip(self.net.layers.iter_mut()) {
            layer.repack(spec.weight, spec.bias)?;
        }
        Ok(())
    }

    fn check_sizes<T>(
        &self,
        input: &[T],
        values: &[T],
        extra: &[T],
        extra_per_point: usize,
    ) -> Result<usize> {
        let (d, m) = (self.net.in_dim, self.net.out_dim);
        if !input.len().is_multiple_of(d) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "input length {} is not a multiple of in_dim = {d}",
                    input.len()
                ),
            ));
        }
        let n = input.len() / d;
        if values.len() != n * m {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("output length {} != n * out_dim = {n} * {m}", values.len()),
            ));
        }
        if extra.len() != n * extra_per_point {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "derivative output length {} != n * {extra_per_point} (n = {n})",
                    extra.len()
                ),
            ));
        }
        Ok(n)
    }

    /// `out[p] = f(input[p])` for every point; `input` is `[n][in_dim]`,
    /// `out` `[n][out_dim]`. NaN inputs give NaN outputs for that point only.
    pub fn forward<T: Scalar>(&mut self, input: &[T], out: &mut [T]) -> Result<()> {
        self.check_sizes(input, out, &[], 0)?;
        self.dispatch(Mode::Forward, input, out, &mut [], 0);
        Ok(())
    }

    /// Values and input gradient of a scalar field (`out_dim == 1`):
    /// `grad[p][d] = d f(x_p) / d x_d` (forces are `-grad` for a potential).
    pub fn gradient<T: Scalar>(
        &mut self,
        input: &[T],
        value: &mut [T],
        grad: &mut [T],
    ) -> Result<()> {
        if self.net.out_dim != 1 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "gradient needs a scalar field (out_dim = 1), this one has out_dim = {}; \
                     use the Jacobian",
                    self.net.out_dim
                ),
            ));
        }
        self.jacobian(input, value, grad)
    }

    /// Values and Jacobian: `jac[p][o][d] = d f_o(x_p) / d x_d`, `[n][out_dim][in_dim]`.
    pub fn jacobian<T: Scalar>(
        &mut self,
        input: &[T],
        value: &mut [T],
        jac: &mut [T],
    ) -> Result<()> {
        let per_point = self.net.out_dim * self.net.in_dim;
        self.check_sizes(input, value, jac, per_point)?;
        self.dispatch(Mode::Jacobian, input, value, jac, per_point);
        Ok(())
    }

    fn dispatch<T: Scalar>(
        &mut self,
        mode: Mode,
        input: &[T],
        values: &mut [T],
        extra: &mut [T],
        extra_per_point: usize,
    ) {
        let net = &self.net;
        let n = input.len() / net.in_dim;
        if n == 0 {
            return;
        }
        let tiles = n.div_ceil(TILE);
        let tiles_per_task = tiles.div_ceil(self.workspaces.len());
        let points_per_task = tiles_per_task * TILE;
        let n_tasks = n.div_ceil(points_per_task);
        let jobs: [Mutex<Option<Job<'_, T>>>; MAX_TASK_SLOTS] =
            std::array::from_fn(|_| Mutex::new(None));
        let mut extra_chunks = extra.chunks_mut((points_per_task * extra_per_point).max(1));
        for (((slot, ws), input), values) in jobs
            .iter()
            .zip(self.workspaces.iter_mut())
            .zip(input.chunks(points_per_task * net.in_dim))
            .zip(values.chunks_mut(points_per_task * net.out_dim))
        {
            let extra = if extra_per_point == 0 {
                <&mut [T]>::default()
            } else {
                extra_chunks.next().unwrap_or_default()
            };
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Job {
                ws,
                input,
                values,
                extra,
            });
        }
        crate::parallel::run(n_tasks, &|t| {
            let job = jobs[t].lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(job) = job {
                net.run_job(mode, job);
            }
        });
    }
}

impl Network {
    fn run_job<T: Scalar>(&self, mode: Mode, job: Job<'_, T>) {
        let Job {
            ws,
            input,
            values,
            extra,
        } = job;
        let n = input.len() / self.in_dim;
        let per_point = self.in_dim * self.out_dim;
        for start in (0..n).step_by(TILE) {
            let m = TILE.min(n - start);
            let tile_in = &input[start * self.in_dim..(start + m) * self.in_dim];
            let tile_out = &mut values[start * self.out_dim..(start + m) * self.out_dim];
            match mode {
                Mode::Forward if m <= POINT_PATH_MAX && self.film.iter().all(Option::is_none) => {
                    self.forward_points(ws, tile_in, tile_out)
                }
                Mode::Forward => self.forward_tile(ws, tile_in, tile_out, false),
                Mode::Jacobian => {
                    self.forward_tile(ws, tile_in, tile_out, true);
                    let tile_jac = &mut extra[start * per_point..(start + m) * per_point];
                    for o in 0..self.out_dim {
                        self.backward_tile(ws, m.div_ceil(16), o);
                        let gx = &ws.grad[self.plan.gx..self.plan.gx + self.in_dim];
                        for (d, row) in gx.iter().enumerate() {
                            scatter_row(row, m, |p, v| {
                                tile_jac[p * per_point + o * self.in_dim + d] = T::from_f32(v)
                            });
                        }
                    }
                }
            }
        }
    }

    /// Forward pass point by point (outputs in lanes); see [`POINT_PATH_MAX`].
    fn forward_points<T: Scalar>(&self, ws: &mut Workspace, input: &[T], out: &mut [T]) {
        let p = &self.plan;
        let (d_in, cd, gd, enc_dim) = (self.in_dim, self.coord_dim, self.gamma_dim, self.enc_dim);
        let s = &mut ws.point;
        for (xq, yq) in input
            .chunks_exact(d_in)
            .zip(out.chunks_exact_mut(self.out_dim))
        {
            for (slot, v) in s[p.x..p.x + d_in].iter_mut().zip(xq) {
                *slot = v.to_f32();
            }
            {
                let (lo, hi) = s.split_at_mut(p.layer_in[0]);
                self.encoding
                    .encode_point(cd, &lo[p.x..p.x + cd], &mut hi[..gd]);
                if self.latent_concat {
                    hi[gd..enc_dim].copy_from_slice(&lo[p.x + cd..p.x + d_in]);
                }
            }
            if let Some(k) = self.skip_layer {
                let (lo, hi) = s.split_at_mut(p.layer_in[k]);
                hi[..enc_dim].copy_from_slice(&lo[p.layer_in[0]..p.layer_in[0] + enc_dim]);
            }
            for (l, layer) in self.layers.iter().enumerate() {
                let (lo, hi) = s.split_at_mut(p.layer_out[l]);
                layer.forward_point(
                    &lo[p.layer_in[l]..p.layer_in[l] + layer.in_dim],
                    &mut hi[..layer.out_dim],
                );
            }
            let y = p.layer_out[self.layers.len() - 1];
            for (o, v) in yq.iter_mut().zip(&s[y..y + self.out_dim]) {
                *o = T::from_f32(*v);
            }
        }
    }

    /// Forward pass of one tile of `m = out.len() / out_dim <= TILE` points;
    /// lanes past `m` compute on zeros and are not written.
    pub(crate) fn forward_tile<T: Scalar>(
        &self,
        ws: &mut Workspace,
        input: &[T],
        out: &mut [T],
        derivs: bool,
    ) {
        let p = &self.plan;
        let (d_in, enc_dim) = (self.in_dim, self.enc_dim);
        let m = input.len() / d_in;
        let nv = m.div_ceil(16);
        for d in 0..d_in {
            ws.act[p.x + d] = gather_row(m, |q| input[q * d_in + d].to_f32());
        }
        {
            let (lo, hi) = ws.act.split_at_mut(p.layer_in[0]);
            let (cd, gd) = (self.coord_dim, self.gamma_dim);
            self.encoding
                .encode_tile(nv, cd, &lo[p.x..p.x + cd], &mut hi[..gd]);
            if self.latent_concat {
                hi[gd..enc_dim].copy_from_slice(&lo[p.x + cd..p.x + d_in]);
            }
        }
        if let Some(k) = self.skip_layer {
            let (lo, hi) = ws.act.split_at_mut(p.layer_in[k]);
            hi[..enc_dim].copy_from_slice(&lo[p.layer_in[0]..p.layer_in[0] + enc_dim]);
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let (lo, hi) = ws.act.split_at_mut(p.layer_out[l]);
            let input_rows = &lo[p.layer_in[l]..p.layer_in[l] + layer.in_dim];
            let out_rows = &mut hi[..layer.out_dim];
            if let Some(fl) = &self.film[l] {
                let o = layer.out_dim;
                let (film, zpre) = ws.film[p.film[l]..p.film[l] + 3 * o].split_at_mut(2 * o);
                let latent = &lo[p.x + self.coord_dim..p.x + d_in];
                fl.forward_tile(nv, latent, film);
                let deriv = if derivs {
                    Some(&mut ws.deriv[p.deriv[l]..p.deriv[l] + o])
                } else {
                    None
                };
                layer.forward_tile_film(nv, input_rows, film, out_rows, deriv, zpre);
            } else if derivs {
                let deriv = &mut ws.deriv[p.deriv[l]..p.deriv[l] + layer.out_dim];
                layer.forward_tile_with_derivative(nv, input_rows, out_rows, deriv);
            } else {
                layer.forward_tile(nv, input_rows, out_rows);
            }
        }
        let y = p.layer_out[self.layers.len() - 1];
        for (o, row) in ws.act[y..y + self.out_dim].iter().enumerate() {
            scatter_row(row, m, |q, v| out[q * self.out_dim + o] = T::from_f32(v));
        }
    }
}

/// A row from `m <= TILE` point values (zeros past `m`).
#[inline]
fn gather_row(m: usize, value: impl Fn(usize) -> f32) -> Row {
    let mut row = ZERO_ROW;
    for (v, lanes) in row.iter_mut().enumerate() {
        let mut a = [0.0f32; 16];
        for (l, slot) in a.iter_mut().enumerate() {
            let q = v * 16 + l;
            if q < m {
                *slot = value(q);
            }
        }
        *lanes = f32x16::from(a);
    }
    row
}

/// Hands the first `m` lanes of `row` to `store(point, value)`.
#[inline]
fn scatter_row(row: &Row, m: usize, mut store: impl FnMut(usize, f32)) {
    for (v, lanes) in row.iter().enumerate() {
        let a = lanes.to_array();
        for (l, &x) in a.iter().enumerate() {
            let q = v * 16 + l;
            if q < m {
                store(q, x);
            }
        }
    }
}
