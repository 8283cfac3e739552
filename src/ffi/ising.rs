//! Header section "Monte Carlo: spin models": periodic 2D / 3D Ising lattices
//! with checkerboard and sequential Metropolis / heat-bath sweeps, Wolff
//! cluster updates, observables and the Binder cumulant.
//!
//! The physics, storage and random-number mapping are documented in
//! `src/mc/ising.rs` and `src/mc/wolff.rs`.

use super::boundary::{guard, guard_value, slice, slice_mut};
use super::handle::{
    check_out, destroy, publish, read_params, value_mut, value_ref, Opaque, Params,
};
use super::status::fk_status;
use crate::error::{Error, ErrorKind, Result};
use crate::mc::ising::{binder_cumulant, IsingLattice, IsingParams, IsingUpdate};

const ISING_MAGIC: u64 = 0x464B_4953_494E_4731; // "FKISING1"

/// Opaque handle of an Ising lattice: spins, couplings, temperature, random
/// keys, sweep counter and Wolff workspace. Created by `fk_ising_create`,
/// freed by `fk_ising_destroy`. One handle must not be used by two threads at
/// once (detected: `FK_ERR_BUSY`); distinct handles are independent.
#[allow(non_camel_case_types)]
pub struct fk_ising {
    _opaque: [u8; 0],
}

impl Opaque for fk_ising {
    type Value = IsingLattice;
    const MAGIC: u64 = ISING_MAGIC;
    const KIND: &'static str = "fk_ising";
}

/// Parameters of `fk_ising_create`. Get defaults from
/// `fk_ising_params_default()` and change what you need.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_ising_params {
    /// `sizeof(fk_ising_params)`, set by `fk_ising_params_default()`.
    pub struct_size: u32,
    /// 2 (square lattice) or 3 (cubic lattice). Default 2.
    pub dim: u32,
    /// Side lengths, each >= 2 (`lz` ignored for dim 2), at most 2^32 - 1
    /// sites. Checkerboard sweeps need every side even. Default 64 x 64.
    pub lx: usize,
    pub ly: usize,
    pub lz: usize,
    /// Coupling J (finite; J > 0 ferromagnetic; Wolff needs J >= 0). Default 1.
    pub coupling: f64,
    /// Field h (finite). Default 0.
    pub field: f64,
    /// Temperature T > 0 (k_B = 1, same unit as J and h). Default Tc(2D) = 2 / ln(1 + sqrt 2).
    pub temperature: f64,
    /// Key of every random stream of this lattice. Default 0.
    pub seed: u64,
    /// User stream (low 48 bits), so several lattices can share a seed. Default 0.
    pub stream: u64,
    /// 0: all spins +1 (default); 1: independent random spins from (seed, stream).
    pub hot_start: u32,
}

// SAFETY: repr(C), Copy, plain numbers only, `struct_size: u32` first.
unsafe impl Params for fk_ising_params {
    const NAME: &'static str = "fk_ising_params";
    fn defaults() -> Self {
        fk_ising_params_default()
    }
}

/// `fk_ising_sweep` update: checkerboard Metropolis (parallel, SIMD, one
/// independent 32-bit Philox uniform per (sweep, site), of which the low 16
/// bits are generated only when needed); every side even.
pub const FK_ISING_METROPOLIS: i32 = 0;
/// `fk_ising_sweep` update: checkerboard heat bath (Glauber); every side even.
pub const FK_ISING_HEAT_BATH: i32 = 1;
/// `fk_ising_sweep` update: sequential Metropolis in row-major site order;
/// any sizes (odd sides too).
pub const FK_ISING_METROPOLIS_SEQUENTIAL: i32 = 2;
/// `fk_ising_sweep` update: sequential heat bath in row-major site order; any sizes.
pub const FK_ISING_HEAT_BATH_SEQUENTIAL: i32 = 3;

fn update_from_i32(update: i32) -> Result<IsingUpdate> {
    Ok(match update {
        FK_ISING_METROPOLIS => IsingUpdate::Metropolis,
        FK_ISING_HEAT_BATH => IsingUpdate::HeatBath,
        FK_ISING_METROPOLIS_SEQUENTIAL => IsingUpdate::MetropolisSequential,
        FK_ISING_HEAT_BATH_SEQUENTIAL => IsingUpdate::HeatBathSequential,
        other => {
            return Err(Error::new(
                ErrorKind::UnknownEnum,
                format!("update = {other}: not one of FK_ISING_METROPOLIS, FK_ISING_HEAT_BATH, FK_ISING_METROPOLIS_SEQUENTIAL, FK_ISING_HEAT_BATH_SEQUENTIAL"),
            ))
        }
    })
}

/// An optional output array: NULL means "not wanted".
///
/// # Safety
/// As `slice_mut`, when `ptr` is non-NULL.
unsafe fn optional_out<'a>(ptr: *mut f64, n: usize, name: &str) -> Result<&'a mut [f64]> {
    if ptr.is_null() {
        Ok(&mut [])
    } else {
        // SAFETY: forwarded contract.
        unsafe { slice_mut(ptr, n, name) }
    }
}

/// Writes a single value through an `out_*` pointer (NULL is an error).
fn write_out<T>(ptr: *mut T, value: T, name: &str) -> Result<()> {
    // SAFETY: checked non-NULL and aligned by `slice_mut`; the caller provides
    // one writable element (header contract).
    let out = unsafe { slice_mut(ptr, 1, name) }?;
    out[0] = value;
    Ok(())
}

/// Default parameters: 2D, 64 x 64, J = 1, h = 0, T = Tc = 2 / ln(1 + sqrt 2),
/// seed 0, stream 0, cold start (all +1). Thread-safe.
#[no_mangle]
pub extern "C" fn fk_ising_params_default() -> fk_ising_params {
    guard_value(
        "fk_ising_params_default",
        fk_ising_params {
            struct_size: 0,
            dim: 0,
            lx: 0,
            ly: 0,
            lz: 0,
            coupling: 0.0,
            field: 0.0,
            temperature: 0.0,
            seed: 0,
            stream: 0,
            hot_start: 0,
        },
        || {
            let d = IsingParams::default();
            fk_ising_params {
                struct_size: std::mem::size_of::<fk_ising_params>() as u32,
                dim: d.dim as u32,
                lx: d.lx,
                ly: d.ly,
                lz: 1,
                coupling: d.coupling,
                field: d.field,
                temperature: d.temperature,
                seed: d.seed,
                stream: d.stream,
                hot_start: 0,
            }
        },
    )
}

/// Creates a lattice and writes its handle to `*out`. Allocates the spins
/// (1 byte per site) and the Wolff cluster queue (4 bytes per site); no later
/// call allocates. Storage is internal: copy spins in and out with
/// `fk_ising_set_spins` / `fk_ising_get_spins` (row-major int8, +1/-1, site
/// (x, y, z) at x + lx (y + ly z)).
///
/// Errors: `FK_ERR_NULL_POINTER` (params or out NULL), `FK_ERR_STRUCT_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (dim not 2 or 3, T <= 0), `FK_ERR_INVALID_SIZE`
/// (a side < 2, more than 2^32 - 1 sites), `FK_ERR_NON_FINITE` (J, h or T NaN
/// or infinite), `FK_ERR_OUT_OF_MEMORY`. `*out` is written only on success.
///
/// # Safety
/// `params` must point to an `fk_ising_params` (or be NULL); `out` must point
/// to a writable `fk_ising *` (or be NULL).
#[no_mangle]
pub unsafe extern "C" fn fk_ising_create(
    params: *const fk_ising_params,
    out: *mut *mut fk_ising,
) -> fk_status {
    guard("fk_ising_create", || {
        // SAFETY: header contract on `params`.
        let p = unsafe { read_params(params) }?;
        if out.is_null() {
            return Err(Error::new(ErrorKind::NullPointer, "argument `out` is NULL"));
        }
        if p.hot_start > 1 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("hot_start = {}: must be 0 or 1", p.hot_start),
            ));
        }
        let lattice = IsingLattice::new(&IsingParams {
            dim: p.dim as usize,
            lx: p.lx,
            ly: p.ly,
            lz: p.lz,
            coupling: p.coupling,
            field: p.field,
            temperature: p.temperature,
            seed: p.seed,
            stream: p.stream,
            hot_start: p.hot_start == 1,
        })?;
        check_out(out)?;
        // SAFETY: `out` checked non-NULL and aligned just above.
        unsafe { publish::<fk_ising>(out, lattice) };
        Ok(())
    })
}

