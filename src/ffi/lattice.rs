//! Header section "Monte Carlo: lattices and jump processes": the BTW
//! sandpile, Gillespie trajectories of Markov jump processes, the 1D mass
//! transport lattice and the coffee automaton.
//!
//! Thin layer: argument checks, pointer-to-slice conversion, calls into
//! `src/mc/`. Handles are opaque, tagged (`FK_ERR_WRONG_HANDLE` for a wrong or
//! destroyed handle where detectable) and must not be used by two threads at
//! once; distinct handles may be used concurrently.

use super::boundary::{guard, guard_value, slice, slice_mut};
use super::handle::{self, check_out, publish, read_params, value_mut, value_ref, Opaque, Params};
use super::status::fk_status;
use crate::error::{Error, ErrorKind, Result};
use crate::mc::coffee::{Coffee, CoffeeVariant};
use crate::mc::gillespie::{GillespieBatch, RateMatrix};
use crate::mc::sandpile::{Avalanche, Sandpile};
use crate::mc::transport::{MassLattice, TransportRule};
use crate::rng::pcg::SeqRngState;

fn size_mismatch(name: &str, n: usize, want: usize, what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidSize,
        format!("argument `{name}`: n = {n}, but {what} = {want}"),
    )
}

/// Optional output array: NULL means "not wanted".
///
/// # Safety
/// As for `boundary::slice_mut` when `ptr` is non-NULL.
unsafe fn optional_mut<'a, T>(ptr: *mut T, n: usize, name: &str) -> Result<Option<&'a mut [T]>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded caller contract.
        unsafe { slice_mut(ptr, n, name) }.map(Some)
    }
}

// ---------------------------------------------------------------------------
// Sandpile
// ---------------------------------------------------------------------------

/// An Abelian (BTW) sandpile on an L x L square lattice with open boundaries,
/// with its own PCG64 stream for random drives. Opaque; create with
/// `fk_sandpile_create`, free with `fk_sandpile_destroy`.
#[allow(non_camel_case_types)]
pub struct fk_sandpile {
    _opaque: [u8; 0],
}

impl Opaque for fk_sandpile {
    type Value = Sandpile;
    const MAGIC: u64 = 0x666b_5341_4e44_5031; // "fkSANDP1"
    const KIND: &'static str = "fk_sandpile";
}

/// Parameters of `fk_sandpile_create`. Get defaults from
/// `fk_sandpile_params_default()`, then change fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_sandpile_params {
    /// `sizeof(fk_sandpile_params)`, set by `fk_sandpile_params_default()`.
    pub struct_size: u32,
    /// Side length L (sites are `y * L + x`, 0 <= x, y < L); 1..=65536. Default 64.
    pub side: u32,
    /// Seed of the random-drive stream (PCG64). Default 0.
    pub seed: u64,
    /// Stream number of the random-drive stream. Default 0.
    pub stream: u64,
}

// SAFETY: repr(C), Copy, plain integers, struct_size: u32 first.
unsafe impl Params for fk_sandpile_params {
    const NAME: &'static str = "fk_sandpile_params";
    fn defaults() -> Self {
        fk_sandpile_params_default()
    }
}

const SANDPILE_DEFAULTS: fk_sandpile_params = fk_sandpile_params {
    struct_size: std::mem::size_of::<fk_sandpile_params>() as u32,
    side: 64,
    seed: 0,
    stream: 0,
};

/// Default sandpile parameters: L = 64, seed 0, stream 0, `struct_size` set.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn fk_sandpile_params_default() -> fk_sandpile_params {
    guard_value("fk_sandpile_params_default", SANDPILE_DEFAULTS, || {
        SANDPILE_DEFAULTS
    })
}

/// Creates an L x L sandpile with all heights 0 (use `fk_sandpile_set_heights`
/// to start elsewhere, e.g. from the recurrent all-3 state). Allocates all
/// storage (heights, two toppling stacks of L^2 entries, activity counters);
/// later calls never allocate. The caller owns `*out` and frees it with
/// `fk_sandpile_destroy`.
///
/// Errors: `FK_ERR_NULL_POINTER` (`params` or `out` NULL),
/// `FK_ERR_STRUCT_SIZE`, `FK_ERR_OUT_OF_RANGE` (side 0 or > 65536). `*out` is
/// written only on success.
///
/// # Safety
/// `params` must point to a readable `fk_sandpile_params`; `out` to writable
/// storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_create(
    params: *const fk_sandpile_params,
    out: *mut *mut fk_sandpile,
) -> fk_status {
    guard("fk_sandpile_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let s = Sandpile::new(p.side as usize, p.seed, p.stream)?;
        // SAFETY: `out` checked above.
        unsafe { publish::<fk_sandpile>(out, s) };
        Ok(())
    })
}

/// Frees a sandpile. NULL is a no-op (`FK_OK`); a pointer that is not a live
/// sandpile gives `FK_ERR_WRONG_HANDLE` and is not freed.
///
/// # Safety
/// `sp` must be NULL or a handle from `fk_sandpile_create` not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_destroy(sp: *mut fk_sandpile) -> fk_status {
    guard("fk_sandpile_destroy", || {
        // SAFETY: caller contract.
        unsafe { handle::destroy(sp, "sp") }
    })
}

