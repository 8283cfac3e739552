//! Monte Carlo: lattice and jump-process kernels.

pub mod sandpile;