/// Frees a lattice. NULL is a no-op. A handle that is not a live `fk_ising`
/// is left alone and reported (`FK_ERR_WRONG_HANDLE`; `FK_ERR_BUSY` if in use
/// on another thread). Not thread-safe with other calls on the same handle.
///
/// # Safety
/// `handle` is NULL or a pointer returned by `fk_ising_create`, not used again.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_destroy(handle: *mut fk_ising) -> fk_status {
    guard("fk_ising_destroy", || {
        // SAFETY: header contract: NULL or from the create function, not used again.
        unsafe { destroy(handle, "handle") }
    })
}

/// Number of sites `lx * ly (* lz)` into `*out_sites`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`.
///
/// # Safety
/// `handle` from `fk_ising_create`; `out_sites` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_num_sites(
    handle: *const fk_ising,
    out_sites: *mut usize,
) -> fk_status {
    guard("fk_ising_num_sites", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        write_out(out_sites, lat.n_sites(), "out_sites")
    })
}

/// Replaces the spins with `spins[0..n)` (row-major, each +1 or -1;
/// `n` must equal the number of sites). Borrowed for the call only.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE` (n wrong),
/// `FK_ERR_OUT_OF_RANGE` (a spin not +-1; the message names the index),
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`. The lattice is unchanged on error.
///
/// # Safety
/// `handle` from `fk_ising_create`; `spins` readable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_set_spins(
    handle: *mut fk_ising,
    spins: *const i8,
    n: usize,
) -> fk_status {
    guard("fk_ising_set_spins", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract: `n` readable int8 at `spins`.
        let spins = unsafe { slice(spins, n, "spins") }?;
        lat.set_spins(spins)
    })
}

/// Copies the spins into `spins[0..n)` (row-major; `n` = number of sites).
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_BUSY`. `spins` is untouched on error.
///
/// # Safety
/// `handle` from `fk_ising_create`; `spins` writable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_get_spins(
    handle: *const fk_ising,
    spins: *mut i8,
    n: usize,
) -> fk_status {
    guard("fk_ising_get_spins", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `n` writable int8 at `spins`.
        let out = unsafe { slice_mut(spins, n, "spins") }?;
        lat.spins_into(out)
    })
}

/// Runs `n_sweeps` sweeps of `update` (one of the `FK_ISING_*` update
/// constants). If
/// `energy` / `magnetisation` are not NULL they must hold `n_sweeps` doubles
/// and receive the energy per spin `H / N` and magnetisation per spin after
/// each sweep. Parallel over rows on the library's pool (checkerboard
/// updates); allocates nothing; bitwise identical for any thread count and for
/// any split of the sweeps into calls (the sweep counter is in the handle).
///
/// Errors: `FK_ERR_UNKNOWN_ENUM` (update), `FK_ERR_INVALID_SIZE` (checkerboard
/// update on a lattice with an odd side: use a `_SEQUENTIAL` update),
/// `FK_ERR_OUT_OF_RANGE` (sweep counter would overflow the Philox counter),
/// `FK_ERR_MISALIGNED`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`. Nothing changes
/// on error.
///
/// # Safety
/// `handle` from `fk_ising_create`; non-NULL arrays writable for `n_sweeps`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_sweep(
    handle: *mut fk_ising,
    update: i32,
    n_sweeps: usize,
    energy: *mut f64,
    magnetisation: *mut f64,
) -> fk_status {
    guard("fk_ising_sweep", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        let update = update_from_i32(update)?;
        // SAFETY: header contract on the optional arrays.
        let e = unsafe { optional_out(energy, n_sweeps, "energy") }?;
        // SAFETY: as above.
        let m = unsafe { optional_out(magnetisation, n_sweeps, "magnetisation") }?;
        lat.sweep(update, n_sweeps, e, m)
    })
}

/// Runs `n_clusters` Wolff single-cluster updates (sequential; random numbers
/// from the PCG64 stream in the handle, see `fk_ising_get_rng_state`). Optional
/// `energy` / `magnetisation` arrays as in `fk_ising_sweep`, one entry per
/// cluster update. `*out_flipped` (may be NULL) receives the number of spins
/// flipped. With h != 0 each cluster flip is accepted with probability
/// min(1, exp(-2 h s |C| / T)). Allocates nothing.
///
/// Errors: `FK_ERR_OUT_OF_RANGE` (J < 0), `FK_ERR_MISALIGNED`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`. Nothing changes on error.
///
/// # Safety
/// `handle` from `fk_ising_create`; non-NULL arrays writable for `n_clusters`;
/// `out_flipped` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_wolff(
    handle: *mut fk_ising,
    n_clusters: usize,
    energy: *mut f64,
    magnetisation: *mut f64,
    out_flipped: *mut u64,
) -> fk_status {
    guard("fk_ising_wolff", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract on the optional arrays.
        let e = unsafe { optional_out(energy, n_clusters, "energy") }?;
        // SAFETY: as above.
        let m = unsafe { optional_out(magnetisation, n_clusters, "magnetisation") }?;
        if !out_flipped.is_null() && !out_flipped.is_aligned() {
            return Err(Error::new(
                ErrorKind::Misaligned,
                "argument `out_flipped` is not aligned to 8 bytes",
            ));
        }
        let flipped = lat.wolff(n_clusters, e, m)?;
        if !out_flipped.is_null() {
            write_out(out_flipped, flipped, "out_flipped")?;
        }
        Ok(())
    })
}

/// Energy per spin `H / N` and magnetisation per spin of the current spins
/// into `*out_energy`, `*out_magnetisation`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`.
///
/// # Safety
/// `handle` from `fk_ising_create`; both outputs writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_observables(
    handle: *const fk_ising,
    out_energy: *mut f64,
    out_magnetisation: *mut f64,
) -> fk_status {
    guard("fk_ising_observables", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        for (p, name) in [
            (out_energy, "out_energy"),
            (out_magnetisation, "out_magnetisation"),
        ] {
            if p.is_null() {
                return Err(Error::new(
                    ErrorKind::NullPointer,
                    format!("argument `{name}` is NULL"),
                ));
            }
        }
        let o = lat.observables();
        write_out(out_energy, o.energy_per_spin, "out_energy")?;
        write_out(
            out_magnetisation,
            o.magnetisation_per_spin,
            "out_magnetisation",
        )
    })
}

/// Sets the temperature T > 0 for the following updates.
///
/// Errors: `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_RANGE` (T <= 0),
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`.
///
/// # Safety
/// `handle` from `fk_ising_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_set_temperature(
    handle: *mut fk_ising,
    temperature: f64,
) -> fk_status {
    guard("fk_ising_set_temperature", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        lat.set_temperature(temperature)
    })
}