/// Adds `grains` grains, each at a uniformly random site drawn from the
/// handle's PCG64 stream, relaxing after each (topple at height >= 4, grains
/// leave at the open edges). For grain `k`, writes the avalanche's `sizes[k]`
/// (topplings), `areas[k]` (distinct sites toppled) and `durations[k]`
/// (parallel-update generations; 0 if nothing toppled). Each of the three
/// arrays may be NULL if not wanted. Activity counters
/// (`fk_sandpile_get_activity`) accumulate.
///
/// Sequential; allocates nothing. Deterministic: the same heights and RNG
/// state (`fk_sandpile_get_rng_state`) give the same avalanches.
///
/// Errors: `FK_ERR_NULL_POINTER` (`sp`), `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_MISALIGNED`. Nothing changes on error.
///
/// # Safety
/// `sp` a live handle; each non-NULL array has `grains` writable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_drive(
    sp: *mut fk_sandpile,
    grains: usize,
    sizes: *mut u64,
    areas: *mut u64,
    durations: *mut u64,
) -> fk_status {
    guard("fk_sandpile_drive", || {
        // SAFETY: caller contract (header) for the handle and the arrays.
        let mut s = unsafe { value_mut(sp, "sp") }?;
        let mut sizes = unsafe { optional_mut(sizes, grains, "sizes") }?;
        let mut areas = unsafe { optional_mut(areas, grains, "areas") }?;
        let mut durations = unsafe { optional_mut(durations, grains, "durations") }?;
        s.drive_random(grains, |k, a| {
            record(k, a, &mut sizes, &mut areas, &mut durations)
        });
        Ok(())
    })
}

fn record(
    k: usize,
    a: Avalanche,
    sizes: &mut Option<&mut [u64]>,
    areas: &mut Option<&mut [u64]>,
    durations: &mut Option<&mut [u64]>,
) {
    if let Some(v) = sizes {
        v[k] = a.size;
    }
    if let Some(v) = areas {
        v[k] = a.area;
    }
    if let Some(v) = durations {
        v[k] = a.duration;
    }
}

/// Adds one grain at each of `sites[0..n)` in order (site = `y * L + x`),
/// relaxing after each; writes per-grain `sizes`, `areas`, `durations` as
/// `fk_sandpile_drive` does (each may be NULL). The random stream is not used.
///
/// Errors: `FK_ERR_NULL_POINTER` (`sp`, or `sites` with n > 0),
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_OUT_OF_RANGE` (a site >= L^2; the message
/// names its index), `FK_ERR_MISALIGNED`. All sites are checked before any
/// grain is added: nothing changes on error.
///
/// # Safety
/// `sp` a live handle; `sites` has `n` readable elements; each non-NULL output
/// array has `n` writable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_add_grains(
    sp: *mut fk_sandpile,
    sites: *const usize,
    n: usize,
    sizes: *mut u64,
    areas: *mut u64,
    durations: *mut u64,
) -> fk_status {
    guard("fk_sandpile_add_grains", || {
        // SAFETY: caller contract (header) for the handle and the arrays.
        let mut s = unsafe { value_mut(sp, "sp") }?;
        let sites = unsafe { slice(sites, n, "sites") }?;
        let mut sizes = unsafe { optional_mut(sizes, n, "sizes") }?;
        let mut areas = unsafe { optional_mut(areas, n, "areas") }?;
        let mut durations = unsafe { optional_mut(durations, n, "durations") }?;
        for (k, &site) in sites.iter().enumerate() {
            s.check_site(site)
                .map_err(|e| Error::new(e.kind, format!("sites[{k}]: {}", e.message)))?;
        }
        for (k, &site) in sites.iter().enumerate() {
            let a = s.add_grain(site);
            record(k, a, &mut sizes, &mut areas, &mut durations);
        }
        Ok(())
    })
}

/// Copies the L^2 heights (0..3, row-major `y * L + x`) into `heights`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != L^2).
///
/// # Safety
/// `sp` a live handle; `heights` has `n` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_get_heights(
    sp: *const fk_sandpile,
    heights: *mut u8,
    n: usize,
) -> fk_status {
    guard("fk_sandpile_get_heights", || {
        // SAFETY: caller contract (header).
        let s = unsafe { value_ref(sp, "sp") }?;
        if n != s.sites() {
            return Err(size_mismatch("heights", n, s.sites(), "L^2"));
        }
        let out = unsafe { slice_mut(heights, n, "heights") }?;
        out.copy_from_slice(s.heights());
        Ok(())
    })
}

/// Replaces the configuration with `heights[0..n)` (row-major, each 0..3).
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != L^2), `FK_ERR_OUT_OF_RANGE` (a height > 3;
/// the message names the first such index). Nothing changes on error.
///
/// # Safety
/// `sp` a live handle; `heights` has `n` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_set_heights(
    sp: *mut fk_sandpile,
    heights: *const u8,
    n: usize,
) -> fk_status {
    guard("fk_sandpile_set_heights", || {
        // SAFETY: caller contract (header).
        let mut s = unsafe { value_mut(sp, "sp") }?;
        if n != s.sites() {
            return Err(size_mismatch("heights", n, s.sites(), "L^2"));
        }
        let h = unsafe { slice(heights, n, "heights") }?;
        s.set_heights(h)
    })
}

/// Copies the L^2 site-activity counters into `activity`: `activity[i]` is the
/// number of avalanches in which site i toppled at least once since creation
/// or the last `fk_sandpile_reset_activity`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != L^2).
///
/// # Safety
/// `sp` a live handle; `activity` has `n` writable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_get_activity(
    sp: *const fk_sandpile,
    activity: *mut u64,
    n: usize,
) -> fk_status {
    guard("fk_sandpile_get_activity", || {
        // SAFETY: caller contract (header).
        let s = unsafe { value_ref(sp, "sp") }?;
        if n != s.sites() {
            return Err(size_mismatch("activity", n, s.sites(), "L^2"));
        }
        let out = unsafe { slice_mut(activity, n, "activity") }?;
        out.copy_from_slice(s.activity());
        Ok(())
    })
}

/// Sets all site-activity counters to 0.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `sp` a live handle.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_reset_activity(sp: *mut fk_sandpile) -> fk_status {
    guard("fk_sandpile_reset_activity", || {
        // SAFETY: caller contract (header).
        let mut s = unsafe { value_mut(sp, "sp") }?;
        s.reset_activity();
        Ok(())
    })
}

/// Copies the random-drive stream's state (4 words: PCG64 state lo, hi,
/// stream lo, hi) into `state`, for checkpoints.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != 4).
///
/// # Safety
/// `sp` a live handle; `state` has `n` writable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_get_rng_state(
    sp: *const fk_sandpile,
    state: *mut u64,
    n: usize,
) -> fk_status {
    guard("fk_sandpile_get_rng_state", || {
        // SAFETY: caller contract (header).
        let s = unsafe { value_ref(sp, "sp") }?;
        if n != 4 {
            return Err(size_mismatch("state", n, 4, "the state size"));
        }
        let out = unsafe { slice_mut(state, n, "state") }?;
        out.copy_from_slice(&s.rng_state().to_words());
        Ok(())
    })
}

/// Restores the random-drive stream from 4 words written by
/// `fk_sandpile_get_rng_state`; with the heights restored too, the following
/// drive repeats bitwise.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != 4), `FK_ERR_OUT_OF_RANGE` (top bit of
/// `state[3]` set: not a state `fk_sandpile_get_rng_state` can write).
///
/// # Safety
/// `sp` a live handle; `state` has `n` readable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_set_rng_state(
    sp: *mut fk_sandpile,
    state: *const u64,
    n: usize,
) -> fk_status {
    guard("fk_sandpile_set_rng_state", || {
        // SAFETY: caller contract (header).
        let mut s = unsafe { value_mut(sp, "sp") }?;
        if n != 4 {
            return Err(size_mismatch("state", n, 4, "the state size"));
        }
        let w = unsafe { slice(state, n, "state") }?;
        s.set_rng_state(checked_rng_state([w[0], w[1], w[2], w[3]])?);
        Ok(())
    })
}

/// Reserves scratch so that `fk_sandpile_activity_all_sources` runs on up to
/// `workers` threads of the library's pool (it uses min(workers,
/// fk_get_num_threads())); 0 or 1 frees it (one thread, the default). Each
/// worker holds its own copy of the configuration, relaxation stacks and
/// counts: about 21 L^2 bytes (0.5 MB at L = 160). The only allocation of
/// the all-sources activity happens here. Errors: `FK_ERR_OUT_OF_RANGE`
/// (`workers` above 4096), `FK_ERR_OUT_OF_MEMORY`, `FK_ERR_NULL_POINTER`,
/// `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `sp` a live handle.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_reserve_activity_workers(
    sp: *mut fk_sandpile,
    workers: u32,
) -> fk_status {
    guard("fk_sandpile_reserve_activity_workers", || {
        // SAFETY: caller contract (header).
        let mut s = unsafe { value_mut(sp, "sp") }?;
        s.reserve_activity_workers(workers as usize)
    })
}

