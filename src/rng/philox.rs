//! Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as
//! easy as 1, 2, 3", SC'11): ten rounds of a multiply-xor Feistel network map a
//! 128-bit counter and a 64-bit key to 128 random bits.
//!
//! fieldkern's keying: `key = seed` (64 bits) and
//! `counter = (block_lo, block_hi, stream_lo, stream_hi)`, i.e. the 128-bit
//! counter holds the 64-bit block index in its low half and the 64-bit stream
//! in its high half. Block `b` yields four 32-bit words `w0..w3`.

use crate::simd::u64x8;
use crate::simd::widening::{mul_low32_wide, pack_low32};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// The Random123 reference function: `philox4x32_10(counter, key)`.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let p0 = u64::from(M0) * u64::from(c0);
        let p1 = u64::from(M1) * u64::from(c2);
        (c0, c1, c2, c3) = (
            (p1 >> 32) as u32 ^ c1 ^ k0,
            p1 as u32,
            (p0 >> 32) as u32 ^ c3 ^ k1,
            p0 as u32,
        );
    }
    [c0, c1, c2, c3]
}

/// Blocks computed together by [`Philox::blocks16`].
pub const BATCH_BLOCKS: usize = 16;

/// Four word vectors of [`BATCH_BLOCKS`] consecutive blocks: `words[w][j]` is
/// word `w` of block `first + j`.
pub type BlockBatch = [[u32; BATCH_BLOCKS]; 4];

/// A keyed Philox4x32-10 generator: `(seed, stream)` fixed, blocks addressed
/// by a 64-bit index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Philox {
    key: [u32; 2],
    stream: [u32; 2],
}

impl Philox {
    pub fn new(seed: u64, stream: u64) -> Self {
        Self {
            key: [seed as u32, (seed >> 32) as u32],
            stream: [stream as u32, (stream >> 32) as u32],
        }
    }

    /// Words `w0..w3` of block `block`.
    #[inline]
    pub fn block(&self, block: u64) -> [u32; 4] {
        philox4x32_10(
            [
                block as u32,
                (block >> 32) as u32,
                self.stream[0],
                self.stream[1],
            ],
            self.key,
        )
    }

    /// Blocks at eight arbitrary counters, one per lane, in SIMD: lane `l`
    /// of `out[w]` holds word `w` of block `counters[l]` (high 32 bits
    /// zero). Bitwise equal to [`Self::block`].
    #[inline]
    pub fn blocks8_at(&self, counters: [u64; 8]) -> [u64x8; 4] {
        let low = u64x8::splat(0xFFFF_FFFF);
        let c = u64x8::new(counters);
        philox_rounds_u64x8([c & low, c >> 32], self.stream, self.key).map(|w| w & low)
    }

    /// Blocks `first .. first + 16` in SIMD. Bitwise equal to [`Self::block`].
    ///
    /// Each 32-bit Philox word lives in the low half of a 64-bit lane (eight
    /// blocks per `u64x8`), so the 32 x 32 -> 64-bit products of a round are
    /// plain lane multiplies (`vpmuludq` on x86: the compiler sees the operands
    /// fit in 32 bits) with the high word one shift away: no shuffles inside
    /// the ten rounds, only one pack per output word at the end.
    #[inline]
    pub fn blocks16(&self, first: u64) -> BlockBatch {
        let low = u64x8::splat(0xFFFF_FFFF);
        let lanes = |start: u64| {
            let b: [u64; 8] = core::array::from_fn(|j| start.wrapping_add(j as u64));
            let b = u64x8::new(b);
            (b & low, b >> 32)
        };
        let (lo_a, hi_a) = lanes(first);
        let (lo_b, hi_b) = lanes(first.wrapping_add(8));
        let a = philox_rounds_u64x8([lo_a, hi_a], self.stream, self.key);
        let b = philox_rounds_u64x8([lo_b, hi_b], self.stream, self.key);
        core::array::from_fn(|w| pack_low32(a[w], b[w]).to_array())
    }
}

/// Ten Philox4x32 rounds on eight blocks, one 32-bit word per 64-bit lane:
/// `block = (c0, c1)` low counter words; `stream`, `key` as in [`Philox`].
/// Only the low 32 bits of each returned lane are the output word.
#[inline(always)]
fn philox_rounds_u64x8(block: [u64x8; 2], stream: [u32; 2], key: [u32; 2]) -> [u64x8; 4] {
    let [mut c0, mut c1] = block;
    let mut c2 = u64x8::splat(u64::from(stream[0]));
    let mut c3 = u64x8::splat(u64::from(stream[1]));
    let (mut k0, mut k1) = (key[0], key[1]);
    let m0 = u64x8::splat(u64::from(M0));
    let m1 = u64x8::splat(u64::from(M1));
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let p0 = mul_low32_wide(c0, m0);
        let p1 = mul_low32_wide(c2, m1);
        (c0, c1, c2, c3) = (
            (p1 >> 32) ^ c1 ^ u64x8::splat(u64::from(k0)),
            p1,
            (p0 >> 32) ^ c3 ^ u64x8::splat(u64::from(k1)),
            p0,
        );
    }
    [c0, c1, c2, c3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks8_at_equals_one_block_at_a_time() {
        let g = Philox::new(0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210);
        for first in [0u64, 1, (1 << 32) - 3, u64::MAX - 7, 0xDEAD_BEEF_0000_1234] {
            let counters: [u64; 8] =
                core::array::from_fn(|l| first.wrapping_add(l as u64 * 0x1_0000_0001));
            let w = g.blocks8_at(counters).map(|w| w.to_array());
            for (l, &c) in counters.iter().enumerate() {
                let got = [w[0][l], w[1][l], w[2][l], w[3][l]];
                assert_eq!(got, g.block(c).map(u64::from), "counter {c:#x}");
            }
        }
    }

    /// Random123 `kat_vectors`, philox4x32 10: counter, key, expected output.
    const KNOWN_ANSWERS: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0; 4],
            [0; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];

    #[test]
    fn philox4x32_10_matches_random123_known_answers() {
        for (counter, key, expected) in KNOWN_ANSWERS {
            assert_eq!(philox4x32_10(counter, key), expected);
        }
    }

    #[test]
    fn keying_puts_seed_in_key_and_stream_in_counter_high_half() {
        for (counter, key, expected) in KNOWN_ANSWERS {
            let seed = u64::from(key[0]) | u64::from(key[1]) << 32;
            let stream = u64::from(counter[2]) | u64::from(counter[3]) << 32;
            let block = u64::from(counter[0]) | u64::from(counter[1]) << 32;
            assert_eq!(Philox::new(seed, stream).block(block), expected);
        }
    }

    #[test]
    fn simd_batch_equals_scalar_blocks_across_the_32_bit_carry() {
        let g = Philox::new(0x0123_4567_89ab_cdef, 42);
        for first in [0u64, 7, u32::MAX as u64 - 5, u64::MAX - 3] {
            let batch = g.blocks16(first);
            for j in 0..BATCH_BLOCKS {
                let want = g.block(first.wrapping_add(j as u64));
                let got = [batch[0][j], batch[1][j], batch[2][j], batch[3][j]];
                assert_eq!(got, want, "first = {first}, lane {j}");
            }
        }
    }
}
