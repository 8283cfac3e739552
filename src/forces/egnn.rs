//! EGNN force term: the coordinate update of an E(n)-equivariant graph layer
//! (EGNN, Satorras, Hoogeboom & Welling 2021, eq. 4) used as the force on
//! each particle, as in latent force-field discovery models where an EGNN
//! over the particles predicts their local interaction forces:
//!
//! `F_i = s C sum_{j != i, r_ij <= r_c} r_ij phi_x(m_ij)`,
//! `m_ij = phi_e(h_i, h_j, |r_ij|^2)`, `r_ij = r_i - r_j`,
//!
//! with `s` the term's scale, `C` the layer's `coord_scale`, `r_c` the
//! layer's cutoff (infinite: all pairs) and `r_ij` the minimum-image
//! separation in periodic boxes (so only the nearest image of each pair
//! interacts, even with an infinite cutoff). In 2D the particles lie in the
//! plane `z = 0`, so `F_z = 0`. Units: forces are in the caller's force unit
//! if the network was trained on them; `s` converts otherwise.
//!
//! Node features are per particle type: `h_i = table[type_i]` (a `[ntypes][F]`
//! table given when the term is added; no table means `h_i = 0` for every
//! particle). The term's energy is 0: the EGNN force is not conservative in
//! general. For identical features (one type) the pair force
//! `r_ij phi_x(phi_e(h, h, |r_ij|^2))` is central and antisymmetric, so the
//! total force vanishes and momentum is conserved; with several types it
//! need not be (`phi_e` is not symmetric in `(h_i, h_j)`).
//!
//! Cost per evaluation: `n(n - 1)` separations (all pairs, not the force
//! field's neighbour list) plus one `phi_e` and `phi_x` evaluation per pair
//! within the cutoff. Fine for the few hundred to few thousand particles an
//! EGNN layer's all-pairs buffers (`max_nodes`) are meant for.
//!
//! The layer's edge buffers were reserved when it was created (for
//! `max_nodes` nodes, which must be at least the force field's capacity);
//! the term reserves its feature and force buffers when it is added, so an
//! evaluation allocates nothing. Edges are visited and summed in `(i, j)`
//! order and the MLP batch split depends only on the edge count, so results
//! are bitwise identical for any thread count.

use super::external::BatchField;
use crate::error::{Error, ErrorKind, Result};
use crate::integrate::state::{Positions, SimBox};
use crate::nf::egnn::Egnn;

/// Where the term finds its EGNN layer for one evaluation.
pub trait EgnnSource: Send + Sync {
    /// Runs `f` with exclusive access to the layer; errors if it is not
    /// available (e.g. a destroyed or busy C handle).
    fn with_egnn(&mut self, f: &mut dyn FnMut(&mut Egnn) -> Result<()>) -> Result<()>;
}

impl EgnnSource for Egnn {
    fn with_egnn(&mut self, f: &mut dyn FnMut(&mut Egnn) -> Result<()>) -> Result<()> {
        f(self)
    }
}

/// The EGNN force term (see the module documentation).
pub struct EgnnForce<S: EgnnSource> {
    source: S,
    scale: f64,
    sbox: SimBox,
    features: usize,
    ntypes: usize,
    /// `[ntypes][F]`, or empty for zero features.
    table: Vec<f32>,
    h: Vec<f32>,
    /// Positions packed `[x, y, z]` (z = 0 in 2D).
    r: Vec<[f64; 3]>,
    delta: Vec<[f64; 3]>,
}

impl<S: EgnnSource> std::fmt::Debug for EgnnForce<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgnnForce")
            .field("scale", &self.scale)
            .field("features", &self.features)
            .field("ntypes", &self.ntypes)
            .finish()
    }
}

