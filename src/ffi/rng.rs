//! Header section "Random numbers": parallel Philox4x32-10 fills.
//!
//! Each fill writes `out[i]` for `i` in `[0, n)` from element counter
//! `e = counter_offset + i` of the Philox generator keyed by `(seed, stream)`;
//! the exact mapping is in `src/rng/fill.rs` and the header docs below.

use super::boundary::{guard, slice_mut};
use super::status::fk_status;
use crate::rng::fill;

/// Fills `out[0..n)` with raw 32-bit Philox4x32-10 words. Element `i` is word
/// `e % 4` of block `e / 4`, with `e = counter_offset + i`; block `b` is
/// `philox4x32_10(counter = {b_lo, b_hi, stream_lo, stream_hi}, key = {seed_lo, seed_hi})`.
///
/// Parallel on the library's pool; allocates nothing; bitwise identical for
/// any thread count and for any split of `[0, n)` into calls with matching
/// `counter_offset`. Thread-safe (no shared state).
///
/// `n = 0` is a no-op returning `FK_OK` (`out` may then be NULL).
/// Errors: `FK_ERR_NULL_POINTER` (`out` NULL with n > 0), `FK_ERR_MISALIGNED`,
/// `FK_ERR_OUT_OF_RANGE` (`counter_offset + n` exceeds 2^64 - 1). `out` is
/// untouched on error.
///
/// # Safety
/// `out` must point to `n` writable elements (or `n` be 0).
#[no_mangle]
pub unsafe extern "C" fn fk_rng_fill_u32(
    seed: u64,
    stream: u64,
    counter_offset: u64,
    out: *mut u32,
    n: usize,
) -> fk_status {
    guard("fk_rng_fill_u32", || {
        // SAFETY: the caller provides `n` writable `uint32_t` at `out` (header contract).
        let out = unsafe { slice_mut(out, n, "out") }?;
        fill::fill_u32(seed, stream, counter_offset, out)
    })
}

/// Fills `out[0..n)` with uniform doubles in the open interval (0, 1), 53
/// random bits each: with `e = counter_offset + i`, block `b = e / 2`, words
/// `lo = w[2 (e % 2)]`, `hi = w[2 (e % 2) + 1]`, `k = (hi << 21) | (lo >> 11)`,
/// `out[i] = k * 2^-53` (and `2^-54` when `k = 0`).
///
/// Same threading, allocation, determinism and error rules as `fk_rng_fill_u32`.
///
/// # Safety
/// `out` must point to `n` writable elements (or `n` be 0).
#[no_mangle]
pub unsafe extern "C" fn fk_rng_fill_uniform_f64(
    seed: u64,
    stream: u64,
    counter_offset: u64,
    out: *mut f64,
    n: usize,
) -> fk_status {
    guard("fk_rng_fill_uniform_f64", || {
        // SAFETY: the caller provides `n` writable `double` at `out` (header contract).
        let out = unsafe { slice_mut(out, n, "out") }?;
        fill::fill_uniform_f64(seed, stream, counter_offset, out)
    })
}

/// Fills `out[0..n)` with uniform floats in the open interval (0, 1), 24
/// random bits each: with `e = counter_offset + i`, word `w = w[e % 4]` of
/// block `e / 4`, `out[i] = (w >> 8) * 2^-24` (and `2^-25` when that is 0).
///
/// Same threading, allocation, determinism and error rules as `fk_rng_fill_u32`.
///
/// # Safety
/// `out` must point to `n` writable elements (or `n` be 0).
#[no_mangle]
pub unsafe extern "C" fn fk_rng_fill_uniform_f32(
    seed: u64,
    stream: u64,
    counter_offset: u64,
    out: *mut f32,
    n: usize,
) -> fk_status {
    guard("fk_rng_fill_uniform_f32", || {
        // SAFETY: the caller provides `n` writable `float` at `out` (header contract).
        let out = unsafe { slice_mut(out, n, "out") }?;
        fill::fill_uniform_f32(seed, stream, counter_offset, out)
    })
}

/// Fills `out[0..n)` with standard normal doubles (mean 0, variance 1) by
/// Box-Muller: with `e = counter_offset + i`, block `b = e / 2` gives
/// `u1 = u01(w0, w1)`, `u2 = u01(w2, w3)` (as in `fk_rng_fill_uniform_f64`),
/// `r = sqrt(-2 ln u1)`, `phi = 2 pi (u2 - 1/2)`; `out[i] = r cos phi` for even
/// `e`, `r sin phi` for odd `e`.
///
/// Same threading, allocation, determinism and error rules as `fk_rng_fill_u32`.
///
/// # Safety
/// `out` must point to `n` writable elements (or `n` be 0).
#[no_mangle]
pub unsafe extern "C" fn fk_rng_fill_normal_f64(
    seed: u64,
    stream: u64,
    counter_offset: u64,
    out: *mut f64,
    n: usize,
) -> fk_status {
    guard("fk_rng_fill_normal_f64", || {
        // SAFETY: the caller provides `n` writable `double` at `out` (header contract).
        let out = unsafe { slice_mut(out, n, "out") }?;
        fill::fill_normal_f64(seed, stream, counter_offset, out)
    })
}