/// Site activity summed over all sources (Ganguly, arXiv:2510.09631): for the
/// current configuration C, writes `activity[R] = A(R) = sum_{R'} N(R, R')`,
/// where N(R, R') is the number of topplings of site R when ONE grain is
/// added at R' to C and relaxed, each source starting again from the same C
/// (L^2 avalanches; dimensionless counts, row-major `R = y * L + x`).
/// Averaged over recurrent configurations, E[A(R)] = sum_{R'} G(R, R') with
/// G = Delta^-1 the toppling Green's function (open boundaries).
///
/// The configuration, the per-drive activity counters and the random stream
/// are unchanged afterwards; no allocation (scratch reserved at create and
/// by `fk_sandpile_reserve_activity_workers`). Runs on one thread unless
/// workers were reserved; then the sources are shared out by rows over
/// min(workers, fk_get_num_threads()) threads, with the same result for any
/// count (integer sums). `out_total` (may be NULL) receives sum_R A(R), the
/// total topplings. Not thread-safe on one handle (a concurrent call gives
/// `FK_ERR_BUSY`).
///
/// Errors: `FK_ERR_NULL_POINTER` (`sp` or `activity`), `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != L^2). On error nothing is written.
///
/// # Safety
/// `sp` a live handle; `activity` has `n` writable elements; `out_total` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_sandpile_activity_all_sources(
    sp: *mut fk_sandpile,
    activity: *mut u64,
    n: usize,
    out_total: *mut u64,
) -> fk_status {
    guard("fk_sandpile_activity_all_sources", || {
        // SAFETY: caller contract (header).
        let mut s = unsafe { value_mut(sp, "sp") }?;
        if n != s.sites() {
            return Err(size_mismatch("activity", n, s.sites(), "L^2"));
        }
        // SAFETY: caller contract (header): `n` writable elements;
        // `out_total` NULL or one writable element.
        let out = unsafe { slice_mut(activity, n, "activity") }?;
        let total_slot = unsafe { optional_mut(out_total, 1, "out_total") }?;
        let total = s.site_activity_all_sources(out)?;
        if let Some(t) = total_slot {
            t[0] = total;
        }
        Ok(())
    })
}

/// A saved PCG64 stream word is the increment shifted right by one, so its
/// top bit is always clear.
pub(crate) fn checked_rng_state(w: [u64; 4]) -> Result<SeqRngState> {
    if w[3] >> 63 != 0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!(
                "state[3] = {:#x} has its top bit set: not a saved PCG64 state",
                w[3]
            ),
        ));
    }
    Ok(SeqRngState::from_words(w))
}

// ---------------------------------------------------------------------------
// Gillespie trajectories of Markov jump processes
// ---------------------------------------------------------------------------

/// A batch of independent Gillespie trajectories of one Markov jump process
/// (finite state space, rate matrix Q). Opaque; create with
/// `fk_gillespie_create`, free with `fk_gillespie_destroy`.
#[allow(non_camel_case_types)]
pub struct fk_gillespie {
    _opaque: [u8; 0],
}

