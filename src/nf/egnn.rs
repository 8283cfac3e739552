//! E(n)-equivariant graph layer (EGNN: Satorras, Hoogeboom & Welling 2021,
//! eqs. 3-6), forward only, over all pairs within a cutoff radius:
//!
//! `m_ij = phi_e(h_i, h_j, |x_i - x_j|^2)`,
//! `x_i' = x_i + C sum_{j != i} (x_i - x_j) phi_x(m_ij)`,
//! `h_i' = phi_h(h_i, sum_{j != i} m_ij)` (plus `h_i` with `residual`).
//!
//! The three MLPs are neural-field [`Model`]s with the identity encoding,
//! evaluated batched over all edges (`phi_e`, `phi_x`) and all nodes
//! (`phi_h`), so they are parallel and allocation-free. Edges are listed in
//! `(i, j)` order and messages summed in that order: results do not depend
//! on the thread count. Rotations, reflections and translations of the input
//! coordinates rotate/translate `x'` and leave `h'` unchanged (up to
//! rounding), because `phi` only sees `h` and squared distances.
//! Coordinates are in the caller's length unit; the cutoff in the same unit.

use super::encode::Encoding;
use super::model::{LayerSpec, Model, ModelSpec};
use crate::error::{Error, ErrorKind, Result};

/// Description of an EGNN layer.
#[derive(Clone, Debug)]
pub struct EgnnSpec<'a> {
    /// Node feature width `F`.
    pub features: usize,
    /// Message width `M` (output of `phi_e`).
    pub message_dim: usize,
    /// Dense layers of `phi_e`: input `2F + 1`, output `M`.
    pub phi_e: Vec<LayerSpec<'a>>,
    /// Dense layers of `phi_x`: input `M`, output 1.
    pub phi_x: Vec<LayerSpec<'a>>,
    /// Dense layers of `phi_h`: input `F + M`, output `F`.
    pub phi_h: Vec<LayerSpec<'a>>,
    /// Pairs farther apart than this do not interact (`f32::INFINITY`: all pairs).
    pub cutoff: f32,
    /// `C` in the coordinate update (the paper uses `1 / (n - 1)`).
    pub coord_scale: f32,
    /// `h' = h + phi_h(..)` instead of `phi_h(..)`.
    pub residual: bool,
    /// Largest node count a call may pass (buffers are sized for all pairs).
    pub max_nodes: usize,
}

/// An EGNN layer with its buffers.
#[derive(Debug)]
pub struct Egnn {
    features: usize,
    message_dim: usize,
    phi_e: Model,
    phi_x: Model,
    phi_h: Model,
    cutoff2: f32,
    coord_scale: f32,
    residual: bool,
    max_nodes: usize,
    edges: Vec<(u32, u32)>,
    edge_in: Vec<f32>,
    messages: Vec<f32>,
    weights: Vec<f32>,
    node_in: Vec<f32>,
}

fn mlp(layers: &[LayerSpec<'_>], in_dim: usize, out_dim: usize, name: &str) -> Result<Model> {
    let model = Model::new(&ModelSpec {
        in_dim,
        encoding: Encoding::Identity,
        skip_layer: None,
        layers: layers.to_vec(),
        task_slots: 0,
        ..ModelSpec::conditioning_none()
    })
    .map_err(|e| Error::new(e.kind, format!("{name}: {}", e.message)))?;
    if model.out_dim() != out_dim {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("{name}: output width {} must be {out_dim}", model.out_dim()),
        ));
    }
    Ok(model)
}