/// Sweeps done so far into `*out_sweeps`: the counter that keys the next
/// sweep's random numbers. Save it with the spins to checkpoint.
///
/// # Safety
/// `handle` from `fk_ising_create`; `out_sweeps` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_get_sweep_count(
    handle: *const fk_ising,
    out_sweeps: *mut u64,
) -> fk_status {
    guard("fk_ising_get_sweep_count", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        write_out(out_sweeps, lat.sweeps_done(), "out_sweeps")
    })
}

/// Sets the sweep counter (restoring a checkpoint: spins + sweep count + RNG
/// state make a resumed run bitwise identical to an unbroken one).
///
/// # Safety
/// `handle` from `fk_ising_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_set_sweep_count(handle: *mut fk_ising, sweeps: u64) -> fk_status {
    guard("fk_ising_set_sweep_count", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        lat.set_sweeps_done(sweeps);
        Ok(())
    })
}

/// Copies the Wolff update's PCG64 state into `state[0..4)` (state lo, state
/// hi, increment lo, increment hi).
///
/// # Safety
/// `handle` from `fk_ising_create`; `state` writable for 4 elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_get_rng_state(
    handle: *const fk_ising,
    state: *mut u64,
) -> fk_status {
    guard("fk_ising_get_rng_state", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: 4 writable uint64_t.
        let out = unsafe { slice_mut(state, 4, "state") }?;
        out.copy_from_slice(&lat.wolff_rng_state());
        Ok(())
    })
}

/// Restores a Wolff PCG64 state saved by `fk_ising_get_rng_state`.
///
/// # Safety
/// `handle` from `fk_ising_create`; `state` readable for 4 elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_set_rng_state(
    handle: *mut fk_ising,
    state: *const u64,
) -> fk_status {
    guard("fk_ising_set_rng_state", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract: 4 readable uint64_t.
        let words = unsafe { slice(state, 4, "state") }?;
        lat.set_wolff_rng_state([words[0], words[1], words[2], words[3]]);
        Ok(())
    })
}

/// Binder cumulant `U = 1 - <m^4> / (3 <m^2>^2)` of the magnetisation series
/// `magnetisation[0..n)` into `*out_binder`. Thread-safe.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE` (n = 0),
/// `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_RANGE` (every m is 0).
///
/// # Safety
/// `magnetisation` readable for `n` elements; `out_binder` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_binder_cumulant(
    magnetisation: *const f64,
    n: usize,
    out_binder: *mut f64,
) -> fk_status {
    guard("fk_ising_binder_cumulant", || {
        // SAFETY: header contract.
        let m = unsafe { slice(magnetisation, n, "magnetisation") }?;
        if out_binder.is_null() {
            return Err(Error::new(
                ErrorKind::NullPointer,
                "argument `out_binder` is NULL",
            ));
        }
        let u = binder_cumulant(m)?;
        write_out(out_binder, u, "out_binder")
    })
}

const ISING_MSC_MAGIC: u64 = 0x464B_4953_4D53_4331; // "FKISMSC1"

/// Opaque handle of a multi-spin-coded 2D Ising lattice (64 spins per
/// 64-bit word, checkerboard Metropolis, h = 0, J > 0). Created by
/// `fk_ising_msc_create`, freed by `fk_ising_msc_destroy`. Same threading
/// rules as `fk_ising`.
#[allow(non_camel_case_types)]
pub struct fk_ising_msc {
    _opaque: [u8; 0],
}

impl Opaque for fk_ising_msc {
    type Value = crate::mc::ising_msc::IsingMsc;
    const MAGIC: u64 = ISING_MSC_MAGIC;
    const KIND: &'static str = "fk_ising_msc";
}

/// Creates a multi-spin-coded lattice from `fk_ising_params` (dim 2, `lx` a
/// multiple of 32, `ly` a multiple of 128, field 0, coupling > 0). The packing
/// (64 horizontal strips, bit k of a word = strip k) and the random numbers
/// (one independent 32-bit uniform per site, generated bit-sliced and lazily
/// from Philox, no sharing between sites) are documented in
/// `src/mc/ising_msc.rs`. With the same seed, stream and `hot_start` the
/// initial spins equal those of `fk_ising_create`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`
/// (sides), `FK_ERR_OUT_OF_RANGE` (dim != 2, h != 0, J <= 0, T <= 0,
/// hot_start > 1), `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_MEMORY`. `*out`
/// written only on success.
///
/// # Safety
/// As `fk_ising_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_create(
    params: *const fk_ising_params,
    out: *mut *mut fk_ising_msc,
) -> fk_status {
    guard("fk_ising_msc_create", || {
        // SAFETY: header contract on `params`.
        let p = unsafe { read_params(params) }?;
        if out.is_null() {
            return Err(Error::new(ErrorKind::NullPointer, "argument `out` is NULL"));
        }
        if p.hot_start > 1 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("hot_start = {}: must be 0 or 1", p.hot_start),
            ));
        }
        let lattice = crate::mc::ising_msc::IsingMsc::new(&IsingParams {
            dim: p.dim as usize,
            lx: p.lx,
            ly: p.ly,
            lz: p.lz,
            coupling: p.coupling,
            field: p.field,
            temperature: p.temperature,
            seed: p.seed,
            stream: p.stream,
            hot_start: p.hot_start == 1,
        })?;
        check_out(out)?;
        // SAFETY: `out` checked non-NULL and aligned just above.
        unsafe { publish::<fk_ising_msc>(out, lattice) };
        Ok(())
    })
}

/// Frees a multi-spin-coded lattice; NULL is a no-op; a pointer that is not a
/// live `fk_ising_msc` is left alone and reported (`FK_ERR_WRONG_HANDLE`).
///
/// # Safety
/// `handle` is NULL or from `fk_ising_msc_create`, not used again.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_destroy(handle: *mut fk_ising_msc) -> fk_status {
    guard("fk_ising_msc_destroy", || {
        // SAFETY: header contract: NULL or from the create function, not used again.
        unsafe { destroy(handle, "handle") }
    })
}

/// Replaces the spins (row-major int8, each +1 or -1, `n` = lx * ly).
/// Errors as `fk_ising_set_spins`; unchanged on error.
///
/// # Safety
/// `handle` from `fk_ising_msc_create`; `spins` readable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_set_spins(
    handle: *mut fk_ising_msc,
    spins: *const i8,
    n: usize,
) -> fk_status {
    guard("fk_ising_msc_set_spins", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract: `n` readable int8 at `spins`.
        let spins = unsafe { slice(spins, n, "spins") }?;
        lat.set_spins(spins)
    })
}

/// Copies the spins out (row-major int8, `n` = lx * ly). Errors as
/// `fk_ising_get_spins`.
///
/// # Safety
/// `handle` from `fk_ising_msc_create`; `spins` writable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_get_spins(
    handle: *const fk_ising_msc,
    spins: *mut i8,
    n: usize,
) -> fk_status {
    guard("fk_ising_msc_get_spins", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `n` writable int8 at `spins`.
        let out = unsafe { slice_mut(spins, n, "spins") }?;
        lat.spins_into(out)
    })
}