impl Opaque for fk_gillespie {
    type Value = GillespieBatch;
    const MAGIC: u64 = 0x666b_4749_4c4c_5331; // "fkGILLS1"
    const KIND: &'static str = "fk_gillespie";
}

/// Parameters of `fk_gillespie_create`. Get defaults from
/// `fk_gillespie_params_default()`, then change fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_gillespie_params {
    /// `sizeof(fk_gillespie_params)`, set by `fk_gillespie_params_default()`.
    pub struct_size: u32,
    /// Number of states n (the rate matrix is n x n). Default 2.
    pub n_states: u32,
    /// Number of trajectories, 1..=2^28. Default 1024.
    pub n_trajectories: u64,
    /// Philox seed. Default 0.
    pub seed: u64,
    /// Philox stream (low 48 bits used). Default 0.
    pub stream: u64,
    /// A row of Q may sum to at most this times its largest magnitude. Default 1e-9.
    pub row_sum_tolerance: f64,
    /// Standard deviation of Gaussian noise added to observations; 0 = none. Default 0.
    pub noise_sd: f64,
}

// SAFETY: repr(C), Copy, plain numbers, struct_size: u32 first.
unsafe impl Params for fk_gillespie_params {
    const NAME: &'static str = "fk_gillespie_params";
    fn defaults() -> Self {
        fk_gillespie_params_default()
    }
}

const GILLESPIE_DEFAULTS: fk_gillespie_params = fk_gillespie_params {
    struct_size: std::mem::size_of::<fk_gillespie_params>() as u32,
    n_states: 2,
    n_trajectories: 1024,
    seed: 0,
    stream: 0,
    row_sum_tolerance: 1e-9,
    noise_sd: 0.0,
};

/// Default Gillespie parameters (2 states, 1024 trajectories, seed 0, stream
/// 0, row-sum tolerance 1e-9, no noise), `struct_size` set. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_gillespie_params_default() -> fk_gillespie_params {
    guard_value("fk_gillespie_params_default", GILLESPIE_DEFAULTS, || {
        GILLESPIE_DEFAULTS
    })
}

/// Creates a batch of `n_trajectories` trajectories of the jump process with
/// rate matrix `rates` (n x n row-major, n = `n_states`, `n_rates` = n^2;
/// `rates[i*n + j]` = rate of i -> j in inverse time units for i != j, rows
/// summing to 0). All trajectories start in state 0 at time 0
/// (`fk_gillespie_set_states` to change). The rate matrix is copied; the caller
/// owns `*out` and frees it with `fk_gillespie_destroy`.
///
/// Errors: `FK_ERR_NULL_POINTER` (`params`, `rates`, `out`),
/// `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE` (`n_states` 0, `n_rates` !=
/// n^2), `FK_ERR_NON_FINITE` (NaN/Inf rate, tolerance or noise; the message
/// names the entry), `FK_ERR_OUT_OF_RANGE` (negative off-diagonal rate, a row
/// not summing to 0, `n_trajectories` 0 or > 2^28, negative tolerance or
/// noise). `*out` is written only on success.
///
/// # Safety
/// `params` readable; `rates` has `n_rates` readable doubles; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_gillespie_create(
    params: *const fk_gillespie_params,
    rates: *const f64,
    n_rates: usize,
    out: *mut *mut fk_gillespie,
) -> fk_status {
    guard("fk_gillespie_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let q = unsafe { slice(rates, n_rates, "rates") }?;
        if !p.row_sum_tolerance.is_finite() {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("row_sum_tolerance = {}", p.row_sum_tolerance),
            ));
        }
        let matrix = RateMatrix::new(q, p.n_states as usize, p.row_sum_tolerance)?;
        let trajectories = usize::try_from(p.n_trajectories).unwrap_or(usize::MAX);
        let mut b = GillespieBatch::new(matrix, trajectories, p.seed, p.stream)?;
        b.set_noise(p.noise_sd)?;
        // SAFETY: `out` checked above.
        unsafe { publish::<fk_gillespie>(out, b) };
        Ok(())
    })
}

/// Frees a Gillespie batch. NULL is a no-op (`FK_OK`); a pointer that is not a
/// live batch gives `FK_ERR_WRONG_HANDLE` and is not freed.
///
/// # Safety
/// `g` must be NULL or a handle from `fk_gillespie_create` not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn fk_gillespie_destroy(g: *mut fk_gillespie) -> fk_status {
    guard("fk_gillespie_destroy", || {
        // SAFETY: caller contract.
        unsafe { handle::destroy(g, "g") }
    })
}

/// Restarts trajectory k in state `states[k]` at time `time` (n =
/// `n_trajectories`); the random sequence of every trajectory starts over.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`
/// (`n` != n_trajectories), `FK_ERR_OUT_OF_RANGE` (a state >= n_states),
/// `FK_ERR_NON_FINITE` (`time`). Nothing changes on error.
///
/// # Safety
/// `g` a live handle; `states` has `n` readable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_gillespie_set_states(
    g: *mut fk_gillespie,
    states: *const u32,
    n: usize,
    time: f64,
) -> fk_status {
    guard("fk_gillespie_set_states", || {
        // SAFETY: caller contract (header).
        let mut b = unsafe { value_mut(g, "g") }?;
        if n != b.trajectories() {
            return Err(size_mismatch(
                "states",
                n,
                b.trajectories(),
                "n_trajectories",
            ));
        }
        let s = unsafe { slice(states, n, "states") }?;
        b.set_states(s, time)
    })
}

