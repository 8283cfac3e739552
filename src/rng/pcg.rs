//! Sequential random streams for inherently sequential algorithms (Wolff
//! clusters, Gillespie, sandpile drives): `rand_pcg::Pcg64` (PCG XSL-RR
//! 128/64, O'Neill 2014), whose whole state is two 128-bit words the handle can
//! save and restore, so a checkpointed run resumes bitwise.

use rand_core::Rng;
use rand_pcg::Pcg64;

use super::uniform::u01_f64;

/// The complete state of a [`SeqRng`]: restore it to continue the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRngState {
    pub state: u128,
    pub stream: u128,
}

impl SeqRngState {
    /// As four little-endian 64-bit words (state lo, state hi, stream lo,
    /// stream hi), the layout C checkpoints use.
    pub fn to_words(self) -> [u64; 4] {
        [
            self.state as u64,
            (self.state >> 64) as u64,
            self.stream as u64,
            (self.stream >> 64) as u64,
        ]
    }

    pub fn from_words(w: [u64; 4]) -> Self {
        Self {
            state: u128::from(w[0]) | u128::from(w[1]) << 64,
            stream: u128::from(w[2]) | u128::from(w[3]) << 64,
        }
    }
}

/// SplitMix64 finaliser: spreads a 64-bit seed over 64 bits.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A sequential PCG64 stream keyed by `(seed, stream)`.
#[derive(Clone, Debug)]
pub struct SeqRng(Pcg64);

impl SeqRng {
    pub fn new(seed: u64, stream: u64) -> Self {
        let state = u128::from(seed) << 64 | u128::from(splitmix64(seed));
        Self(Pcg64::new(state, u128::from(stream)))
    }

    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in (0, 1) with 53 random bits (same conversion as Philox fills).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        let r = self.0.next_u64();
        u01_f64(r as u32, (r >> 32) as u32)
    }

    /// Uniform integer in `0..n` without modulo bias (Lemire 2019). `n > 0`.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.0.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    pub fn save(&self) -> SeqRngState {
        SeqRngState {
            state: self.0.state(),
            stream: self.0.stream(),
        }
    }

    pub fn restore(saved: SeqRngState) -> Self {
        Self(Pcg64::from_state(saved.state, saved.stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_stream_continues_bitwise() {
        let mut a = SeqRng::new(2026, 3);
        for _ in 0..1000 {
            a.next_u64();
        }
        let saved = SeqRngState::from_words(a.save().to_words());
        let mut b = SeqRng::restore(saved);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn distinct_streams_differ() {
        let mut a = SeqRng::new(1, 0);
        let mut b = SeqRng::new(1, 1);
        let same = (0..64).filter(|_| a.next_u64() == b.next_u64()).count();
        assert_eq!(same, 0);
    }

    #[test]
    fn below_is_unbiased_on_a_small_range() {
        // 6 bins, 600_000 draws: each count is Binomial(6e5, 1/6), sd ~ 289;
        // 5 sd = 1443.
        let mut r = SeqRng::new(5, 5);
        let mut bins = [0u64; 6];
        for _ in 0..600_000 {
            bins[r.below(6) as usize] += 1;
        }
        for b in bins {
            assert!((b as f64 - 100_000.0).abs() < 1443.0, "{bins:?}");
        }
    }
}
