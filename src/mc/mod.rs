//! Monte Carlo kernels: lattice spin models, dense Hopfield networks,
//! sandpiles, mixing automata, mass transport and Markov jump processes.
//!
//! * [`coffee`], [`sandpile`], [`transport`], [`gillespie`]: the lattice and
//!   jump-process kernels (see their module docs).
//! * [`hopfield`]: dense associative networks with p-body Hebbian
//!   interactions kept implicit through pattern overlaps (O(K) per flip).
//! * [`ising`]: 2D square / 3D cubic periodic Ising lattices with
//!   checkerboard (parallel, SIMD, Philox) and sequential Metropolis and
//!   heat-bath sweeps, observables and the Binder cumulant.
//! * [`ising_msc`]: multi-spin-coded (64 spins per word) checkerboard
//!   Metropolis for the 2D model at h = 0.
//! * [`ising_replicas`]: replica multi-spin coding, 64 replicas (one per
//!   bit, each at its own temperature) of a 2D / 3D lattice updated together.
//! * [`wolff`]: Wolff single-cluster updates on the same lattices.
//! * [`worm`]: Prokof'ev-Svistunov worm algorithm on the 2D high-temperature
//!   expansion (link occupations, energy and susceptibility estimators).

pub mod coffee;
pub mod gillespie;
pub mod hopfield;
pub mod ising;
pub mod ising_msc;
pub mod ising_replicas;
pub mod sandpile;
pub mod transport;
pub mod wolff;
pub mod worm;