/// Sets the value observed in each state (`values[i]` for state i, n =
/// `n_states`); the default is the state index. Observations are
/// `values[state] + noise_sd * N(0, 1)`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`,
/// `FK_ERR_NON_FINITE`. Nothing changes on error.
///
/// # Safety
/// `g` a live handle; `values` has `n` readable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_gillespie_set_observable(
    g: *mut fk_gillespie,
    values: *const f64,
    n: usize,
) -> fk_status {
    guard("fk_gillespie_set_observable", || {
        // SAFETY: caller contract (header).
        let mut b = unsafe { value_mut(g, "g") }?;
        if n != b.states() {
            return Err(size_mismatch("values", n, b.states(), "n_states"));
        }
        let v = unsafe { slice(values, n, "values") }?;
        b.set_observable(v)
    })
}

/// Advances every trajectory through the time grid `times[0..n_times)`
/// (finite, non-decreasing, not before the batch's current time) by the
/// Gillespie direct method, and writes the state of trajectory k at
/// `times[m]` to `states[k * n_times + m]`. If `observations` is not NULL it
/// receives, in the same layout, `values[state] + noise_sd * N(0, 1)`.
/// `n_out` is the length of `states` (and of `observations`) and must equal
/// n_trajectories * n_times. The batch's time becomes `times[n_times - 1]`; a
/// following call continues every trajectory bitwise as one longer call would.
///
/// Parallel over trajectories on the library's pool; trajectory k draws from
/// Philox keyed by (seed, stream) at counters set by (k, jump number), so
/// results are bitwise identical for any thread count. Allocates nothing.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`
/// (`n_out` wrong), `FK_ERR_NON_FINITE` (a time NaN/Inf),
/// `FK_ERR_OUT_OF_RANGE` (a time decreasing or before the current time),
/// `FK_ERR_MISALIGNED`. Nothing changes on error.
///
/// # Safety
/// `g` a live handle; `times` has `n_times` readable elements; `states` (and
/// `observations` if not NULL) has `n_out` writable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_gillespie_run(
    g: *mut fk_gillespie,
    times: *const f64,
    n_times: usize,
    states: *mut u32,
    observations: *mut f64,
    n_out: usize,
) -> fk_status {
    guard("fk_gillespie_run", || {
        // SAFETY: caller contract (header) for the handle and the arrays.
        let mut b = unsafe { value_mut(g, "g") }?;
        let t = unsafe { slice(times, n_times, "times") }?;
        let want = b.trajectories().saturating_mul(n_times);
        if n_out != want {
            return Err(size_mismatch(
                "states",
                n_out,
                want,
                "n_trajectories * n_times",
            ));
        }
        let s = unsafe { slice_mut(states, n_out, "states") }?;
        let o = unsafe { optional_mut(observations, n_out, "observations") }?;
        b.run(t, s, o)
    })
}

/// Copies the current state of every trajectory (n = `n_trajectories`) and
/// writes the batch's current time to `*out_time` (may be NULL).
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`.
///
/// # Safety
/// `g` a live handle; `states` has `n` writable elements; `out_time` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fk_gillespie_get_states(
    g: *const fk_gillespie,
    states: *mut u32,
    n: usize,
    out_time: *mut f64,
) -> fk_status {
    guard("fk_gillespie_get_states", || {
        // SAFETY: caller contract (header).
        let b = unsafe { value_ref(g, "g") }?;
        if n != b.trajectories() {
            return Err(size_mismatch(
                "states",
                n,
                b.trajectories(),
                "n_trajectories",
            ));
        }
        let s = unsafe { slice_mut(states, n, "states") }?;
        let t = unsafe { optional_mut(out_time, 1, "out_time") }?;
        b.current_states(s)?;
        if let Some(t) = t {
            t[0] = b.time();
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// 1D mass transport
// ---------------------------------------------------------------------------

/// A ring of integer masses under one 1D transport rule (KMP diffusion,
/// directed/aggregating transfer, chipping, injection). Opaque; create with
/// `fk_mass_transport_create`, free with `fk_mass_transport_destroy`.
#[allow(non_camel_case_types)]
pub struct fk_mass_transport {
    _opaque: [u8; 0],
}

impl Opaque for fk_mass_transport {
    type Value = MassLattice;
    const MAGIC: u64 = 0x666b_4d41_5353_5431; // "fkMASST1"
    const KIND: &'static str = "fk_mass_transport";
}

/// Parameters of `fk_mass_transport_create`. Each bond update is, with
/// probability `p_diffuse`, a KMP redistribution of the pair's total
/// (`m_a = floor(u s)`, `m_b = s - m_a`); else with probability `p_transfer`
/// a directed transfer of `min(m, floor(f m) + chip)` from a random one of the
/// two sites to the other (`f = transfer_fraction`, times a uniform u if
/// `random_fraction`); else nothing. `injection` units are added to every site
/// after each sweep. KMP: p_diffuse 1. Takayasu aggregation with injection:
/// p_transfer 1, transfer_fraction 1, injection 1. Chipping: p_transfer 1,
/// transfer_fraction 0, chip 1.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_mass_transport_params {
    /// `sizeof(fk_mass_transport_params)`, set by `fk_mass_transport_params_default()`.
    pub struct_size: u32,
    /// 1: the transferred fraction is `transfer_fraction * u`, u uniform; 0: fixed. Default 0.
    pub random_fraction: u32,
    /// Number of sites L of the ring (even, >= 2). Default 1024.
    pub sites: u64,
    /// Philox seed. Default 0.
    pub seed: u64,
    /// Philox stream (low 48 bits used). Default 0.
    pub stream: u64,
    /// Probability of a KMP redistribution per bond update, in [0, 1]. Default 1.
    pub p_diffuse: f64,
    /// Probability of a directed transfer per bond update; p_diffuse + p_transfer <= 1. Default 0.
    pub p_transfer: f64,
    /// Fraction of the donor's mass moved by a transfer, in [0, 1]. Default 0.
    pub transfer_fraction: f64,
    /// Extra units moved by a transfer (capped by the donor's mass). Default 0.
    pub chip: u64,
    /// Units added to every site after each sweep. Default 0.
    pub injection: u64,
}

// SAFETY: repr(C), Copy, plain numbers, struct_size: u32 first.
unsafe impl Params for fk_mass_transport_params {
    const NAME: &'static str = "fk_mass_transport_params";
    fn defaults() -> Self {
        fk_mass_transport_params_default()
    }
}

const TRANSPORT_DEFAULTS: fk_mass_transport_params = fk_mass_transport_params {
    struct_size: std::mem::size_of::<fk_mass_transport_params>() as u32,
    random_fraction: 0,
    sites: 1024,
    seed: 0,
    stream: 0,
    p_diffuse: 1.0,
    p_transfer: 0.0,
    transfer_fraction: 0.0,
    chip: 0,
    injection: 0,
};

/// Default mass-transport parameters: KMP on 1024 sites, seed 0, stream 0,
/// `struct_size` set. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_mass_transport_params_default() -> fk_mass_transport_params {
    guard_value(
        "fk_mass_transport_params_default",
        TRANSPORT_DEFAULTS,
        || TRANSPORT_DEFAULTS,
    )
}

/// Creates a ring of `sites` masses, all 0, sweep counter 0 (set them with
/// `fk_mass_transport_set_masses`). The caller owns `*out` and frees it with
/// `fk_mass_transport_destroy`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`
/// (sites odd or < 2), `FK_ERR_NON_FINITE` (a probability or fraction NaN),
/// `FK_ERR_OUT_OF_RANGE` (a probability or fraction outside [0, 1], their sum
/// > 1, `random_fraction` not 0 or 1). `*out` is written only on success.
///
/// # Safety
/// `params` readable; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_mass_transport_create(
    params: *const fk_mass_transport_params,
    out: *mut *mut fk_mass_transport,
) -> fk_status {
    guard("fk_mass_transport_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        if p.random_fraction > 1 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("random_fraction = {} must be 0 or 1", p.random_fraction),
            ));
        }
        let rule = TransportRule {
            p_diffuse: p.p_diffuse,
            p_transfer: p.p_transfer,
            transfer_fraction: p.transfer_fraction,
            random_fraction: p.random_fraction == 1,
            chip: p.chip,
            injection: p.injection,
        };
        let sites = usize::try_from(p.sites).unwrap_or(usize::MAX);
        let m = MassLattice::new(sites, rule, p.seed, p.stream)?;
        // SAFETY: `out` checked above.
        unsafe { publish::<fk_mass_transport>(out, m) };
        Ok(())
    })
}

