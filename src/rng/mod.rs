//! Random numbers.
//!
//! * [`philox`]: Philox4x32-10, the counter-based generator every parallel
//!   kernel uses. A draw is a pure function of `(seed, stream, counter)`, so
//!   results do not depend on thread count or decomposition and a restart needs
//!   no RNG state.
//! * [`uniform`], [`normal`]: conversions of Philox words to `(0,1)` uniforms
//!   and standard normals (Box-Muller), scalar and SIMD, bitwise equal.
//! * [`fill`]: parallel fills of caller arrays (`fk_rng_fill_*`).
//! * [`pcg`]: sequential `rand_pcg` streams with saveable state for the
//!   inherently sequential algorithms (cluster updates, Gillespie, sandpiles).
//! * [`stream`]: the one table of stream identifiers kernels draw from.

pub mod fill;
pub mod normal;
pub mod pcg;
pub mod philox;
pub mod stream;
pub mod uniform;

pub use philox::Philox;