/// Runs `n_sweeps` multi-spin-coded checkerboard Metropolis sweeps; optional
/// per-sweep `energy` / `magnetisation` arrays (per spin) as in
/// `fk_ising_sweep`. Parallel over rows; allocates nothing; bitwise identical
/// for any thread count and any split into calls.
///
/// Errors: `FK_ERR_OUT_OF_RANGE` (sweep counter overflow), `FK_ERR_MISALIGNED`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`. Nothing changes on error.
///
/// # Safety
/// `handle` from `fk_ising_msc_create`; non-NULL arrays writable for `n_sweeps`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_sweep(
    handle: *mut fk_ising_msc,
    n_sweeps: usize,
    energy: *mut f64,
    magnetisation: *mut f64,
) -> fk_status {
    guard("fk_ising_msc_sweep", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract on the optional arrays.
        let e = unsafe { optional_out(energy, n_sweeps, "energy") }?;
        // SAFETY: as above.
        let m = unsafe { optional_out(magnetisation, n_sweeps, "magnetisation") }?;
        lat.sweep(n_sweeps, e, m)
    })
}

/// Energy and magnetisation per spin of the current spins.
///
/// # Safety
/// `handle` from `fk_ising_msc_create`; both outputs writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_observables(
    handle: *const fk_ising_msc,
    out_energy: *mut f64,
    out_magnetisation: *mut f64,
) -> fk_status {
    guard("fk_ising_msc_observables", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        for (p, name) in [
            (out_energy, "out_energy"),
            (out_magnetisation, "out_magnetisation"),
        ] {
            if p.is_null() {
                return Err(Error::new(
                    ErrorKind::NullPointer,
                    format!("argument `{name}` is NULL"),
                ));
            }
        }
        let o = lat.observables();
        write_out(out_energy, o.energy_per_spin, "out_energy")?;
        write_out(
            out_magnetisation,
            o.magnetisation_per_spin,
            "out_magnetisation",
        )
    })
}

/// Sets T > 0. Errors: `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_RANGE`.
///
/// # Safety
/// `handle` from `fk_ising_msc_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_set_temperature(
    handle: *mut fk_ising_msc,
    temperature: f64,
) -> fk_status {
    guard("fk_ising_msc_set_temperature", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        lat.set_temperature(temperature)
    })
}

/// Sweeps done so far (keys the next sweep's random numbers).
///
/// # Safety
/// `handle` from `fk_ising_msc_create`; `out_sweeps` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_get_sweep_count(
    handle: *const fk_ising_msc,
    out_sweeps: *mut u64,
) -> fk_status {
    guard("fk_ising_msc_get_sweep_count", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        write_out(out_sweeps, lat.sweeps_done(), "out_sweeps")
    })
}

/// Sets the sweep counter (restore a checkpoint together with the spins).
///
/// # Safety
/// `handle` from `fk_ising_msc_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_msc_set_sweep_count(
    handle: *mut fk_ising_msc,
    sweeps: u64,
) -> fk_status {
    guard("fk_ising_msc_set_sweep_count", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        lat.set_sweeps_done(sweeps);
        Ok(())
    })
}

const ISING_WORM_MAGIC: u64 = 0x464B_4953_574F_524D; // "FKISWORM"

/// Opaque handle of a worm-algorithm sampler of the 2D Ising high-temperature
/// expansion (link occupations, worm ends, PCG64 stream, estimator sums).
/// Created by `fk_ising_worm_create`, freed by `fk_ising_worm_destroy`. Same
/// threading rules as `fk_ising`.
#[allow(non_camel_case_types)]
pub struct fk_ising_worm {
    _opaque: [u8; 0],
}

impl Opaque for fk_ising_worm {
    type Value = crate::mc::worm::IsingWorm;
    const MAGIC: u64 = ISING_WORM_MAGIC;
    const KIND: &'static str = "fk_ising_worm";
}

/// Creates a worm sampler from `fk_ising_params` (dim 2, sides >= 2, field 0,
/// coupling > 0, T > 0; `hot_start` ignored), starting from the empty bond set.
/// Algorithm, estimators, link layout and random numbers: `src/mc/worm.rs`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (dim != 2, h != 0, J <= 0, T <= 0),
/// `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// As `fk_ising_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_create(
    params: *const fk_ising_params,
    out: *mut *mut fk_ising_worm,
) -> fk_status {
    guard("fk_ising_worm_create", || {
        // SAFETY: header contract on `params`.
        let p = unsafe { read_params(params) }?;
        if out.is_null() {
            return Err(Error::new(ErrorKind::NullPointer, "argument `out` is NULL"));
        }
        if p.dim != 2 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("dim = {}: the worm is 2D only", p.dim),
            ));
        }
        if !p.field.is_finite() {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("field = {}: must be finite", p.field),
            ));
        }
        if p.field != 0.0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("field = {}: the worm samples h = 0 only", p.field),
            ));
        }
        let w = crate::mc::worm::IsingWorm::new(&crate::mc::worm::WormParams {
            lx: p.lx,
            ly: p.ly,
            coupling: p.coupling,
            temperature: p.temperature,
            seed: p.seed,
            stream: p.stream,
        })?;
        check_out(out)?;
        // SAFETY: `out` checked non-NULL and aligned just above.
        unsafe { publish::<fk_ising_worm>(out, w) };
        Ok(())
    })
}

/// Frees a worm sampler; NULL is a no-op; a pointer that is not a live
/// `fk_ising_worm` is left alone and reported (`FK_ERR_WRONG_HANDLE`).
///
/// # Safety
/// `handle` is NULL or from `fk_ising_worm_create`, not used again.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_destroy(handle: *mut fk_ising_worm) -> fk_status {
    guard("fk_ising_worm_destroy", || {
        // SAFETY: header contract: NULL or from the create function, not used again.
        unsafe { destroy(handle, "handle") }
    })
}

/// Runs exactly `n_steps` worm steps (estimator sums accumulate across
/// calls; the configuration may end open). Sequential; allocates nothing.
///
/// # Safety
/// `handle` from `fk_ising_worm_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_run(handle: *mut fk_ising_worm, n_steps: u64) -> fk_status {
    guard("fk_ising_worm_run", || {
        // SAFETY: header contract.
        let mut w = unsafe { value_mut(handle, "handle") }?;
        w.run(n_steps);
        Ok(())
    })
}

/// Runs until the configuration has been closed (ira = masha) after `n_closed`
/// more steps, so the links read next are closed loops, distributed as
/// t^|B| (the chain induced on closed configurations; unbiased, unlike
/// stopping at the first closed configuration after a fixed step count).
/// `*out_steps` (may be NULL) receives the steps done. Use `n_closed` of a
/// few times the correlation time between images. Allocates nothing.
///
/// # Safety
/// `handle` from `fk_ising_worm_create`; `out_steps` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_run_closed(
    handle: *mut fk_ising_worm,
    n_closed: u64,
    out_steps: *mut u64,
) -> fk_status {
    guard("fk_ising_worm_run_closed", || {
        // SAFETY: header contract.
        let mut w = unsafe { value_mut(handle, "handle") }?;
        if !out_steps.is_null() && !out_steps.is_aligned() {
            return Err(Error::new(
                ErrorKind::Misaligned,
                "argument `out_steps` is not aligned to 8 bytes",
            ));
        }
        let done = w.run_closed(n_closed);
        if !out_steps.is_null() {
            write_out(out_steps, done, "out_steps")?;
        }
        Ok(())
    })
}

