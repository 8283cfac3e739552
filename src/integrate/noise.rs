//! Gaussian noise for the stochastic integrators, addressed by counter.
//!
//! Draw `d` of particle `i` at step `s` (with `D` draws per particle per step
//! and `n` particles) is standard-normal element `e = (s n + i) D + d` of the
//! Philox4x32-10 generator keyed by `(seed, Stream::<kernel>.with_sub(stream))`,
//! converted exactly as `fk_rng_fill_normal_f64` does (Box-Muller; element `e`
//! comes from block `e / 2`). Counters wrap modulo 2^64, so
//! `steps * n * D < 2^64` gives distinct numbers everywhere. Draws do not
//! depend on the thread count, the call split, or the segment a particle
//! falls in.

use crate::rng::normal::normals_of_batch;
use crate::rng::philox::BATCH_BLOCKS;
use crate::rng::stream::Stream;
use crate::rng::Philox;

/// Elements per cached batch.
const BATCH: u64 = 2 * BATCH_BLOCKS as u64;

/// A per-task cache of one Philox batch of normals.
pub struct NormalSource {
    g: Philox,
    buf: [f64; 2 * BATCH_BLOCKS],
    first: u64,
}

impl NormalSource {
    pub fn new(seed: u64, tag: Stream, stream: u64) -> Self {
        Self {
            g: Philox::new(seed, tag.with_sub(stream)),
            buf: [0.0; 2 * BATCH_BLOCKS],
            first: u64::MAX,
        }
    }

    /// Element `e` of the normal sequence.
    #[inline(always)]
    pub fn normal(&mut self, e: u64) -> f64 {
        let base = e & !(BATCH - 1);
        if base != self.first {
            let w = self.g.blocks16(base / 2);
            normals_of_batch(&w, &mut self.buf);
            self.first = base;
        }
        self.buf[(e - base) as usize]
    }
}

/// Element index of draw `d` of particle `i` at `step` (`draws` per particle).
#[inline(always)]
pub fn element(step: u64, n: usize, i: usize, draws: u64, d: u64) -> u64 {
    step.wrapping_mul(n as u64)
        .wrapping_add(i as u64)
        .wrapping_mul(draws)
        .wrapping_add(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::fill::fill_normal_f64;

    #[test]
    fn draws_equal_the_public_normal_fill() {
        let mut src = NormalSource::new(5, Stream::LangevinNoise, 3);
        let mut want = vec![0.0; 200];
        fill_normal_f64(5, Stream::LangevinNoise.with_sub(3), 1000, &mut want).unwrap();
        for (k, &w) in want.iter().enumerate() {
            assert_eq!(src.normal(1000 + k as u64).to_bits(), w.to_bits());
        }
    }
}