/// Frees a mass-transport ring. NULL is a no-op (`FK_OK`); a pointer that is
/// not a live ring gives `FK_ERR_WRONG_HANDLE` and is not freed.
///
/// # Safety
/// `mt` must be NULL or a handle from `fk_mass_transport_create` not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn fk_mass_transport_destroy(mt: *mut fk_mass_transport) -> fk_status {
    guard("fk_mass_transport_destroy", || {
        // SAFETY: caller contract.
        unsafe { handle::destroy(mt, "mt") }
    })
}

/// Sets the masses (`n` = sites, integer units) and the sweep counter (the
/// Philox counter of the next sweep: pass the value from
/// `fk_mass_transport_get_masses` to resume a checkpoint bitwise, 0 to start).
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`
/// (`n` != sites), `FK_ERR_OUT_OF_RANGE` (total mass > 2^64 - 1). Nothing
/// changes on error.
///
/// # Safety
/// `mt` a live handle; `masses` has `n` readable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_mass_transport_set_masses(
    mt: *mut fk_mass_transport,
    masses: *const u64,
    n: usize,
    sweeps_done: u64,
) -> fk_status {
    guard("fk_mass_transport_set_masses", || {
        // SAFETY: caller contract (header).
        let mut m = unsafe { value_mut(mt, "mt") }?;
        if n != m.sites() {
            return Err(size_mismatch("masses", n, m.sites(), "sites"));
        }
        let v = unsafe { slice(masses, n, "masses") }?;
        m.set_state(v, sweeps_done)
    })
}

/// Copies the masses (`n` = sites) and writes the sweep counter to
/// `*out_sweeps_done` (may be NULL).
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`.
///
/// # Safety
/// `mt` a live handle; `masses` has `n` writable elements; `out_sweeps_done`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_mass_transport_get_masses(
    mt: *const fk_mass_transport,
    masses: *mut u64,
    n: usize,
    out_sweeps_done: *mut u64,
) -> fk_status {
    guard("fk_mass_transport_get_masses", || {
        // SAFETY: caller contract (header).
        let m = unsafe { value_ref(mt, "mt") }?;
        if n != m.sites() {
            return Err(size_mismatch("masses", n, m.sites(), "sites"));
        }
        let out = unsafe { slice_mut(masses, n, "masses") }?;
        let sw = unsafe { optional_mut(out_sweeps_done, 1, "out_sweeps_done") }?;
        out.copy_from_slice(m.masses());
        if let Some(sw) = sw {
            sw[0] = m.sweeps_done();
        }
        Ok(())
    })
}

/// Runs `n_sweeps` sweeps (each: even bonds, odd bonds, then injection). The
/// total mass changes only by injection, exactly: `n_sweeps * sites *
/// injection` units. Parallel over bonds on the library's pool; bitwise
/// identical for any thread count and for any split into calls. Allocates
/// nothing.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_OUT_OF_RANGE`
/// (the injection would take the total past 2^64 - 1; nothing is done).
///
/// # Safety
/// `mt` a live handle.
#[no_mangle]
pub unsafe extern "C" fn fk_mass_transport_sweep(
    mt: *mut fk_mass_transport,
    n_sweeps: u64,
) -> fk_status {
    guard("fk_mass_transport_sweep", || {
        // SAFETY: caller contract (header).
        let mut m = unsafe { value_mut(mt, "mt") }?;
        m.sweep(n_sweeps)
    })
}