/// Energy per spin (`-J (2t + <|B|>/N (1 - t^2)/t)`, t = tanh(J/T), from the
/// closed configurations) and susceptibility `sum_r <s_0 s_r> = N <m^2>`
/// (steps / closed-configuration steps) accumulated since creation, the last
/// `fk_ising_worm_reset_estimates` or temperature change. NaN before the
/// first run.
///
/// # Safety
/// `handle` from `fk_ising_worm_create`; both outputs writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_estimates(
    handle: *const fk_ising_worm,
    out_energy: *mut f64,
    out_susceptibility: *mut f64,
) -> fk_status {
    guard("fk_ising_worm_estimates", || {
        // SAFETY: header contract.
        let w = unsafe { value_ref(handle, "handle") }?;
        for (p, name) in [
            (out_energy, "out_energy"),
            (out_susceptibility, "out_susceptibility"),
        ] {
            if p.is_null() {
                return Err(Error::new(
                    ErrorKind::NullPointer,
                    format!("argument `{name}` is NULL"),
                ));
            }
        }
        let e = w.estimates();
        write_out(out_energy, e.energy_per_spin, "out_energy")?;
        write_out(out_susceptibility, e.susceptibility, "out_susceptibility")
    })
}

/// Clears the estimator sums (e.g. after equilibration).
///
/// # Safety
/// `handle` from `fk_ising_worm_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_reset_estimates(handle: *mut fk_ising_worm) -> fk_status {
    guard("fk_ising_worm_reset_estimates", || {
        // SAFETY: header contract.
        let mut w = unsafe { value_mut(handle, "handle") }?;
        w.reset_estimates();
        Ok(())
    })
}

/// Sets T > 0 (and clears the estimator sums). Errors: `FK_ERR_NON_FINITE`,
/// `FK_ERR_OUT_OF_RANGE`.
///
/// # Safety
/// `handle` from `fk_ising_worm_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_set_temperature(
    handle: *mut fk_ising_worm,
    temperature: f64,
) -> fk_status {
    guard("fk_ising_worm_set_temperature", || {
        // SAFETY: header contract.
        let mut w = unsafe { value_mut(handle, "handle") }?;
        w.set_temperature(temperature)
    })
}

/// Copies the link occupations (0/1) into `links[0..n)`, `n = 2 lx ly`:
/// `links[x + lx y]` is the bond (x, y)-(x+1, y), `links[lx ly + x + lx y]` the
/// bond (x, y)-(x, y+1).
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE`, `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `handle` from `fk_ising_worm_create`; `links` writable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_get_links(
    handle: *const fk_ising_worm,
    links: *mut u8,
    n: usize,
) -> fk_status {
    guard("fk_ising_worm_get_links", || {
        // SAFETY: header contract.
        let w = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `n` writable bytes.
        let out = unsafe { slice_mut(links, n, "links") }?;
        w.links_into(out)
    })
}

/// Restores a closed link configuration (layout as `fk_ising_worm_get_links`;
/// every value 0 or 1, every site of even degree) with both worm ends at
/// site 0. Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (a value > 1 or an odd site, named in the message).
/// Unchanged on error.
///
/// # Safety
/// `handle` from `fk_ising_worm_create`; `links` readable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_set_links(
    handle: *mut fk_ising_worm,
    links: *const u8,
    n: usize,
) -> fk_status {
    guard("fk_ising_worm_set_links", || {
        // SAFETY: header contract.
        let mut w = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract: `n` readable bytes.
        let links = unsafe { slice(links, n, "links") }?;
        w.set_links(links)
    })
}

/// Copies the worm's PCG64 state into `state[0..4)` (checkpointing: links +
/// RNG state resume bitwise).
///
/// # Safety
/// `handle` from `fk_ising_worm_create`; `state` writable for 4 elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_get_rng_state(
    handle: *const fk_ising_worm,
    state: *mut u64,
) -> fk_status {
    guard("fk_ising_worm_get_rng_state", || {
        // SAFETY: header contract.
        let w = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: 4 writable uint64_t.
        let out = unsafe { slice_mut(state, 4, "state") }?;
        out.copy_from_slice(&w.rng_state());
        Ok(())
    })
}

/// Restores a PCG64 state saved by `fk_ising_worm_get_rng_state`.
///
/// # Safety
/// `handle` from `fk_ising_worm_create`; `state` readable for 4 elements.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_worm_set_rng_state(
    handle: *mut fk_ising_worm,
    state: *const u64,
) -> fk_status {
    guard("fk_ising_worm_set_rng_state", || {
        // SAFETY: header contract.
        let mut w = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract: 4 readable uint64_t.
        let words = unsafe { slice(state, 4, "state") }?;
        w.set_rng_state([words[0], words[1], words[2], words[3]]);
        Ok(())
    })
}

const HOPFIELD_MAGIC: u64 = 0x464B_484F_5046_4C44; // "FKHOPFLD"

/// `fk_hopfield_params.update`: Glauber acceptance 1 / (1 + exp(dE / T)).
pub const FK_HOPFIELD_GLAUBER: i32 = 0;
/// `fk_hopfield_params.update`: Metropolis acceptance min(1, exp(-dE / T))
/// (not ergodic in fixed-order sweeps when many flips have acceptance 1:
/// flips with dE <= 0 at any T, e.g. networks where flips often cost exactly
/// 0, and nearly all flips when T is large against the energy scale; prefer
/// Glauber there).
pub const FK_HOPFIELD_METROPOLIS: i32 = 1;

/// Opaque handle of a dense Hopfield network (patterns, state, integer
/// overlaps, sweep counter). Created by `fk_hopfield_create`, freed by
/// `fk_hopfield_destroy`. Same threading rules as `fk_ising`.
#[allow(non_camel_case_types)]
pub struct fk_hopfield {
    _opaque: [u8; 0],
}

impl Opaque for fk_hopfield {
    type Value = crate::mc::hopfield::Hopfield;
    const MAGIC: u64 = HOPFIELD_MAGIC;
    const KIND: &'static str = "fk_hopfield";
}

/// Parameters of `fk_hopfield_create`; defaults from
/// `fk_hopfield_params_default()`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_hopfield_params {
    /// `sizeof(fk_hopfield_params)`.
    pub struct_size: u32,
    /// Interaction order p in 2..=64 (2: pairwise Hopfield). Default 2.
    pub order: u32,
    /// N > 0 neurons. Default 1000.
    pub n_neurons: usize,
    /// K > 0 patterns. Default 50.
    pub n_patterns: usize,
    /// T >= 0 (0: zero-temperature dynamics, flip iff dE < 0). Default 0.
    pub temperature: f64,
    /// `FK_HOPFIELD_GLAUBER` (default) or `FK_HOPFIELD_METROPOLIS`.
    pub update: i32,
    /// Key of the sweep random numbers and of generated patterns. Default 0.
    pub seed: u64,
    /// User stream (low 48 bits). Default 0.
    pub stream: u64,
}

// SAFETY: repr(C), Copy, plain numbers only, `struct_size: u32` first.
unsafe impl Params for fk_hopfield_params {
    const NAME: &'static str = "fk_hopfield_params";
    fn defaults() -> Self {
        fk_hopfield_params_default()
    }
}

/// Default parameters: p = 2, N = 1000, K = 50, T = 0, Glauber, seed 0.
#[no_mangle]
pub extern "C" fn fk_hopfield_params_default() -> fk_hopfield_params {
    guard_value("fk_hopfield_params_default", HOPFIELD_DEFAULTS, || {
        HOPFIELD_DEFAULTS
    })
}

const HOPFIELD_DEFAULTS: fk_hopfield_params = fk_hopfield_params {
    struct_size: std::mem::size_of::<fk_hopfield_params>() as u32,
    order: 2,
    n_neurons: 1000,
    n_patterns: 50,
    temperature: 0.0,
    update: FK_HOPFIELD_GLAUBER,
    seed: 0,
    stream: 0,
};

