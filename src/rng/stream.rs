//! The one table of Philox stream tags (as HOOMD-blue keeps one table of RNG
//! identifiers), so no two kernels ever draw the same numbers.
//!
//! A kernel draws from stream `(tag << 48) | sub`, where `sub` (48 bits) is
//! kernel-defined (usually the user's stream). Streams below `2^48` (tag 0) are
//! the caller's own, as used by `fk_rng_fill_*`.

/// Kernel stream tags. Values are fixed forever; add new ones at the end.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// `fk_rng_fill_*`: the caller's stream, used as given.
    User = 0,
    LangevinNoise = 1,
    BrownianNoise = 2,
    ActiveRotationNoise = 3,
    KuramotoNoise = 4,
    IsingMetropolis = 16,
    IsingHeatBath = 17,
    IsingMultiSpin = 18,
    HopfieldGlauber = 19,
    IsingMetropolisSequential = 20,
    IsingHeatBathSequential = 21,
    IsingHotStart = 22,
    IsingWolff = 23,
    IsingWorm = 24,
    HopfieldPatterns = 25,
    /// Replica multi-spin coding: one word per (sweep, colour, site).
    IsingReplicas = 26,
    /// Hot start of the replica lattice.
    IsingReplicasHotStart = 27,
    CoffeeAutomaton = 32,
    MassTransport = 33,
    Gillespie = 34,
    /// Observation noise of Gillespie trajectories (issue 6 range 35-47).
    GillespieNoise = 35,
    NeuralRenderJitter = 48,
}

impl Stream {
    pub const ALL: [Stream; 22] = [
        Stream::User,
        Stream::LangevinNoise,
        Stream::BrownianNoise,
        Stream::ActiveRotationNoise,
        Stream::KuramotoNoise,
        Stream::IsingMetropolis,
        Stream::IsingHeatBath,
        Stream::IsingMultiSpin,
        Stream::HopfieldGlauber,
        Stream::IsingMetropolisSequential,
        Stream::IsingHeatBathSequential,
        Stream::IsingHotStart,
        Stream::IsingWolff,
        Stream::IsingWorm,
        Stream::HopfieldPatterns,
        Stream::IsingReplicas,
        Stream::IsingReplicasHotStart,
        Stream::CoffeeAutomaton,
        Stream::MassTransport,
        Stream::Gillespie,
        Stream::GillespieNoise,
        Stream::NeuralRenderJitter,
    ];

    /// The Philox stream word of this kernel's sub-stream `sub` (< 2^48).
    #[inline]
    pub const fn with_sub(self, sub: u64) -> u64 {
        ((self as u64) << 48) | (sub & ((1 << 48) - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn stream_tags_are_unique() {
        let tags: HashSet<u16> = Stream::ALL.iter().map(|&s| s as u16).collect();
        assert_eq!(tags.len(), Stream::ALL.len());
    }

    #[test]
    fn kernel_streams_never_collide_with_user_streams() {
        for s in Stream::ALL.iter().filter(|&&s| s != Stream::User) {
            assert!(s.with_sub(u64::MAX) >= 1 << 48);
        }
    }
}
