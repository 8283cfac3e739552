//! Monte Carlo kernels: lattice spin models.
//!
//! * [`ising`]: 2D square / 3D cubic periodic Ising lattices with
//!   checkerboard (parallel, SIMD, Philox) and sequential Metropolis and
//!   heat-bath sweeps, observables and the Binder cumulant.
//! * [`wolff`]: Wolff single-cluster updates on the same lattices.

pub mod ising;
pub mod wolff;
