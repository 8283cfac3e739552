//! The C ABI (`include/fieldkern.h`, generated from this folder by cbindgen).
//!
//! One file per header section. The layer is thin: every export runs inside
//! `boundary::guard` (panic guard + error mapping), converts raw pointers to
//! slices with the checks in [`boundary`], and calls safe Rust. No physics here.

pub mod boundary;
pub(crate) mod handle;
pub mod status;

// Header sections, in header order (cbindgen follows this order; a blank line
// between them keeps rustfmt from sorting them).
pub mod runtime;

pub mod rng;

pub mod integrate;

pub mod ising;

pub mod lattice;

pub mod nf;

pub use status::fk_status;
