//! Thermal noise for the stochastic integrators, addressed by counter.
//!
//! Draw `d` of particle `i` at step `s` (with `D` draws per particle per step
//! and `n` particles) is element `e = (s n + i) D + d` of the noise sequence of
//! the Philox4x32-10 generator keyed by
//! `(seed, Stream::<kernel>.with_sub(stream))`. Every element has mean 0 and
//! variance 1; its distribution is the integrator's [`NoiseKind`]:
//!
//! * [`NoiseKind::Gaussian`] (the default): standard normal, converted exactly
//!   as `fk_rng_fill_normal_f64` does (Box-Muller; element `e` comes from
//!   block `e / 2`).
//! * [`NoiseKind::Uniform`]: uniform on `(-sqrt 3, sqrt 3)` from 32 random
//!   bits, `xi = sqrt(12) ((w + 1/2) 2^-32 - 1/2)` with `w` word `e mod 4` of
//!   block `e / 4` (see [`uniform_noise`]). This is the noise of LAMMPS'
//!   `fix langevin` (Dunweg & Paul, Int. J. Mod. Phys. C 2, 817 (1991)):
//!   every average that depends on the noise only through its first two
//!   moments is unchanged (equipartition, `<x^2> = kT/k` in a harmonic trap,
//!   free-diffusion MSD, velocity autocorrelation), and the central limit
//!   theorem makes positions and velocities Gaussian over many steps. The
//!   price is the fourth moment, 9/5 instead of 3: each step's increment is
//!   not Gaussian, so the weak error of a nonlinear observable gains an
//!   `O(dt)` term where the Gaussian scheme has none. It costs about a
//!   quarter of a Gaussian draw (a quarter of a Philox block, no logarithm
//!   or sine: measured 0.69 vs 2.5 ns per element on one core); use it where
//!   the noise dominates the step and the dynamics only needs a thermostat.
//!
//! Counters wrap modulo 2^64, so `steps * n * D < 2^64` gives distinct
//! numbers everywhere. Draws do not depend on the thread count, the call
//! split, or the segment a particle falls in.

use crate::error::{Error, ErrorKind, Result};
use crate::rng::normal::normals_of_batch;
use crate::rng::philox::BATCH_BLOCKS;
use crate::rng::stream::Stream;
use crate::rng::Philox;

/// The distribution of an integrator's noise elements (mean 0, variance 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoiseKind {
    /// Standard normal (Box-Muller, 64 random bits per element).
    #[default]
    Gaussian,
    /// Uniform on `(-sqrt 3, sqrt 3)` (32 random bits per element).
    Uniform,
}

impl NoiseKind {
    /// The kind with C code `code` (`FK_NOISE_GAUSSIAN` = 0,
    /// `FK_NOISE_UNIFORM` = 1).
    pub fn from_code(code: i32) -> Result<Self> {
        match code {
            0 => Ok(Self::Gaussian),
            1 => Ok(Self::Uniform),
            _ => Err(Error::new(
                ErrorKind::UnknownEnum,
                format!("noise = {code} is not FK_NOISE_GAUSSIAN (0) or FK_NOISE_UNIFORM (1)"),
            )),
        }
    }

    /// Elements per batch of 16 Philox blocks.
    const fn batch(self) -> usize {
        match self {
            Self::Gaussian => 2 * BATCH_BLOCKS,
            Self::Uniform => 4 * BATCH_BLOCKS,
        }
    }
}

/// `sqrt(12) 2^-32`.
const UNIFORM_SCALE: f64 = 3.464_101_615_137_754_6 / 4_294_967_296.0;

/// The uniform noise element of Philox word `w`:
/// `sqrt(12) ((w + 1/2) 2^-32 - 1/2)`, evaluated as `(w + 1/2 - 2^31) s`
/// with `s = sqrt(12) 2^-32` rounded once. The bracket is exact, so words
/// `w` and `2^32 - 1 - w` give exactly opposite values: the distribution is
/// symmetric, never 0, and within `(-sqrt 3, sqrt 3)`.
#[inline(always)]
pub fn uniform_noise(w: u32) -> f64 {
    (f64::from(w) - 2_147_483_647.5) * UNIFORM_SCALE
}