/// Creates a network. `patterns` is `[n_patterns][n_neurons]` row-major int8
/// (each +1 or -1) with `n_values = n_patterns * n_neurons` (copied; borrowed
/// for the call only), or NULL (then `n_values` is ignored) to generate
/// independent random patterns from (seed, stream). The state starts at
/// pattern 0. Energy `E = -(N/p) sum_mu m_mu^p`, couplings implicit through
/// the overlaps (O(K) per flip): see `src/mc/hopfield.rs`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`
/// (N or K zero, `n_values` inconsistent), `FK_ERR_OUT_OF_RANGE` (p outside
/// 2..=64, T < 0, a pattern value not +-1: index, pattern and neuron named),
/// `FK_ERR_NON_FINITE`, `FK_ERR_UNKNOWN_ENUM` (update), `FK_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// `params` readable; `patterns` NULL or readable for `n_values` elements;
/// `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_create(
    params: *const fk_hopfield_params,
    patterns: *const i8,
    n_values: usize,
    out: *mut *mut fk_hopfield,
) -> fk_status {
    guard("fk_hopfield_create", || {
        // SAFETY: header contract on `params`.
        let p = unsafe { read_params(params) }?;
        if out.is_null() {
            return Err(Error::new(ErrorKind::NullPointer, "argument `out` is NULL"));
        }
        let update = match p.update {
            FK_HOPFIELD_GLAUBER => crate::mc::hopfield::HopfieldUpdate::Glauber,
            FK_HOPFIELD_METROPOLIS => crate::mc::hopfield::HopfieldUpdate::Metropolis,
            other => {
                return Err(Error::new(
                    ErrorKind::UnknownEnum,
                    format!("update = {other}: not FK_HOPFIELD_GLAUBER or FK_HOPFIELD_METROPOLIS"),
                ))
            }
        };
        let pats = if patterns.is_null() {
            None
        } else {
            if n_values == 0 {
                return Err(Error::new(
                    ErrorKind::InvalidSize,
                    "n_values = 0 with a non-NULL patterns array",
                ));
            }
            // SAFETY: header contract: `n_values` readable int8.
            Some(unsafe { slice(patterns, n_values, "patterns") }?)
        };
        let net = crate::mc::hopfield::Hopfield::new(
            &crate::mc::hopfield::HopfieldParams {
                order: p.order,
                n_neurons: p.n_neurons,
                n_patterns: p.n_patterns,
                temperature: p.temperature,
                update,
                seed: p.seed,
                stream: p.stream,
            },
            pats,
        )?;
        check_out(out)?;
        // SAFETY: `out` checked non-NULL and aligned just above.
        unsafe { publish::<fk_hopfield>(out, net) };
        Ok(())
    })
}

/// Frees a network; NULL is a no-op; a pointer that is not a live
/// `fk_hopfield` is left alone and reported (`FK_ERR_WRONG_HANDLE`).
///
/// # Safety
/// `handle` is NULL or from `fk_hopfield_create`, not used again.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_destroy(handle: *mut fk_hopfield) -> fk_status {
    guard("fk_hopfield_destroy", || {
        // SAFETY: header contract: NULL or from the create function, not used again.
        unsafe { destroy(handle, "handle") }
    })
}

/// Runs `n_sweeps` sweeps (neurons in index order); `*out_flips` (may be
/// NULL) receives the accepted flips. Sequential; allocates nothing; split
/// runs equal unsplit ones (the sweep counter keys the random numbers).
///
/// # Safety
/// `handle` from `fk_hopfield_create`; `out_flips` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_sweep(
    handle: *mut fk_hopfield,
    n_sweeps: usize,
    out_flips: *mut u64,
) -> fk_status {
    guard("fk_hopfield_sweep", || {
        // SAFETY: header contract.
        let mut net = unsafe { value_mut(handle, "handle") }?;
        if !out_flips.is_null() && !out_flips.is_aligned() {
            return Err(Error::new(
                ErrorKind::Misaligned,
                "argument `out_flips` is not aligned to 8 bytes",
            ));
        }
        let flips = net.sweep(n_sweeps)?;
        if !out_flips.is_null() {
            write_out(out_flips, flips, "out_flips")?;
        }
        Ok(())
    })
}

/// Replaces the state (`n = n_neurons` int8 values, each +-1); unchanged on error.
///
/// # Safety
/// `handle` from `fk_hopfield_create`; `state` readable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_set_state(
    handle: *mut fk_hopfield,
    state: *const i8,
    n: usize,
) -> fk_status {
    guard("fk_hopfield_set_state", || {
        // SAFETY: header contract.
        let mut net = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract: `n` readable int8.
        let s = unsafe { slice(state, n, "state") }?;
        net.set_state(s)
    })
}

/// Copies the state out (`n = n_neurons`).
///
/// # Safety
/// `handle` from `fk_hopfield_create`; `state` writable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_get_state(
    handle: *const fk_hopfield,
    state: *mut i8,
    n: usize,
) -> fk_status {
    guard("fk_hopfield_get_state", || {
        // SAFETY: header contract.
        let net = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `n` writable int8.
        let out = unsafe { slice_mut(state, n, "state") }?;
        if out.len() != net.n_neurons() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "state has {n} elements, need n_neurons = {}",
                    net.n_neurons()
                ),
            ));
        }
        out.copy_from_slice(net.state());
        Ok(())
    })
}

/// Copies pattern `mu` (`n = n_neurons` values).
///
/// # Safety
/// `handle` from `fk_hopfield_create`; `pattern` writable for `n` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_get_pattern(
    handle: *const fk_hopfield,
    mu: usize,
    pattern: *mut i8,
    n: usize,
) -> fk_status {
    guard("fk_hopfield_get_pattern", || {
        // SAFETY: header contract.
        let net = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `n` writable int8.
        let out = unsafe { slice_mut(pattern, n, "pattern") }?;
        net.pattern_into(mu, out)
    })
}

/// Overlaps `m_mu = (1/N) sum_i xi_i^mu s_i` into `overlaps[0..k)`,
/// `k = n_patterns`.
///
/// # Safety
/// `handle` from `fk_hopfield_create`; `overlaps` writable for `k` elements.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_overlaps(
    handle: *const fk_hopfield,
    overlaps: *mut f64,
    k: usize,
) -> fk_status {
    guard("fk_hopfield_overlaps", || {
        // SAFETY: header contract.
        let net = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `k` writable doubles.
        let out = unsafe { slice_mut(overlaps, k, "overlaps") }?;
        net.overlaps_into(out)
    })
}

/// Energy `E = -(N/p) sum_mu m_mu^p` of the current state.
///
/// # Safety
/// `handle` from `fk_hopfield_create`; `out_energy` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_energy(
    handle: *const fk_hopfield,
    out_energy: *mut f64,
) -> fk_status {
    guard("fk_hopfield_energy", || {
        // SAFETY: header contract.
        let net = unsafe { value_ref(handle, "handle") }?;
        write_out(out_energy, net.energy(), "out_energy")
    })
}

/// Sets T >= 0. Errors: `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_RANGE` (T < 0).
///
/// # Safety
/// `handle` from `fk_hopfield_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_set_temperature(
    handle: *mut fk_hopfield,
    temperature: f64,
) -> fk_status {
    guard("fk_hopfield_set_temperature", || {
        // SAFETY: header contract.
        let mut net = unsafe { value_mut(handle, "handle") }?;
        net.set_temperature(temperature)
    })
}