// ---------------------------------------------------------------------------
// Coffee automaton
// ---------------------------------------------------------------------------

/// A coffee automaton cup (Aaronson, Carroll & Ouellette 2014): cream on top
/// of coffee in an N x N grid, mixing by symmetric exclusion (interacting) or
/// independent random walks (non-interacting). Opaque; create with
/// `fk_coffee_create`, free with `fk_coffee_destroy`.
#[allow(non_camel_case_types)]
pub struct fk_coffee {
    _opaque: [u8; 0],
}

impl Opaque for fk_coffee {
    type Value = Coffee;
    const MAGIC: u64 = 0x666b_434f_4646_4531; // "fkCOFFE1"
    const KIND: &'static str = "fk_coffee";
}

/// `fk_coffee_params.variant`: at most one cream particle per cell; adjacent
/// cells exchange (symmetric exclusion).
pub const FK_COFFEE_INTERACTING: u32 = 0;
/// `fk_coffee_params.variant`: cream particles walk independently; any number
/// per cell.
pub const FK_COFFEE_NON_INTERACTING: u32 = 1;
/// `fk_coffee_params.variant`: the paper's own interacting rule, one
/// uniformly random adjacent pair swapped per move, `2 N (N - 1)` moves per
/// step (sequential PCG64 stream `(seed, stream)`; checkpoint it with
/// `fk_coffee_get_rng_state`).
pub const FK_COFFEE_INTERACTING_SEQUENTIAL: u32 = 2;

/// Parameters of `fk_coffee_create`. Get defaults from
/// `fk_coffee_params_default()`, then change fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_coffee_params {
    /// `sizeof(fk_coffee_params)`, set by `fk_coffee_params_default()`.
    pub struct_size: u32,
    /// Side N of the cup (even, 2..=65536). Default 100.
    pub side: u32,
    /// `FK_COFFEE_INTERACTING` (default), `FK_COFFEE_NON_INTERACTING` or
    /// `FK_COFFEE_INTERACTING_SEQUENTIAL`.
    pub variant: u32,
    /// Reserved, must be 0.
    pub reserved: u32,
    /// Philox seed. Default 0.
    pub seed: u64,
    /// Philox stream (low 48 bits used). Default 0.
    pub stream: u64,
}

// SAFETY: repr(C), Copy, plain integers, struct_size: u32 first.
unsafe impl Params for fk_coffee_params {
    const NAME: &'static str = "fk_coffee_params";
    fn defaults() -> Self {
        fk_coffee_params_default()
    }
}

const COFFEE_DEFAULTS: fk_coffee_params = fk_coffee_params {
    struct_size: std::mem::size_of::<fk_coffee_params>() as u32,
    side: 100,
    variant: FK_COFFEE_INTERACTING,
    reserved: 0,
    seed: 0,
    stream: 0,
};

/// Default coffee parameters: 100 x 100 interacting cup, seed 0, stream 0,
/// `struct_size` set. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_coffee_params_default() -> fk_coffee_params {
    guard_value("fk_coffee_params_default", COFFEE_DEFAULTS, || {
        COFFEE_DEFAULTS
    })
}

/// Creates a cup in its initial state (cream, value 1, in rows 0..N/2; coffee
/// below), step counter 0. Allocates the state, the coarse-graining buffers
/// and the compressor; later calls never allocate. The caller owns `*out` and
/// frees it with `fk_coffee_destroy`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`
/// (side odd, < 2 or > 65536), `FK_ERR_UNKNOWN_ENUM` (variant),
/// `FK_ERR_OUT_OF_RANGE` (reserved not 0). `*out` is written only on success.
///
/// # Safety
/// `params` readable; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_create(
    params: *const fk_coffee_params,
    out: *mut *mut fk_coffee,
) -> fk_status {
    guard("fk_coffee_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let variant = match p.variant {
            FK_COFFEE_INTERACTING => CoffeeVariant::Interacting,
            FK_COFFEE_NON_INTERACTING => CoffeeVariant::NonInteracting,
            FK_COFFEE_INTERACTING_SEQUENTIAL => CoffeeVariant::InteractingSequential,
            v => {
                return Err(Error::new(
                    ErrorKind::UnknownEnum,
                    format!(
                        "variant = {v} (FK_COFFEE_INTERACTING = 0, FK_COFFEE_NON_INTERACTING = 1, FK_COFFEE_INTERACTING_SEQUENTIAL = 2)"
                    ),
                ))
            }
        };
        if p.reserved != 0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("reserved = {} must be 0", p.reserved),
            ));
        }
        let c = Coffee::new(p.side as usize, variant, p.seed, p.stream)?;
        // SAFETY: `out` checked above.
        unsafe { publish::<fk_coffee>(out, c) };
        Ok(())
    })
}

/// Frees a cup. NULL is a no-op (`FK_OK`); a pointer that is not a live cup
/// gives `FK_ERR_WRONG_HANDLE` and is not freed.
///
/// # Safety
/// `cf` must be NULL or a handle from `fk_coffee_create` not yet destroyed.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_destroy(cf: *mut fk_coffee) -> fk_status {
    guard("fk_coffee_destroy", || {
        // SAFETY: caller contract.
        unsafe { handle::destroy(cf, "cf") }
    })
}

/// Runs `steps` steps (interacting: one parallel exchange sweep over the four
/// bond classes; non-interacting: one move attempt per particle). Parallel on
/// the library's pool; bitwise identical for any thread count and any split
/// into calls. Allocates nothing.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `cf` a live handle.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_step(cf: *mut fk_coffee, steps: u64) -> fk_status {
    guard("fk_coffee_step", || {
        // SAFETY: caller contract (header).
        let mut c = unsafe { value_mut(cf, "cf") }?;
        c.step(steps);
        Ok(())
    })
}

