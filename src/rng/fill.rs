//! Parallel fills of caller arrays from Philox (`fk_rng_fill_*`).
//!
//! Element `i` of a fill with `counter_offset = c` is a pure function of
//! `(seed, stream, e)` with `e = c + i`, so filling `[0, n)` at once equals
//! filling `[0, k)` and then `[k, n)` with `counter_offset = k`, for any thread
//! count. The exact mapping from `e` to Philox block and word:
//!
//! | fill            | block   | words used                                   |
//! |-----------------|---------|----------------------------------------------|
//! | `u32`           | `e / 4` | `w[e % 4]`                                   |
//! | `uniform_f32`   | `e / 4` | `u01_f32(w[e % 4])`                          |
//! | `uniform_f64`   | `e / 2` | `u01_f64(lo = w[2(e%2)], hi = w[2(e%2)+1])`  |
//! | `normal_f64`    | `e / 2` | Box-Muller of the whole block; `e` even: cosine branch, odd: sine |
//!
//! where block `b` is `philox4x32_10(counter = (b_lo, b_hi, stream_lo,
//! stream_hi), key = (seed_lo, seed_hi))`.

use super::normal::normals_of_batch;
use super::philox::{Philox, BATCH_BLOCKS};
use super::uniform::{u01_f32, u01_f64};
use crate::error::{Error, ErrorKind, Result};
use crate::parallel::for_each_chunk_mut;

/// Elements per parallel task: large enough to amortise dispatch, small
/// enough to balance two to dozens of threads on 10^6+ elements.
pub const TASK_ELEMENTS: usize = 1 << 15;

/// Largest batch any conversion produces (16 blocks x 4 words).
const BATCH_CAPACITY: usize = 4 * BATCH_BLOCKS;

/// A conversion of Philox blocks to output elements.
trait Conversion: Sync {
    type Elem: Copy + Default + Send;
    /// Elements per Philox block.
    const PER_BLOCK: usize;
    /// Elements of blocks `first .. first + 16`, in element order.
    fn batch(g: &Philox, first: u64, out: &mut [Self::Elem; BATCH_CAPACITY]);
}

struct RawU32;
struct UniformF32;
struct UniformF64;
struct NormalF64;

impl Conversion for RawU32 {
    type Elem = u32;
    const PER_BLOCK: usize = 4;
    #[inline]
    fn batch(g: &Philox, first: u64, out: &mut [u32; BATCH_CAPACITY]) {
        let w = g.blocks16(first);
        for j in 0..BATCH_BLOCKS {
            for k in 0..4 {
                out[4 * j + k] = w[k][j];
            }
        }
    }
}

impl Conversion for UniformF32 {
    type Elem = f32;
    const PER_BLOCK: usize = 4;
    #[inline]
    fn batch(g: &Philox, first: u64, out: &mut [f32; BATCH_CAPACITY]) {
        let w = g.blocks16(first);
        for j in 0..BATCH_BLOCKS {
            for k in 0..4 {
                out[4 * j + k] = u01_f32(w[k][j]);
            }
        }
    }
}

impl Conversion for UniformF64 {
    type Elem = f64;
    const PER_BLOCK: usize = 2;
    #[inline]
    fn batch(g: &Philox, first: u64, out: &mut [f64; BATCH_CAPACITY]) {
        let w = g.blocks16(first);
        for j in 0..BATCH_BLOCKS {
            out[2 * j] = u01_f64(w[0][j], w[1][j]);
            out[2 * j + 1] = u01_f64(w[2][j], w[3][j]);
        }
    }
}

impl Conversion for NormalF64 {
    type Elem = f64;
    const PER_BLOCK: usize = 2;
    #[inline]
    fn batch(g: &Philox, first: u64, out: &mut [f64; BATCH_CAPACITY]) {
        let w = g.blocks16(first);
        let pairs: &mut [f64; 2 * BATCH_BLOCKS] = (&mut out[..2 * BATCH_BLOCKS])
            .try_into()
            .expect("batch capacity holds 32 normals");
        normals_of_batch(&w, pairs);
    }
}

