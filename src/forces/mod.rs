//! Force fields for the particle integrators: pair potentials
//! ([`pair`]), neighbour search ([`cells`]), external fields ([`external`]),
//! neural-field terms ([`neural`]), the EGNN force term ([`egnn`]) and their composition into one handle
//! evaluated in one pass ([`field`]).

pub mod cells;
pub mod egnn;
pub mod external;
pub mod field;
pub mod neural;
pub mod pair;

pub use egnn::{EgnnForce, EgnnSource};
pub use external::{BatchField, Trap};
pub use field::{ForceField, ForceFieldParams, TermKind};
pub use neural::{ModelSource, NeuralField, NeuralMode};
pub use pair::PairKind;