/// Entropy and apparent complexity of the current state: `*out_entropy` is
/// the raw-deflate size in bytes (miniz_oxide, level 9) of the fine-grained
/// state (one byte per cell, cream count); `*out_complexity` that of the
/// coarse-grained state: each cell's mean cream over the `grain x grain`
/// window centred on it, thresholded into `buckets` levels
/// (min(floor(density * buckets), buckets - 1); the paper uses 3), and, if
/// `adjust` is 1, row-adjusted (a level within one of its row's majority level
/// becomes the majority; the paper's adjusted coarse-graining, with 7
/// buckets). Allocates nothing.
///
/// Errors: `FK_ERR_NULL_POINTER` (`cf`, `out_entropy`, `out_complexity`),
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_OUT_OF_RANGE` (grain 0 or > N, buckets
/// outside 2..=255, adjust not 0/1).
///
/// # Safety
/// `cf` a live handle; outputs writable.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_measure(
    cf: *mut fk_coffee,
    grain: u32,
    buckets: u32,
    adjust: u32,
    out_entropy: *mut u64,
    out_complexity: *mut u64,
) -> fk_status {
    guard("fk_coffee_measure", || {
        // SAFETY: caller contract (header).
        let mut c = unsafe { value_mut(cf, "cf") }?;
        let e = unsafe { slice_mut(out_entropy, 1, "out_entropy") }?;
        let x = unsafe { slice_mut(out_complexity, 1, "out_complexity") }?;
        if adjust > 1 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("adjust = {adjust} must be 0 or 1"),
            ));
        }
        let m = c.measure(grain as usize, buckets, adjust == 1)?;
        e[0] = m.entropy as u64;
        x[0] = m.complexity as u64;
        Ok(())
    })
}

/// Copies the cream per cell (N^2 bytes, row-major; non-interacting counts
/// saturate at 255) and writes the step counter to `*out_steps` (may be NULL).
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`
/// (`n` != N^2).
///
/// # Safety
/// `cf` a live handle; `cells` has `n` writable bytes; `out_steps` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_get_cells(
    cf: *const fk_coffee,
    cells: *mut u8,
    n: usize,
    out_steps: *mut u64,
) -> fk_status {
    guard("fk_coffee_get_cells", || {
        // SAFETY: caller contract (header).
        let c = unsafe { value_ref(cf, "cf") }?;
        let want = c.side() * c.side();
        if n != want {
            return Err(size_mismatch("cells", n, want, "N^2"));
        }
        let out = unsafe { slice_mut(cells, n, "cells") }?;
        let st = unsafe { optional_mut(out_steps, 1, "out_steps") }?;
        out.copy_from_slice(c.cells());
        if let Some(st) = st {
            st[0] = c.steps_done();
        }
        Ok(())
    })
}

/// Restores an interacting cup from its cells (0 coffee, 1 cream; N^2 bytes)
/// and step counter, e.g. from `fk_coffee_get_cells`; the run then continues
/// bitwise. (A non-interacting cup's state is its particles, not its cells:
/// refused.)
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (a cell > 1, or a non-interacting cup). Nothing
/// changes on error.
///
/// # Safety
/// `cf` a live handle; `cells` has `n` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_set_cells(
    cf: *mut fk_coffee,
    cells: *const u8,
    n: usize,
    steps_done: u64,
) -> fk_status {
    guard("fk_coffee_set_cells", || {
        // SAFETY: caller contract (header).
        let mut c = unsafe { value_mut(cf, "cf") }?;
        let want = c.side() * c.side();
        if n != want {
            return Err(size_mismatch("cells", n, want, "N^2"));
        }
        let v = unsafe { slice(cells, n, "cells") }?;
        c.set_cells(v, steps_done)
    })
}

/// Copies the sequential stream's state (4 words: PCG64 state lo, hi, stream
/// lo, hi) into `state`. Only `FK_COFFEE_INTERACTING_SEQUENTIAL` cups draw
/// from it; with `fk_coffee_get_cells` it checkpoints such a cup.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != 4).
///
/// # Safety
/// `cf` a live handle; `state` has `n` writable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_get_rng_state(
    cf: *const fk_coffee,
    state: *mut u64,
    n: usize,
) -> fk_status {
    guard("fk_coffee_get_rng_state", || {
        // SAFETY: caller contract (header).
        let c = unsafe { value_ref(cf, "cf") }?;
        if n != 4 {
            return Err(size_mismatch("state", n, 4, "the state size"));
        }
        let out = unsafe { slice_mut(state, n, "state") }?;
        out.copy_from_slice(&c.seq_rng_state().to_words());
        Ok(())
    })
}

/// Restores the sequential stream from 4 words written by
/// `fk_coffee_get_rng_state`; with `fk_coffee_set_cells`, a sequential cup
/// continues bitwise.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_INVALID_SIZE` (`n` != 4), `FK_ERR_OUT_OF_RANGE` (top bit of
/// `state[3]` set: not a saved state).
///
/// # Safety
/// `cf` a live handle; `state` has `n` readable elements.
#[no_mangle]
pub unsafe extern "C" fn fk_coffee_set_rng_state(
    cf: *mut fk_coffee,
    state: *const u64,
    n: usize,
) -> fk_status {
    guard("fk_coffee_set_rng_state", || {
        // SAFETY: caller contract (header).
        let mut c = unsafe { value_mut(cf, "cf") }?;
        if n != 4 {
            return Err(size_mismatch("state", n, 4, "the state size"));
        }
        let w = unsafe { slice(state, n, "state") }?;
        c.set_seq_rng_state(checked_rng_state([w[0], w[1], w[2], w[3]])?);
        Ok(())
    })
}