/// Fills `out[i]` with element `first_element + i` of conversion `C`.
fn fill_serial<C: Conversion>(g: &Philox, first_element: u64, out: &mut [C::Elem]) {
    let per_block = C::PER_BLOCK as u64;
    let batch_len = C::PER_BLOCK * BATCH_BLOCKS;
    let mut buf = [C::Elem::default(); BATCH_CAPACITY];
    let mut e = first_element;
    let mut pos = 0;
    while pos < out.len() {
        let first_block = e / per_block;
        C::batch(g, first_block, &mut buf);
        let skip = (e - first_block * per_block) as usize;
        let take = (batch_len - skip).min(out.len() - pos);
        out[pos..pos + take].copy_from_slice(&buf[skip..skip + take]);
        pos += take;
        e += take as u64;
    }
}

fn fill_parallel<C: Conversion>(
    seed: u64,
    stream: u64,
    counter_offset: u64,
    out: &mut [C::Elem],
) -> Result<()> {
    check_counter_range(counter_offset, out.len())?;
    let g = Philox::new(seed, stream);
    for_each_chunk_mut(out, TASK_ELEMENTS, &|chunk, part| {
        let first = counter_offset + (chunk * TASK_ELEMENTS) as u64;
        fill_serial::<C>(&g, first, part);
    });
    Ok(())
}

/// Rejects fills whose last element counter would pass 2^64 - 1.
pub fn check_counter_range(counter_offset: u64, n: usize) -> Result<()> {
    match counter_offset.checked_add(n as u64) {
        Some(_) => Ok(()),
        None => Err(Error::new(
            ErrorKind::OutOfRange,
            format!(
                "counter_offset = {counter_offset} plus n = {n} passes the 64-bit element counter"
            ),
        )),
    }
}

/// Raw 32-bit words.
pub fn fill_u32(seed: u64, stream: u64, counter_offset: u64, out: &mut [u32]) -> Result<()> {
    fill_parallel::<RawU32>(seed, stream, counter_offset, out)
}

/// Uniform floats in (0, 1), 24 random bits each.
pub fn fill_uniform_f32(
    seed: u64,
    stream: u64,
    counter_offset: u64,
    out: &mut [f32],
) -> Result<()> {
    fill_parallel::<UniformF32>(seed, stream, counter_offset, out)
}

/// Uniform doubles in (0, 1), 53 random bits each.
pub fn fill_uniform_f64(
    seed: u64,
    stream: u64,
    counter_offset: u64,
    out: &mut [f64],
) -> Result<()> {
    fill_parallel::<UniformF64>(seed, stream, counter_offset, out)
}

/// Standard normal doubles (Box-Muller).
pub fn fill_normal_f64(seed: u64, stream: u64, counter_offset: u64, out: &mut [f64]) -> Result<()> {
    fill_parallel::<NormalF64>(seed, stream, counter_offset, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_u32_follows_the_documented_block_word_mapping() {
        let g = Philox::new(7, 9);
        let mut out = [0u32; 37];
        fill_u32(7, 9, 5, &mut out).unwrap();
        for (i, &x) in out.iter().enumerate() {
            let e = 5 + i as u64;
            assert_eq!(x, g.block(e / 4)[(e % 4) as usize]);
        }
    }

    #[test]
    fn fill_uniform_f64_follows_the_documented_block_word_mapping() {
        let g = Philox::new(1, 2);
        let mut out = [0f64; 21];
        fill_uniform_f64(1, 2, 3, &mut out).unwrap();
        for (i, &x) in out.iter().enumerate() {
            let e = 3 + i as u64;
            let w = g.block(e / 2);
            let k = 2 * (e % 2) as usize;
            assert_eq!(x, u01_f64(w[k], w[k + 1]));
        }
    }

    #[test]
    fn counter_overflow_is_rejected() {
        let mut out = [0u32; 4];
        let err = fill_u32(0, 0, u64::MAX - 1, &mut out).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutOfRange);
    }
}
