//! # fieldkern
//!
//! Allocation-free, SIMD, deterministic kernels for simulation codes written in
//! C, C++, Fortran and Julia, behind one stable C header
//! (`include/fieldkern.h`). Three pillars:
//!
//! 1. **Integrators** — particles in fields (Verlet, BAOAB, Brownian, active
//!    matter, Kuramoto, ODE ensembles, generative samplers).
//! 2. **Monte Carlo** — Ising, sandpiles, Hopfield networks, lattice
//!    transport, Gillespie, HMC.
//! 3. **Neural fields** — fused MLP forward passes and input gradients, usable
//!    as force fields.
//!
//! Everything stands on the foundation in this crate:
//! [`rng`] (counter-based Philox4x32-10 keyed by `(seed, stream)`, so results
//! do not depend on thread count), [`parallel`] (the library's own
//! allocation-free thread pool), [`simd`] (lane types) and [`ffi`] (the C ABI:
//! status codes, thread-local error messages, panic guard).
//!
//! ## The ABI promise
//! Every fallible export returns `fk_status`; bad input gets a specific status
//! and a message from `fk_last_error()`, with caller state unchanged. Step,
//! sweep, fill and forward calls never allocate. Same inputs and seed give
//! bitwise-identical results for any thread count.

// Numerical kernels index several arrays with one loop counter.
#![allow(clippy::needless_range_loop)]

pub mod error;
pub mod ffi;
pub mod mc;
pub mod parallel;
pub mod rng;
pub mod simd;

pub use error::{Error, ErrorKind, Result};

/// Crate version, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const VERSION_CSTR: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(s) => s,
    Err(_) => panic!("version string contains a NUL"),
};

/// `MAJOR * 10000 + MINOR * 100 + PATCH`, as `fk_version()` returns it.
pub fn version_number() -> u32 {
    let part = |s: &str| s.parse::<u32>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"))
}