impl Egnn {
    pub fn new(spec: &EgnnSpec<'_>) -> Result<Egnn> {
        let (f, m) = (spec.features, spec.message_dim);
        if f == 0 || m == 0 || spec.max_nodes < 2 || spec.max_nodes > 1 << 14 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "features = {f}, message_dim = {m} must be >= 1 and max_nodes = {} in 2..=16384",
                    spec.max_nodes
                ),
            ));
        }
        if spec.cutoff.is_nan() || spec.cutoff <= 0.0 || !spec.coord_scale.is_finite() {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "cutoff = {} must be > 0 and coord_scale = {} finite",
                    spec.cutoff, spec.coord_scale
                ),
            ));
        }
        let max_edges = spec.max_nodes * (spec.max_nodes - 1);
        Ok(Egnn {
            features: f,
            message_dim: m,
            phi_e: mlp(&spec.phi_e, 2 * f + 1, m, "phi_e")?,
            phi_x: mlp(&spec.phi_x, m, 1, "phi_x")?,
            phi_h: mlp(&spec.phi_h, f + m, f, "phi_h")?,
            cutoff2: spec.cutoff * spec.cutoff,
            coord_scale: spec.coord_scale,
            residual: spec.residual,
            max_nodes: spec.max_nodes,
            edges: Vec::with_capacity(max_edges),
            edge_in: vec![0.0; max_edges * (2 * f + 1)],
            messages: vec![0.0; max_edges * m],
            weights: vec![0.0; max_edges],
            node_in: vec![0.0; spec.max_nodes * (f + m)],
        })
    }

    /// Node feature width `F`.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Largest node count per call.
    pub fn max_nodes(&self) -> usize {
        self.max_nodes
    }

    /// Interaction cutoff (`f32::INFINITY`: all pairs).
    pub fn cutoff(&self) -> f32 {
        self.cutoff2.sqrt()
    }

    /// The coordinate update alone, in `f64`, for `n` nodes whose pair
    /// separations `x_i - x_j` are given by `sep(i, j)` (e.g. minimum-image
    /// separations of particles in a periodic box):
    ///
    /// `delta_i = C sum_{j != i, |sep(i,j)| <= cutoff} sep(i, j) phi_x(m_ij)`,
    /// `m_ij = phi_e(h_i, h_j, |sep(i, j)|^2)`.
    ///
    /// This is `x_i' - x_i` of [`Self::forward`] without the `f32` rounding
    /// of positions and of the sum (separations, squared distances and the
    /// sum are `f64`; the MLPs see `f32` inputs and compute in `f32`); `phi_h`
    /// is not evaluated. Edges are visited in `(i, j)` order and summed in
    /// that order, so results do not depend on the thread count. Cost: `n(n -
    /// 1)` separations and distance tests, plus one `phi_e` and `phi_x`
    /// evaluation per edge within the cutoff. Allocates nothing. `sep` must
    /// be antisymmetric and finite, `h` `[n][F]` finite (not checked here).
    /// Errors: `InvalidSize` (`h`, `delta` lengths), `Capacity` (`n >
    /// max_nodes`).
    pub fn coordinate_update(
        &mut self,
        n: usize,
        sep: impl Fn(usize, usize) -> [f64; 3],
        h: &[f32],
        delta: &mut [[f64; 3]],
    ) -> Result<()> {
        let (f, m) = (self.features, self.message_dim);
        if h.len() != n * f || delta.len() != n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("h must be [n][{f}] and delta [n][3] (n = {n})"),
            ));
        }
        if n > self.max_nodes {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!("n = {n} nodes exceeds max_nodes = {}", self.max_nodes),
            ));
        }
        self.edges.clear();
        let w = 2 * f + 1;
        let cutoff2 = f64::from(self.cutoff2);
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let d = sep(i, j);
                let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if d2 <= cutoff2 {
                    let e = self.edges.len();
                    let row = &mut self.edge_in[e * w..(e + 1) * w];
                    row[..f].copy_from_slice(&h[i * f..(i + 1) * f]);
                    row[f..2 * f].copy_from_slice(&h[j * f..(j + 1) * f]);
                    row[2 * f] = d2 as f32;
                    self.edges.push((i as u32, j as u32));
                }
            }
        }
        let ne = self.edges.len();
        self.phi_e
            .forward(&self.edge_in[..ne * w], &mut self.messages[..ne * m])?;
        self.phi_x
            .forward(&self.messages[..ne * m], &mut self.weights[..ne])?;
        delta.fill([0.0; 3]);
        let c = f64::from(self.coord_scale);
        for (e, &(i, j)) in self.edges.iter().enumerate() {
            let (i, j) = (i as usize, j as usize);
            let d = sep(i, j);
            let wx = c * f64::from(self.weights[e]);
            for a in 0..3 {
                delta[i][a] += d[a] * wx;
            }
        }
        Ok(())
    }

    /// One layer: `x` `[n][3]`, `h` `[n][F]` to `x_out` `[n][3]`, `h_out`
    /// `[n][F]`. Allocates nothing (`n <= max_nodes`).
    pub fn forward(
        &mut self,
        x: &[f32],
        h: &[f32],
        x_out: &mut [f32],
        h_out: &mut [f32],
    ) -> Result<()> {
        let (f, m) = (self.features, self.message_dim);
        let n = x.len() / 3;
        if !x.len().is_multiple_of(3)
            || h.len() != n * f
            || x_out.len() != x.len()
            || h_out.len() != h.len()
        {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("x, x_out must be [n][3] and h, h_out [n][{f}] (n = {n})"),
            ));
        }
        if n > self.max_nodes {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!("n = {n} nodes exceeds max_nodes = {}", self.max_nodes),
            ));
        }
        if let Some(i) = x.iter().chain(h).position(|v| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("input entry {i} is not finite"),
            ));
        }
        // Edges (i, j), i != j, within the cutoff, in index order.
        self.edges.clear();
        let w = 2 * f + 1;
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let d2: f32 = (0..3).map(|c| (x[3 * i + c] - x[3 * j + c]).powi(2)).sum();
                if d2 <= self.cutoff2 {
                    let e = self.edges.len();
                    let row = &mut self.edge_in[e * w..(e + 1) * w];
                    row[..f].copy_from_slice(&h[i * f..(i + 1) * f]);
                    row[f..2 * f].copy_from_slice(&h[j * f..(j + 1) * f]);
                    row[2 * f] = d2;
                    self.edges.push((i as u32, j as u32));
                }
            }
        }
        let ne = self.edges.len();
        self.phi_e
            .forward(&self.edge_in[..ne * w], &mut self.messages[..ne * m])?;
        self.phi_x
            .forward(&self.messages[..ne * m], &mut self.weights[..ne])?;
        // Aggregate in edge order (deterministic).
        x_out.copy_from_slice(x);
        let fm = f + m;
        for i in 0..n {
            let row = &mut self.node_in[i * fm..(i + 1) * fm];
            row[..f].copy_from_slice(&h[i * f..(i + 1) * f]);
            row[f..].fill(0.0);
        }
        for (e, &(i, j)) in self.edges.iter().enumerate() {
            let (i, j) = (i as usize, j as usize);
            let wx = self.coord_scale * self.weights[e];
            for c in 0..3 {
                x_out[3 * i + c] += (x[3 * i + c] - x[3 * j + c]) * wx;
            }
            let row = &mut self.node_in[i * fm + f..(i + 1) * fm];
            for (a, b) in row.iter_mut().zip(&self.messages[e * m..(e + 1) * m]) {
                *a += b;
            }
        }
        self.phi_h.forward(&self.node_in[..n * fm], h_out)?;
        if self.residual {
            for (o, v) in h_out.iter_mut().zip(h) {
                *o += v;
            }
        }
        Ok(())
    }
}