/// Sweeps done so far (keys the next sweep's random numbers).
///
/// # Safety
/// `handle` from `fk_hopfield_create`; `out_sweeps` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_get_sweep_count(
    handle: *const fk_hopfield,
    out_sweeps: *mut u64,
) -> fk_status {
    guard("fk_hopfield_get_sweep_count", || {
        // SAFETY: header contract.
        let net = unsafe { value_ref(handle, "handle") }?;
        write_out(out_sweeps, net.sweeps_done(), "out_sweeps")
    })
}

/// Sets the sweep counter (restore a checkpoint together with the state).
///
/// # Safety
/// `handle` from `fk_hopfield_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_hopfield_set_sweep_count(
    handle: *mut fk_hopfield,
    sweeps: u64,
) -> fk_status {
    guard("fk_hopfield_set_sweep_count", || {
        // SAFETY: header contract.
        let mut net = unsafe { value_mut(handle, "handle") }?;
        net.set_sweeps_done(sweeps);
        Ok(())
    })
}

const ISING_REPLICAS_MAGIC: u64 = 0x464B_4953_5245_5031; // "FKISREP1"

/// Number of replicas of an `fk_ising_replicas` lattice (bits per site word).
pub const FK_ISING_REPLICAS: usize = 64;

/// Opaque handle of 64 Ising replicas of one periodic 2D / 3D lattice, one
/// replica per bit of a 64-bit site word, each replica at its own
/// temperature, updated together by checkerboard Metropolis (replica
/// multi-spin coding). Created by `fk_ising_replicas_create`, freed by
/// `fk_ising_replicas_destroy`. Same threading rules as `fk_ising`.
#[allow(non_camel_case_types)]
pub struct fk_ising_replicas {
    _opaque: [u8; 0],
}

impl Opaque for fk_ising_replicas {
    type Value = crate::mc::ising_replicas::IsingReplicas;
    const MAGIC: u64 = ISING_REPLICAS_MAGIC;
    const KIND: &'static str = "fk_ising_replicas";
}

/// Parameters of `fk_ising_replicas_create`; defaults from
/// `fk_ising_replicas_params_default()`. Temperatures are passed to create.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_ising_replicas_params {
    /// `sizeof(fk_ising_replicas_params)`.
    pub struct_size: u32,
    /// 2 (square) or 3 (cubic). Default 2.
    pub dim: u32,
    /// Sides, each even and >= 2 (`lz` ignored for dim 2), at most 2^32 - 1
    /// sites. Default 64 x 64.
    pub lx: usize,
    pub ly: usize,
    pub lz: usize,
    /// Coupling J (finite, any sign). Default 1.
    pub coupling: f64,
    /// Field h (finite). Default 0.
    pub field: f64,
    /// Key of the random streams. Default 0.
    pub seed: u64,
    /// User stream (low 48 bits). Default 0.
    pub stream: u64,
    /// 0: all spins +1 (default); 1: independent random spins in every
    /// replica from (seed, stream).
    pub hot_start: u32,
}

// SAFETY: repr(C), Copy, plain numbers only, `struct_size: u32` first.
unsafe impl Params for fk_ising_replicas_params {
    const NAME: &'static str = "fk_ising_replicas_params";
    fn defaults() -> Self {
        fk_ising_replicas_params_default()
    }
}

const ISING_REPLICAS_DEFAULTS: fk_ising_replicas_params = fk_ising_replicas_params {
    struct_size: std::mem::size_of::<fk_ising_replicas_params>() as u32,
    dim: 2,
    lx: 64,
    ly: 64,
    lz: 1,
    coupling: 1.0,
    field: 0.0,
    seed: 0,
    stream: 0,
    hot_start: 0,
};

/// Default parameters: 2D, 64 x 64, J = 1, h = 0, seed 0, stream 0, cold
/// start. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_ising_replicas_params_default() -> fk_ising_replicas_params {
    guard_value(
        "fk_ising_replicas_params_default",
        ISING_REPLICAS_DEFAULTS,
        || ISING_REPLICAS_DEFAULTS,
    )
}

/// Creates 64 replicas of a periodic lattice. `temperatures[0..n)`,
/// 1 <= n <= 64, each finite and > 0 (copied): replica b runs at
/// `temperatures[b % n]` (so every replica is used; pass 64 values for a
/// 64-point temperature scan, or 4 values for 16 replicas at each of 4
/// temperatures). Allocates 8 bytes per site plus ~90 KB of acceptance
/// tables; no later call allocates.
///
/// Storage, update and random numbers (documented in
/// `src/mc/ising_replicas.rs`): bit b of a site's 64-bit word is replica b's
/// spin (1 = +1). Checkerboard Metropolis; ONE 32-bit Philox word w per
/// (sweep, colour, site), keyed by (seed, stream), shared by the replicas:
/// replica b uses `w_b = (w + b 2^26) mod 2^32` and flips iff
/// `w_b < max(ceil(p 2^32), 1)`, `p = min(1, exp(-dE / T_b))` (at least one
/// word accepts, as in the single-spin kernels). Each replica alone is
/// exactly the single-spin checkerboard Metropolis chain (its words are
/// independent uniforms); different replicas are correlated through the
/// shared w (fixed relative rotation, stratified rather than identical
/// decisions): estimate errors of replica averages from per-sweep averages
/// binned in time.
///
/// Errors: `FK_ERR_NULL_POINTER` (params, temperatures or out NULL),
/// `FK_ERR_STRUCT_SIZE`, `FK_ERR_OUT_OF_RANGE` (dim not 2 or 3, a
/// temperature <= 0, hot_start > 1), `FK_ERR_INVALID_SIZE` (a side odd or
/// < 2, more than 2^32 - 1 sites, n = 0 or n > 64), `FK_ERR_NON_FINITE`
/// (J, h or a temperature NaN / infinite; the message names the index),
/// `FK_ERR_OUT_OF_MEMORY`. `*out` is written only on success.
///
/// # Safety
/// `params` readable (or NULL); `temperatures` readable for `n` doubles;
/// `out` writable (or NULL).
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_create(
    params: *const fk_ising_replicas_params,
    temperatures: *const f64,
    n: usize,
    out: *mut *mut fk_ising_replicas,
) -> fk_status {
    guard("fk_ising_replicas_create", || {
        // SAFETY: header contract on `params`.
        let p = unsafe { read_params(params) }?;
        check_out(out)?;
        if temperatures.is_null() {
            return Err(Error::new(
                ErrorKind::NullPointer,
                "argument `temperatures` is NULL",
            ));
        }
        // SAFETY: header contract: `n` readable doubles.
        let temps = unsafe { slice(temperatures, n, "temperatures") }?;
        if p.hot_start > 1 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("hot_start = {}: must be 0 or 1", p.hot_start),
            ));
        }
        let lattice = crate::mc::ising_replicas::IsingReplicas::new(
            &crate::mc::ising_replicas::IsingReplicasParams {
                dim: p.dim as usize,
                lx: p.lx,
                ly: p.ly,
                lz: p.lz,
                coupling: p.coupling,
                field: p.field,
                seed: p.seed,
                stream: p.stream,
                hot_start: p.hot_start == 1,
            },
            temps,
        )?;
        // SAFETY: `out` checked non-NULL and aligned just above.
        unsafe { publish::<fk_ising_replicas>(out, lattice) };
        Ok(())
    })
}

