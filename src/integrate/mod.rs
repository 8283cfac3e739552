//! Time-stepping kernels for particles in fields: velocity Verlet (NVE),
//! BAOAB Langevin, overdamped Brownian dynamics, active Brownian particles and
//! Kuramoto / noisy XY oscillators. Each is planned once (`new`, reserving
//! every buffer) and stepped many times without allocating.
//!
//! The step index is an argument of every step call, so random numbers are a
//! pure function of `(seed, stream, step, particle, draw)`: a run split at
//! step `k` and resumed is bitwise identical to the unsplit run, and results
//! do not depend on the thread count.

pub mod active;
pub mod brownian;
pub mod common;
pub mod kuramoto;
pub mod langevin;
pub mod noise;
pub mod split;
pub mod state;
pub mod verlet;

pub use state::{Particles, Positions, SimBox};
