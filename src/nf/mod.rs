//! Neural fields: trained MLPs (encoding + dense stack) evaluated inside
//! simulation codes, allocation-free, in f32 with SIMD micro-kernels fused
//! across layers on tiles of points, with input gradients and Jacobians.
//!
//! * [`activation`]: the pointwise activations and their derivatives.
//! * [`encode`]: identity, Fourier-feature and NeRF positional encodings.
//! * [`mlp`]: packed dense layers and the register-blocked tile kernel.
//! * [`model`]: the model, its workspaces and the parallel batched calls.
//! * [`grad`]: the fused reverse pass (gradients, Jacobians).

pub mod activation;
pub mod egnn;
pub mod encode;
pub mod grad;
pub mod hashgrid;
pub mod load;
pub mod mlp;
pub mod model;
pub mod render;

pub use activation::Activation;
pub use encode::Encoding;
pub use model::{LayerSpec, Model, ModelSpec, Scalar};