/// Frees a replica lattice; NULL is a no-op; a pointer that is not a live
/// `fk_ising_replicas` is left alone and reported (`FK_ERR_WRONG_HANDLE`).
///
/// # Safety
/// `handle` is NULL or from `fk_ising_replicas_create`, not used again.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_destroy(handle: *mut fk_ising_replicas) -> fk_status {
    guard("fk_ising_replicas_destroy", || {
        // SAFETY: header contract: NULL or from the create function, not used again.
        unsafe { destroy(handle, "handle") }
    })
}

/// Number of sites N = `lx * ly (* lz)` of each replica into `*out_sites`.
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; `out_sites` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_num_sites(
    handle: *const fk_ising_replicas,
    out_sites: *mut usize,
) -> fk_status {
    guard("fk_ising_replicas_num_sites", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        write_out(out_sites, lat.n_sites(), "out_sites")
    })
}

/// Sets 1 to 64 temperatures for the following sweeps (replica b at
/// `temperatures[b % n]`, as in create); rebuilds the acceptance tables in
/// place (no allocation). Errors as in create; unchanged on error.
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; `temperatures` readable for `n`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_set_temperatures(
    handle: *mut fk_ising_replicas,
    temperatures: *const f64,
    n: usize,
) -> fk_status {
    guard("fk_ising_replicas_set_temperatures", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        if temperatures.is_null() {
            return Err(Error::new(
                ErrorKind::NullPointer,
                "argument `temperatures` is NULL",
            ));
        }
        // SAFETY: header contract: `n` readable doubles.
        let temps = unsafe { slice(temperatures, n, "temperatures") }?;
        lat.set_temperatures(temps)
    })
}

/// Replaces the spins of all replicas from `spins[0..n)`, `n = 64 N`,
/// layout `[replica][site]` (replica b's row-major lattice at `b N`), each
/// +1 or -1. Borrowed for the call only.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE` (n != 64 N),
/// `FK_ERR_OUT_OF_RANGE` (a spin not +-1; index, replica and site named),
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`. Unchanged on error.
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; `spins` readable for `n`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_set_spins(
    handle: *mut fk_ising_replicas,
    spins: *const i8,
    n: usize,
) -> fk_status {
    guard("fk_ising_replicas_set_spins", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        // SAFETY: header contract: `n` readable int8.
        let spins = unsafe { slice(spins, n, "spins") }?;
        lat.set_spins(spins)
    })
}

/// Copies the spins of all replicas into `spins[0..n)`, `n = 64 N`, layout
/// `[replica][site]` as in `fk_ising_replicas_set_spins`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`. `spins` untouched on error.
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; `spins` writable for `n`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_get_spins(
    handle: *const fk_ising_replicas,
    spins: *mut i8,
    n: usize,
) -> fk_status {
    guard("fk_ising_replicas_get_spins", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `n` writable int8.
        let out = unsafe { slice_mut(spins, n, "spins") }?;
        lat.spins_into(out)
    })
}

/// Copies replica `replica`'s spins (row-major int8, `n = N`).
///
/// Errors: `FK_ERR_OUT_OF_RANGE` (replica >= 64), `FK_ERR_NULL_POINTER`,
/// `FK_ERR_INVALID_SIZE`, `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`.
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; `spins` writable for `n`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_get_replica_spins(
    handle: *const fk_ising_replicas,
    replica: usize,
    spins: *mut i8,
    n: usize,
) -> fk_status {
    guard("fk_ising_replicas_get_replica_spins", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        // SAFETY: header contract: `n` writable int8.
        let out = unsafe { slice_mut(spins, n, "spins") }?;
        lat.replica_spins_into(replica, out)
    })
}

/// Runs `n_sweeps` checkerboard Metropolis sweeps of all 64 replicas. If
/// `energy` / `magnetisation` are not NULL they must hold `64 n_sweeps`
/// doubles and receive, `[sweep][replica]`, the energy per spin `H / N` and
/// magnetisation per spin of each replica after each sweep. Parallel over
/// rows; allocates nothing; bitwise identical for any thread count and any
/// split of the sweeps into calls (the sweep counter is in the handle).
///
/// Errors: `FK_ERR_INVALID_SIZE` (64 n_sweeps overflows),
/// `FK_ERR_OUT_OF_RANGE` (sweep counter overflow), `FK_ERR_MISALIGNED`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`. Nothing changes on error.
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; non-NULL arrays writable for
/// `64 n_sweeps` doubles.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_sweep(
    handle: *mut fk_ising_replicas,
    n_sweeps: usize,
    energy: *mut f64,
    magnetisation: *mut f64,
) -> fk_status {
    guard("fk_ising_replicas_sweep", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        let len = n_sweeps.checked_mul(FK_ISING_REPLICAS).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidSize,
                format!("n_sweeps = {n_sweeps}: 64 n_sweeps overflows"),
            )
        })?;
        // SAFETY: header contract on the optional arrays.
        let e = unsafe { optional_out(energy, len, "energy") }?;
        // SAFETY: as above.
        let m = unsafe { optional_out(magnetisation, len, "magnetisation") }?;
        lat.sweep(n_sweeps, e, m)
    })
}

/// Energy per spin and magnetisation per spin of each replica's current
/// spins into `energy[0..n)` and `magnetisation[0..n)`, `n = 64`.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_INVALID_SIZE` (n != 64),
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`.
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; both arrays writable for `n`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_observables(
    handle: *const fk_ising_replicas,
    energy: *mut f64,
    magnetisation: *mut f64,
    n: usize,
) -> fk_status {
    guard("fk_ising_replicas_observables", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        if n != FK_ISING_REPLICAS {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("n = {n}: the arrays must hold 64 values (one per replica)"),
            ));
        }
        for (p, name) in [(energy, "energy"), (magnetisation, "magnetisation")] {
            if p.is_null() {
                return Err(Error::new(
                    ErrorKind::NullPointer,
                    format!("argument `{name}` is NULL"),
                ));
            }
        }
        // SAFETY: header contract: 64 writable doubles each.
        let e = unsafe { slice_mut(energy, n, "energy") }?;
        // SAFETY: as above.
        let m = unsafe { slice_mut(magnetisation, n, "magnetisation") }?;
        let o = lat.observables();
        e.copy_from_slice(&o.energy_per_spin);
        m.copy_from_slice(&o.magnetisation_per_spin);
        Ok(())
    })
}

/// Sweeps done so far (keys the next sweep's random numbers).
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`; `out_sweeps` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_get_sweep_count(
    handle: *const fk_ising_replicas,
    out_sweeps: *mut u64,
) -> fk_status {
    guard("fk_ising_replicas_get_sweep_count", || {
        // SAFETY: header contract.
        let lat = unsafe { value_ref(handle, "handle") }?;
        write_out(out_sweeps, lat.sweeps_done(), "out_sweeps")
    })
}

/// Sets the sweep counter (restore a checkpoint together with the spins:
/// the resumed run is bitwise identical to an unbroken one).
///
/// # Safety
/// `handle` from `fk_ising_replicas_create`.
#[no_mangle]
pub unsafe extern "C" fn fk_ising_replicas_set_sweep_count(
    handle: *mut fk_ising_replicas,
    sweeps: u64,
) -> fk_status {
    guard("fk_ising_replicas_set_sweep_count", || {
        // SAFETY: header contract.
        let mut lat = unsafe { value_mut(handle, "handle") }?;
        lat.set_sweeps_done(sweeps);
        Ok(())
    })
}

const _: () = assert!(FK_ISING_REPLICAS == crate::mc::ising_replicas::REPLICAS);