impl<S: EgnnSource> EgnnForce<S> {
    /// A term for up to `capacity` particles of `ntypes` types in `sbox`,
    /// with node features `type_features` (`[ntypes][F]`, or empty for all
    /// zeros). Reserves all evaluation buffers. Errors: `NonFinite` (scale
    /// or a feature), `InvalidSize` (table length), `Capacity` (the layer's
    /// `max_nodes` < `capacity`), and the source's error if the layer is not
    /// available.
    pub fn new(
        mut source: S,
        type_features: &[f32],
        scale: f64,
        sbox: SimBox,
        ntypes: usize,
        capacity: usize,
    ) -> Result<Self> {
        if !scale.is_finite() {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("scale = {scale} must be finite"),
            ));
        }
        let (mut features, mut max_nodes) = (0, 0);
        source.with_egnn(&mut |g| {
            features = g.features();
            max_nodes = g.max_nodes();
            Ok(())
        })?;
        if !type_features.is_empty() && type_features.len() != ntypes * features {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "type_features has {} entries; it must be [ntypes = {ntypes}][features = {features}] = {} (or empty)",
                    type_features.len(),
                    ntypes * features
                ),
            ));
        }
        if let Some(k) = type_features.iter().position(|v| !v.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("type_features[{k}] = {} is not finite", type_features[k]),
            ));
        }
        if max_nodes < capacity {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!(
                    "the EGNN layer's max_nodes = {max_nodes} is below the force field's capacity = {capacity}"
                ),
            ));
        }
        Ok(Self {
            source,
            scale,
            sbox,
            features,
            ntypes,
            table: type_features.to_vec(),
            h: vec![0.0; capacity * features],
            r: vec![[0.0; 3]; capacity],
            delta: vec![[0.0; 3]; capacity],
        })
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl<S: EgnnSource> BatchField for EgnnForce<S> {
    fn eval(
        &mut self,
        x: &[f64],
        y: &[f64],
        z: &[f64],
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
    ) -> Result<f64> {
        let pos = Positions {
            dim: self.sbox.dim,
            x,
            y,
            z,
            types: &[],
        };
        self.eval_particles(&pos, fx, fy, fz)
    }

    fn eval_particles(
        &mut self,
        pos: &Positions,
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
    ) -> Result<f64> {
        let (n, f) = (pos.len(), self.features);
        if n > self.delta.len() {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!(
                    "n = {n} exceeds the EGNN term's capacity {}",
                    self.delta.len()
                ),
            ));
        }
        let h = &mut self.h[..n * f];
        if self.table.is_empty() {
            h.fill(0.0);
        } else {
            for (i, row) in h.chunks_exact_mut(f).enumerate() {
                let t = pos.type_of(i).min(self.ntypes - 1);
                row.copy_from_slice(&self.table[t * f..(t + 1) * f]);
            }
        }
        let three = pos.dim == 3;
        for (i, q) in self.r[..n].iter_mut().enumerate() {
            *q = [pos.x[i], pos.y[i], if three { pos.z[i] } else { 0.0 }];
        }
        let r = &self.r[..n];
        let (len, inv) = (self.sbox.lengths, self.sbox.inv_lengths);
        // In 2D the third length is unused: z separations are 0 and stay 0.
        let (len, inv) = if three {
            (len, inv)
        } else {
            ([len[0], len[1], 1.0], [inv[0], inv[1], 1.0])
        };
        let open = |i: usize, j: usize| {
            let (a, b) = (r[i], r[j]);
            [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
        };
        let periodic = |i: usize, j: usize| {
            let mut d = open(i, j);
            for a in 0..3 {
                d[a] -= len[a] * (d[a] * inv[a]).round_ties_even();
            }
            d
        };
        let h = &self.h[..n * f];
        let delta = &mut self.delta[..n];
        let is_periodic = self.sbox.periodic;
        self.source.with_egnn(&mut |g| {
            if is_periodic {
                g.coordinate_update(n, periodic, h, delta)
            } else {
                g.coordinate_update(n, open, h, delta)
            }
        })?;
        let s = self.scale;
        for (i, d) in self.delta[..n].iter().enumerate() {
            fx[i] = s * d[0];
            fy[i] = s * d[1];
            if three {
                fz[i] = s * d[2];
            }
        }
        Ok(0.0)
    }
}