/// Largest batch of elements (uniform: 64).
const MAX_BATCH: usize = 4 * BATCH_BLOCKS;

/// A per-task cache of one Philox batch of noise elements.
pub struct NoiseSource {
    g: Philox,
    kind: NoiseKind,
    buf: [f64; MAX_BATCH],
    first: u64,
}

impl NoiseSource {
    pub fn new(seed: u64, tag: Stream, stream: u64, kind: NoiseKind) -> Self {
        Self {
            g: Philox::new(seed, tag.with_sub(stream)),
            kind,
            buf: [0.0; MAX_BATCH],
            first: u64::MAX,
        }
    }

    /// The elements `base..base + batch` (`base` a multiple of the batch)
    /// into `out[..batch]`.
    #[inline(always)]
    fn batch_into(g: &Philox, kind: NoiseKind, base: u64, out: &mut [f64]) {
        match kind {
            NoiseKind::Gaussian => {
                let dst: &mut [f64; 2 * BATCH_BLOCKS] = (&mut out[..2 * BATCH_BLOCKS])
                    .try_into()
                    .expect("one batch of normals");
                normals_of_batch(&g.blocks16(base / 2), dst);
            }
            NoiseKind::Uniform => {
                let w = g.blocks16(base / 4);
                let dst = &mut out[..4 * BATCH_BLOCKS];
                for (j, e) in dst.chunks_exact_mut(4).enumerate() {
                    for (t, x) in e.iter_mut().enumerate() {
                        *x = uniform_noise(w[t][j]);
                    }
                }
            }
        }
    }

    /// Element `e` of the noise sequence.
    #[inline(always)]
    pub fn element(&mut self, e: u64) -> f64 {
        let batch = self.kind.batch() as u64;
        let base = e & !(batch - 1);
        if base != self.first {
            Self::batch_into(&self.g, self.kind, base, &mut self.buf);
            self.first = base;
        }
        self.buf[(e - base) as usize]
    }

