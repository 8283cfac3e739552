//! Neural-field force term: a trained [`Model`] evaluated on all particle
//! positions in one batched call, used either as
//!
//! * an external potential `U(r)` (`out_dim == 1`): `F_i = -s grad U(r_i)`,
//!   energy `E = s sum_i U(r_i)`, or
//! * a direct vector field (`out_dim == dim`): `F_i = s f(r_i)`, energy 0
//!   (the field need not be conservative),
//!
//! with `s` the term's scale. Positions are converted to the model's `f32`
//! input `[n][dim]` (absolute coordinates as the integrator holds them; in a
//! periodic box they are wrapped into `[0, L)`); the model computes in `f32`,
//! forces and energy are accumulated in `f64` in particle order. All buffers
//! (input, values, gradients) are reserved at construction for the force
//! field's capacity and the model's own workspaces were reserved when it was
//! created, so an evaluation allocates nothing. The model's batch split
//! depends only on `n`, so results are bitwise identical for any thread count.
//!
//! The term plugs into the force field through [`BatchField`] (the batch
//! seam also used by C callbacks); where the model lives is abstracted by
//! [`ModelSource`] (owned by the term in Rust, borrowed from a C handle in
//! the C API).

use super::external::BatchField;
use crate::error::{Error, ErrorKind, Result};
use crate::nf::Model;

/// How the model's output is turned into forces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeuralMode {
    /// Scalar potential `U(r)`: forces `-s grad U`, energy `s sum U`.
    Potential,
    /// Vector field `f(r)` with `dim` components: forces `s f`, energy 0.
    VectorField,
}

/// Where the term finds its model for one evaluation.
pub trait ModelSource: Send + Sync {
    /// Runs `f` with exclusive access to the model; errors if the model is
    /// not available (e.g. a destroyed or busy C handle).
    fn with_model(&mut self, f: &mut dyn FnMut(&mut Model) -> Result<()>) -> Result<()>;
}

impl ModelSource for Model {
    fn with_model(&mut self, f: &mut dyn FnMut(&mut Model) -> Result<()>) -> Result<()> {
        f(self)
    }
}

/// The neural-field term (see the module documentation).
pub struct NeuralField<S: ModelSource> {
    source: S,
    mode: NeuralMode,
    scale: f64,
    dim: usize,
    input: Vec<f32>,
    value: Vec<f32>,
    grad: Vec<f32>,
}

impl<S: ModelSource> std::fmt::Debug for NeuralField<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeuralField")
            .field("mode", &self.mode)
            .field("scale", &self.scale)
            .field("dim", &self.dim)
            .finish()
    }
}

/// Checks that a model with `in_dim -> out_dim` fits `mode` for particles of
/// dimension `dim`, and that `scale` is finite.
pub fn check_model_dims(
    in_dim: usize,
    out_dim: usize,
    mode: NeuralMode,
    dim: usize,
    scale: f64,
) -> Result<()> {
    if !scale.is_finite() {
        return Err(Error::new(
            ErrorKind::NonFinite,
            format!("scale = {scale} must be finite"),
        ));
    }
    if in_dim != dim {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("the model's in_dim = {in_dim} must equal the particle dim = {dim}"),
        ));
    }
    let want = match mode {
        NeuralMode::Potential => 1,
        NeuralMode::VectorField => dim,
    };
    if out_dim != want {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("the model's out_dim = {out_dim} must be {want} for {mode:?} (dim = {dim})"),
        ));
    }
    Ok(())
}

impl<S: ModelSource> NeuralField<S> {
    /// A term for particles of dimension `dim` (2 or 3), at most `capacity`
    /// of them; `in_dim`/`out_dim` are the model's (checked against `mode`).
    /// Reserves all evaluation buffers.
    pub fn new(
        source: S,
        in_dim: usize,
        out_dim: usize,
        mode: NeuralMode,
        scale: f64,
        dim: usize,
        capacity: usize,
    ) -> Result<Self> {
        check_model_dims(in_dim, out_dim, mode, dim, scale)?;
        let grad_len = match mode {
            NeuralMode::Potential => capacity * dim,
            NeuralMode::VectorField => 0,
        };
        Ok(Self {
            source,
            mode,
            scale,
            dim,
            input: vec![0.0; capacity * dim],
            value: vec![0.0; capacity * out_dim],
            grad: vec![0.0; grad_len],
        })
    }

    pub fn mode(&self) -> NeuralMode {
        self.mode
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl<S: ModelSource> BatchField for NeuralField<S> {
    fn eval(
        &mut self,
        x: &[f64],
        y: &[f64],
        z: &[f64],
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
    ) -> Result<f64> {
        let (n, d) = (x.len(), self.dim);
        if n * d > self.input.len() {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!(
                    "n = {n} exceeds the neural term's capacity {}",
                    self.input.len() / d
                ),
            ));
        }
        let input = &mut self.input[..n * d];
        for (i, row) in input.chunks_exact_mut(d).enumerate() {
            row[0] = x[i] as f32;
            row[1] = y[i] as f32;
            if d == 3 {
                row[2] = z[i] as f32;
            }
        }
        let input = &self.input[..n * d];
        let mode = self.mode;
        let (value, grad) = (&mut self.value, &mut self.grad);
        self.source.with_model(&mut |m| match mode {
            NeuralMode::Potential => m.gradient(input, &mut value[..n], &mut grad[..n * d]),
            NeuralMode::VectorField => m.forward(input, &mut value[..n * d]),
        })?;
        let s = self.scale;
        let (src, sign) = match mode {
            NeuralMode::Potential => (&self.grad[..n * d], -s),
            NeuralMode::VectorField => (&self.value[..n * d], s),
        };
        for (i, row) in src.chunks_exact(d).enumerate() {
            fx[i] = sign * f64::from(row[0]);
            fy[i] = sign * f64::from(row[1]);
            if d == 3 {
                fz[i] = sign * f64::from(row[2]);
            }
        }
        Ok(match mode {
            NeuralMode::Potential => s * self.value[..n].iter().map(|&u| f64::from(u)).sum::<f64>(),
            NeuralMode::VectorField => 0.0,
        })
    }
}
