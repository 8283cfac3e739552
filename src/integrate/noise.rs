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

    /// Elements `e0, e0 + 1, ..` of the normal sequence into `out`, the same
    /// values as [`Self::normal`] one by one: whole aligned batches go
    /// straight into `out`, partial ones through the cache.
    #[inline]
    pub fn fill(&mut self, e0: u64, out: &mut [f64]) {
        let mut e = e0;
        let mut pos = 0;
        while pos < out.len() {
            let base = e & !(BATCH - 1);
            let skip = (e - base) as usize;
            let take = (BATCH as usize - skip).min(out.len() - pos);
            if take == BATCH as usize && base != self.first {
                let dst: &mut [f64; 2 * BATCH_BLOCKS] = (&mut out[pos..pos + take])
                    .try_into()
                    .expect("one batch of normals");
                normals_of_batch(&self.g.blocks16(base / 2), dst);
            } else {
                if base != self.first {
                    normals_of_batch(&self.g.blocks16(base / 2), &mut self.buf);
                    self.first = base;
                }
                out[pos..pos + take].copy_from_slice(&self.buf[skip..skip + take]);
            }
            pos += take;
            e = e.wrapping_add(take as u64);
        }
    }
}

/// Particles per bulk draw in [`for_each_noise_chunk`] (a multiple of 8).
pub const NOISE_CHUNK: usize = 64;

/// Runs `body(c, xi)` over local particles `0..len` of a segment starting at
/// global index `first`, in chunks of [`NOISE_CHUNK`]: `c` is the chunk's
/// first local index and `xi` the chunk's normals, particle-major (`draws`
/// per particle, `xi[draws k + d]` = draw `d` of particle `first + c + k` at
/// `step`), drawn in bulk: the same values as [`NormalSource::normal`] of
/// [`element`] one by one.
#[inline(always)]
pub fn for_each_noise_chunk(
    noise: &mut NormalSource,
    step: u64,
    n: usize,
    first: usize,
    len: usize,
    draws: usize,
    mut body: impl FnMut(usize, &[f64]),
) {
    const MAX_DRAWS: usize = 6;
    assert!(draws <= MAX_DRAWS, "at most {MAX_DRAWS} draws per particle");
    let mut xi = [0.0; MAX_DRAWS * NOISE_CHUNK];
    let mut c = 0;
    while c < len {
        let m = NOISE_CHUNK.min(len - c);
        let e0 = element(step, n, first + c, draws as u64, 0);
        noise.fill(e0, &mut xi[..draws * m]);
        body(c, &xi[..draws * m]);
        c += m;
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
    fn fill_equals_normal_one_by_one_at_any_offset_and_length() {
        let mut one = NormalSource::new(9, Stream::LangevinNoise, 1);
        let mut bulk = NormalSource::new(9, Stream::LangevinNoise, 1);
        let mut out = [0.0; 200];
        for (e0, len) in [
            (0u64, 200usize),
            (5, 3),
            (31, 2),
            (33, 150),
            (64, 32),
            (7, 0),
            (u64::MAX - 40, 30),
        ] {
            bulk.fill(e0, &mut out[..len]);
            for (k, x) in out[..len].iter().enumerate() {
                let want = one.normal(e0.wrapping_add(k as u64));
                assert_eq!(x.to_bits(), want.to_bits(), "e0 {e0} k {k}");
            }
        }
    }

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
