//! Shared test support: allocation counting, statistics helpers, and the
//! helpers that build and run the C, C++, Fortran and Python programs.
#![allow(dead_code)]

pub mod alloc;
pub mod foreign;
pub mod ising_exact;
pub mod ising_replicas_ref;
pub mod stats;