    /// Elements `e0, e0 + 1, ..` of the noise sequence into `out`, the same
    /// values as [`Self::element`] one by one: whole aligned batches go
    /// straight into `out`, partial ones through the cache.
    #[inline]
    pub fn fill(&mut self, e0: u64, out: &mut [f64]) {
        let batch = self.kind.batch();
        let mut e = e0;
        let mut pos = 0;
        while pos < out.len() {
            let base = e & !(batch as u64 - 1);
            let skip = (e - base) as usize;
            let take = (batch - skip).min(out.len() - pos);
            if take == batch && base != self.first {
                Self::batch_into(&self.g, self.kind, base, &mut out[pos..pos + take]);
            } else {
                if base != self.first {
                    Self::batch_into(&self.g, self.kind, base, &mut self.buf);
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
/// first local index and `xi` the chunk's noise elements, particle-major (`draws`
/// per particle, `xi[draws k + d]` = draw `d` of particle `first + c + k` at
/// `step`), drawn in bulk: the same values as [`NoiseSource::element`] of
/// [`element`] one by one.
#[inline(always)]
pub fn for_each_noise_chunk(
    noise: &mut NoiseSource,
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
    fn fill_equals_element_one_by_one_at_any_offset_and_length() {
        for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
            let mut one = NoiseSource::new(9, Stream::LangevinNoise, 1, kind);
            let mut bulk = NoiseSource::new(9, Stream::LangevinNoise, 1, kind);
            let mut out = [0.0; 200];
            for (e0, len) in [
                (0u64, 200usize),
                (5, 3),
                (31, 2),
                (33, 150),
                (64, 32),
                (64, 64),
                (7, 0),
                (u64::MAX - 40, 30),
            ] {
                bulk.fill(e0, &mut out[..len]);
                for (k, x) in out[..len].iter().enumerate() {
                    let want = one.element(e0.wrapping_add(k as u64));
                    assert_eq!(x.to_bits(), want.to_bits(), "{kind:?} e0 {e0} k {k}");
                }
            }
        }
    }

    #[test]
    fn gaussian_draws_equal_the_public_normal_fill() {
        let mut src = NoiseSource::new(5, Stream::LangevinNoise, 3, NoiseKind::Gaussian);
        let mut want = vec![0.0; 200];
        fill_normal_f64(5, Stream::LangevinNoise.with_sub(3), 1000, &mut want).unwrap();
        for (k, &w) in want.iter().enumerate() {
            assert_eq!(src.element(1000 + k as u64).to_bits(), w.to_bits());
        }
    }

    #[test]
    fn uniform_draws_follow_the_documented_mapping() {
        let mut src = NoiseSource::new(5, Stream::BrownianNoise, 3, NoiseKind::Uniform);
        let g = Philox::new(5, Stream::BrownianNoise.with_sub(3));
        for e in (0..300u64).chain(u64::MAX - 70..=u64::MAX) {
            let w = g.block(e / 4)[(e % 4) as usize];
            let want = 12f64.sqrt() * ((f64::from(w) + 0.5) / 4_294_967_296.0 - 0.5);
            let got = src.element(e);
            assert!((got - want).abs() <= 4.0 * f64::EPSILON, "element {e}");
            assert_eq!(got.to_bits(), uniform_noise(w).to_bits(), "element {e}");
        }
    }

    #[test]
    fn uniform_noise_is_symmetric_and_inside_the_open_interval() {
        assert_eq!(UNIFORM_SCALE, 12f64.sqrt() / 4_294_967_296.0);
        let edge = 3f64.sqrt();
        for w in [
            0u32,
            1,
            2,
            1 << 31,
            (1 << 31) - 1,
            u32::MAX - 1,
            u32::MAX,
            12345,
        ] {
            let (a, b) = (uniform_noise(w), uniform_noise(u32::MAX - w));
            assert_eq!(a, -b, "word {w}");
            assert!(a != 0.0 && a.abs() < edge, "word {w}: {a}");
        }
        // The extreme words sit half a step inside the edges.
        let step = 12f64.sqrt() / 4_294_967_296.0;
        assert!((edge - uniform_noise(u32::MAX) - 0.5 * step).abs() < 1e-3 * step);
    }

    #[test]
    fn uniform_moments_are_those_of_the_uniform_distribution() {
        // Mean 0, variance 1, fourth moment 9/5 (Gaussian: 3), each within
        // four standard errors of the sample mean over 2^20 draws
        // (var of xi^2 = 9/5 - 1, var of xi^4 = E xi^8 - (9/5)^2 = 9 - 81/25).
        let n = 1 << 20;
        let mut xi = vec![0.0; n];
        NoiseSource::new(11, Stream::LangevinNoise, 0, NoiseKind::Uniform).fill(0, &mut xi);
        let m = |p: i32| xi.iter().map(|x| x.powi(p)).sum::<f64>() / n as f64;
        let se = |var: f64| (var / n as f64).sqrt();
        assert!(m(1).abs() < 4.0 * se(1.0), "mean {}", m(1));
        assert!((m(2) - 1.0).abs() < 4.0 * se(0.8), "variance {}", m(2));
        let var4 = 9.0 - 81.0 / 25.0;
        assert!(
            (m(4) - 1.8).abs() < 4.0 * se(var4),
            "fourth moment {}",
            m(4)
        );
    }

    #[test]
    fn unknown_noise_codes_are_rejected() {
        assert_eq!(NoiseKind::from_code(0).unwrap(), NoiseKind::Gaussian);
        assert_eq!(NoiseKind::from_code(1).unwrap(), NoiseKind::Uniform);
        for code in [-1, 2, i32::MAX] {
            let e = NoiseKind::from_code(code).unwrap_err();
            assert_eq!(e.kind, ErrorKind::UnknownEnum);
        }
    }
}
