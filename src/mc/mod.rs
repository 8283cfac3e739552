pub mod coffee;
pub mod gillespie;
pub mod sandpile;
pub mod transport;
