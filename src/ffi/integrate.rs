//! Header section "Particles": particle state, force fields and the
//! integrators (velocity Verlet, BAOAB Langevin, Brownian, active Brownian,
//! Kuramoto / noisy XY).
//!
//! Conventions shared by every function of this section:
//! * Particle arrays are caller-owned `double` arrays of length `n`, borrowed
//!   for the duration of a call (see `fk_particles`). No alignment is
//!   required (64-byte alignment is faster).
//! * Units are reduced (energy, length and mass units of the potential).
//! * Step functions take the index `step` of the first step and advance
//!   `n_steps` steps; random numbers depend only on `(seed, stream, step,
//!   particle, draw)`, so a run split into calls (with `step` advanced by the
//!   caller) is bitwise identical to one call, for any thread count.
//! * Step functions never allocate. Validation happens before anything is
//!   modified; if a step fails later (neighbour-table capacity exceeded, user
//!   callback failed), the particles are left at the last completed step and
//!   `*out_steps_done` (may be NULL) says how many steps completed.
//! * Periodic boxes span `[0, L)` per axis. Positions given outside the box
//!   are accepted (any finite value) and wrapped into `[0, L)` by the first
//!   step that moves them; forces always use minimum-image separations.
//! * Handles are not thread-safe: use one handle from one thread at a time
//!   (distinct handles may run concurrently; a handle used by two threads at
//!   once gives `FK_ERR_BUSY`). A force field may be shared by several
//!   integrators but not used by two calls at once. `*out` of a create
//!   function is written only on success.

use std::ffi::c_void;

use super::boundary::{guard, guard_value, slice, slice_mut};
use super::handle::{self, check_out, publish, read_params, value_mut, Guard, Opaque, Params};
use super::nf::{fk_nf_egnn, fk_nf_model};
use super::status::fk_status;
use crate::error::{Error, ErrorKind, Result};
use crate::forces::{
    BatchField, EgnnSource, ForceField, ForceFieldParams, ModelSource, NeuralMode, PairKind, Trap,
};
use crate::integrate::active::{ActiveBrownian, ActiveParams};
use crate::integrate::brownian::{Brownian, BrownianParams};
use crate::integrate::kuramoto::{order_parameter, Kuramoto, KuramotoParams};
use crate::integrate::langevin::{Baoab, LangevinParams};
use crate::integrate::noise::NoiseKind;
use crate::integrate::state::kinetic_mv2;
use crate::integrate::verlet::VelocityVerlet;
use crate::integrate::{Particles, SimBox};
use crate::nf::egnn::Egnn;
use crate::nf::Model;

/// Lennard-Jones truncated at `cutoff` (not shifted): strength = eps, length = sigma.
pub const FK_PAIR_LJ: u32 = 0;
/// Lennard-Jones truncated at `cutoff` and shifted to zero there.
pub const FK_PAIR_LJ_SHIFTED: u32 = 1;
/// WCA: LJ cut at 2^(1/6) sigma and shifted by eps (cutoff ignored).
pub const FK_PAIR_WCA: u32 = 2;
/// Coulomb k/r over all pairs, no cutoff: strength = k = q_i q_j / (4 pi eps0).
pub const FK_PAIR_COULOMB: u32 = 3;
/// Plummer-softened Coulomb k / sqrt(r^2 + a^2), all pairs: length = a.
pub const FK_PAIR_COULOMB_PLUMMER: u32 = 4;
/// Coulomb cut at `cutoff` and shifted (k/r - k/r_c), neighbour lists.
pub const FK_PAIR_COULOMB_CUT: u32 = 5;
/// Softened gravity -k / sqrt(r^2 + eps^2), all pairs: strength = G m_i m_j, length = eps.
pub const FK_PAIR_GRAVITY: u32 = 6;

/// Trap shape for `fk_forcefield_add_delayed_trap`: U = k/2 |r - c|^2.
pub const FK_TRAP_HARMONIC: u32 = 0;
/// Trap shape for `fk_forcefield_add_delayed_trap`: U = k/2 (|r - c| - R)^2.
pub const FK_TRAP_ANNULAR: u32 = 1;

/// A view of caller-owned particle arrays (structure of arrays), all of
/// length `n`. Initialise with `fk_particles_default()` and set the pointers.
///
/// Required: `x`, `y` (and `z` when `dim == 3`). Velocities `vx, vy[, vz]`
/// are required by Verlet and Langevin; orientation unit vectors
/// `ox, oy[, oz]` by active Brownian particles; unused arrays may be NULL.
/// `inv_mass` (NULL = all 1; 0 pins a particle) and `types` (NULL = all type
/// 0; each `< ntypes` of the force field) are optional. The arrays must not
/// overlap each other.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_particles {
    /// `sizeof(fk_particles)`.
    pub struct_size: u32,
    /// 2 or 3.
    pub dim: u32,
    /// Number of particles.
    pub n: usize,
    pub x: *mut f64,
    pub y: *mut f64,
    pub z: *mut f64,
    pub vx: *mut f64,
    pub vy: *mut f64,
    pub vz: *mut f64,
    pub ox: *mut f64,
    pub oy: *mut f64,
    pub oz: *mut f64,
    pub inv_mass: *const f64,
    pub types: *const u32,
}

// SAFETY: repr(C), Copy, plain numbers and pointers, struct_size: u32 first.
unsafe impl Params for fk_particles {
    const NAME: &'static str = "fk_particles";
    fn defaults() -> Self {
        fk_particles_default()
    }
}

/// A particle view with all pointers NULL, `n = 0`, `dim = 3`.
#[no_mangle]
pub extern "C" fn fk_particles_default() -> fk_particles {
    guard_value("fk_particles_default", PARTICLES_DEFAULT, || {
        PARTICLES_DEFAULT
    })
}

const PARTICLES_DEFAULT: fk_particles = fk_particles {
    struct_size: std::mem::size_of::<fk_particles>() as u32,
    dim: 3,
    n: 0,
    x: std::ptr::null_mut(),
    y: std::ptr::null_mut(),
    z: std::ptr::null_mut(),
    vx: std::ptr::null_mut(),
    vy: std::ptr::null_mut(),
    vz: std::ptr::null_mut(),
    ox: std::ptr::null_mut(),
    oy: std::ptr::null_mut(),
    oz: std::ptr::null_mut(),
    inv_mass: std::ptr::null(),
    types: std::ptr::null(),
};

/// Which arrays of `fk_particles` a call reads or writes.
#[derive(Clone, Copy)]
struct Uses {
    velocities: bool,
    orientation: bool,
}

/// Borrows the arrays of `*p`. Optional arrays a call does not use become
/// empty slices.
///
/// # Safety
/// `p` must be NULL or point to an `fk_particles` whose non-NULL pointers
/// each address `n` valid elements, not overlapping, for the call.
unsafe fn particles<'a>(p: *const fk_particles, uses: Uses) -> Result<Particles<'a>> {
    if p.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            "argument `p` (fk_particles) is NULL",
        ));
    }
    // SAFETY: non-NULL; the caller provides a readable fk_particles.
    let v = unsafe { read_params(p) }?;
    if v.dim != 2 && v.dim != 3 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("p->dim = {} must be 2 or 3", v.dim),
        ));
    }
    let n = v.n;
    let three = v.dim == 3;
    // Distinct mutable arrays: overlapping ones would alias.
    let mut_ptrs: [(*mut f64, &str, bool); 9] = [
        (v.x, "x", true),
        (v.y, "y", true),
        (v.z, "z", three),
        (v.vx, "vx", uses.velocities),
        (v.vy, "vy", uses.velocities),
        (v.vz, "vz", uses.velocities && three),
        (v.ox, "ox", uses.orientation),
        (v.oy, "oy", uses.orientation),
        (v.oz, "oz", uses.orientation && three),
    ];
    if n > 0 {
        for (a, &(pa, na, ua)) in mut_ptrs.iter().enumerate() {
            if !ua || pa.is_null() {
                continue;
            }
            for &(pb, nb, ub) in &mut_ptrs[a + 1..] {
                if !ub || pb.is_null() {
                    continue;
                }
                let (sa, sb) = (pa as usize, pb as usize);
                let bytes = n.saturating_mul(8);
                if sa < sb.saturating_add(bytes) && sb < sa.saturating_add(bytes) {
                    return Err(Error::new(
                        ErrorKind::OutOfRange,
                        format!("arrays `{na}` and `{nb}` overlap"),
                    ));
                }
            }
        }
    }
    let take = |ptr: *mut f64, name: &str, used: bool| -> Result<&'a mut [f64]> {
        if !used {
            return Ok(&mut []);
        }
        // SAFETY: the caller provides `n` valid, non-overlapping doubles.
        unsafe { slice_mut(ptr, n, name) }
    };
    let inv_mass = if v.inv_mass.is_null() {
        &[][..]
    } else {
        // SAFETY: non-NULL inv_mass holds n doubles (header contract).
        unsafe { slice(v.inv_mass, n, "inv_mass") }?
    };
    let types = if v.types.is_null() {
        &[][..]
    } else {
        // SAFETY: non-NULL types holds n uint32_t (header contract).
        unsafe { slice(v.types, n, "types") }?
    };
    Ok(Particles {
        dim: v.dim as usize,
        x: take(v.x, "x", true)?,
        y: take(v.y, "y", true)?,
        z: take(v.z, "z", three)?,
        vx: take(v.vx, "vx", uses.velocities)?,
        vy: take(v.vy, "vy", uses.velocities)?,
        vz: take(v.vz, "vz", uses.velocities && three)?,
        ox: take(v.ox, "ox", uses.orientation)?,
        oy: take(v.oy, "oy", uses.orientation)?,
        oz: take(v.oz, "oz", uses.orientation && three)?,
        inv_mass,
        types,
    })
}

/// Writes `v` to `*out` if `out` is not NULL.
///
/// # Safety
/// `out` must be NULL or point to a writable `T`.
unsafe fn write_opt<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: non-NULL, writable (caller contract).
        unsafe { out.write_unaligned(v) };
    }
}

/// Writes `v` to the required output `out`.
///
/// # Safety
/// `out` must be NULL or point to a writable `T`.
unsafe fn write_out<T>(out: *mut T, v: T, name: &str) -> Result<()> {
    if out.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("argument `{name}` is NULL"),
        ));
    }
    // SAFETY: non-NULL, writable (caller contract).
    unsafe { out.write_unaligned(v) };
    Ok(())
}

// ------------------------------------------------------------ force field

/// Parameters of `fk_forcefield_create`; get defaults from
/// `fk_forcefield_params_default()` (3D open box, 1 type, capacity 0 (must be
/// set), skin 0.3, 128 neighbours per particle).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_forcefield_params {
    /// `sizeof(fk_forcefield_params)`.
    pub struct_size: u32,
    /// 2 or 3.
    pub dim: u32,
    /// 1: periodic orthorhombic box `[0, box_x) x [0, box_y) (x [0, box_z))`; 0: open.
    pub periodic: u32,
    /// Number of particle types (>= 1); pair tables are `ntypes x ntypes`.
    pub ntypes: u32,
    pub box_x: f64,
    pub box_y: f64,
    pub box_z: f64,
    /// Largest number of particles the field will see (reserved at create).
    pub capacity: usize,
    /// Verlet skin added to the largest short-range cutoff (>= 0).
    pub skin: f64,
    /// Neighbour slots reserved per particle within r_c + skin (memory:
    /// capacity x (max_neighbors + 2) x 4 bytes). Rule of thumb: 1.5 x
    /// (4/3) pi (r_c + skin)^3 x density in 3D, 1.5 x pi (r_c + skin)^2 x
    /// density in 2D. If the density grows beyond that (e.g. clustering), the
    /// neighbour-list rebuild fails with FK_ERR_CAPACITY: the step call
    /// returns it with the particles at the last completed step (unchanged if
    /// it was the first step) and nothing is allocated; recreate the force
    /// field with a larger max_neighbors and continue from that step.
    pub max_neighbors: u32,
}

// SAFETY: repr(C), Copy, plain numbers and pointers, struct_size: u32 first.
unsafe impl Params for fk_forcefield_params {
    const NAME: &'static str = "fk_forcefield_params";
    fn defaults() -> Self {
        fk_forcefield_params_default()
    }
}

/// Default force-field parameters (see `fk_forcefield_params`).
#[no_mangle]
pub extern "C" fn fk_forcefield_params_default() -> fk_forcefield_params {
    guard_value("fk_forcefield_params_default", FF_DEFAULT, || FF_DEFAULT)
}

const FF_DEFAULT: fk_forcefield_params = fk_forcefield_params {
    struct_size: std::mem::size_of::<fk_forcefield_params>() as u32,
    dim: 3,
    periodic: 0,
    ntypes: 1,
    box_x: 0.0,
    box_y: 0.0,
    box_z: 0.0,
    capacity: 0,
    skin: 0.3,
    max_neighbors: 128,
};

pub(crate) struct FieldState {
    ff: ForceField,
    /// sum m v^2 at the last fk_forcefield_compute (0 without velocities).
    mv2: f64,
}

/// A force field: a sum of pair terms, external fields and at most one user
/// callback, evaluated in one pass. Opaque; create with `fk_forcefield_create`.
#[allow(non_camel_case_types)]
pub struct fk_forcefield {
    _opaque: [u8; 0],
}

impl Opaque for fk_forcefield {
    type Value = FieldState;
    const MAGIC: u64 = 0x464B_4646_3331_0001;
    const KIND: &'static str = "fk_forcefield";
}

/// Batch force callback: for the `n` particles at `x, y, z` (`z` and `fz` are
/// NULL in 2D) write forces into `fx, fy, fz` (zeroed before the call) and
/// the field's total energy into `*energy` (0 before the call). Return 0
/// (`FK_OK`) on success; any other value stops the step with
/// `FK_ERR_CALLBACK` and leaves the particles at the last completed step.
/// Called on the calling thread, once per force evaluation; it may call
/// fieldkern functions on other handles.
#[allow(non_camel_case_types)]
pub type fk_force_callback = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        n: usize,
        x: *const f64,
        y: *const f64,
        z: *const f64,
        fx: *mut f64,
        fy: *mut f64,
        fz: *mut f64,
        energy: *mut f64,
    ) -> i32,
>;

struct CallbackField {
    f: unsafe extern "C" fn(
        *mut c_void,
        usize,
        *const f64,
        *const f64,
        *const f64,
        *mut f64,
        *mut f64,
        *mut f64,
        *mut f64,
    ) -> i32,
    user: *mut c_void,
}

// SAFETY: the callback is only invoked from the thread that called the step
// function (BatchField::eval runs before the parallel force loop); the user
// pointer is the caller's, passed back unchanged.
unsafe impl Send for CallbackField {}
// SAFETY: as above; no shared access happens from other threads.
unsafe impl Sync for CallbackField {}

impl BatchField for CallbackField {
    fn eval(
        &mut self,
        x: &[f64],
        y: &[f64],
        z: &[f64],
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
    ) -> Result<f64> {
        let mut energy = 0.0f64;
        let zp = if z.is_empty() {
            std::ptr::null()
        } else {
            z.as_ptr()
        };
        let fzp = if fz.is_empty() {
            std::ptr::null_mut()
        } else {
            fz.as_mut_ptr()
        };
        // SAFETY: all arrays hold x.len() elements (or are NULL in 2D) and stay
        // valid for the call; the function pointer is the user's.
        let rc = unsafe {
            (self.f)(
                self.user,
                x.len(),
                x.as_ptr(),
                y.as_ptr(),
                zp,
                fx.as_mut_ptr(),
                fy.as_mut_ptr(),
                fzp,
                &mut energy,
            )
        };
        if rc != 0 {
            return Err(Error::new(
                ErrorKind::Callback,
                format!("the force callback returned {rc}"),
            ));
        }
        Ok(energy)
    }
}

/// Creates an empty force field (add terms with `fk_forcefield_add_*`).
/// Reserves the per-term accumulators; neighbour tables are reserved when the
/// first short-range pair term is added. `*out` receives the handle (written
/// only on success). Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (dim, ntypes, capacity, skin, max_neighbors, box
/// lengths not finite and > 0 when periodic).
///
/// # Safety
/// `params` and `out` must be valid pointers (or NULL, which is an error).
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_create(
    params: *const fk_forcefield_params,
    out: *mut *mut fk_forcefield,
) -> fk_status {
    guard("fk_forcefield_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let dim = p.dim as usize;
        let sbox = if p.periodic != 0 {
            SimBox::periodic(dim, [p.box_x, p.box_y, p.box_z])
        } else {
            SimBox::open(dim)
        };
        let ff = ForceField::new(ForceFieldParams {
            sbox,
            ntypes: p.ntypes as usize,
            capacity: p.capacity,
            skin: p.skin,
            max_neighbors: p.max_neighbors as usize,
        })?;
        // SAFETY: non-NULL, writable.
        unsafe { publish::<fk_forcefield>(out, FieldState { ff, mv2: 0.0 }) };
        Ok(())
    })
}

/// Frees a force field. NULL is a no-op; a wrong or destroyed handle gives
/// `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `ff` must be NULL or a handle from `fk_forcefield_create` not in use.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_destroy(ff: *mut fk_forcefield) -> fk_status {
    guard("fk_forcefield_destroy", || {
        // SAFETY: header contract.
        unsafe { handle::destroy(ff, "ff") }
    })
}

/// Adds a pair term of kind `FK_PAIR_*` with per-type-pair tables of
/// `n_type_pairs = ntypes * ntypes` entries each (row-major, symmetric):
/// `strength` (LJ/WCA: eps >= 0; Coulomb: k; gravity: G m_i m_j),
/// `length` (LJ/WCA: sigma > 0; Plummer/gravity: softening >= 0; may be NULL
/// for plain and cut Coulomb), `cutoff` (LJ, cut Coulomb: r_c; may be NULL
/// for the other kinds). Short-range kinds (LJ, WCA, cut Coulomb) use cell
/// lists with the Verlet skin; the others are summed over all pairs in SIMD.
/// `*out_term` (may be NULL) receives the term's index for
/// `fk_forcefield_term_energy`. Not thread-safe; allocates (setup call).
///
/// Errors: `FK_ERR_UNKNOWN_ENUM` (kind), `FK_ERR_INVALID_SIZE` (n_type_pairs),
/// `FK_ERR_NULL_POINTER`, `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_RANGE`
/// (negative eps/length, asymmetric table, periodic box shorter than
/// 2 (cutoff + skin)), `FK_ERR_CAPACITY` (more than 16 terms),
/// `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// Non-NULL arrays must hold `n_type_pairs` doubles.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_add_pair(
    ff: *mut fk_forcefield,
    kind: u32,
    strength: *const f64,
    length: *const f64,
    cutoff: *const f64,
    n_type_pairs: usize,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_pair", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        let kind = match kind {
            FK_PAIR_LJ => PairKind::LennardJones,
            FK_PAIR_LJ_SHIFTED => PairKind::LennardJonesShifted,
            FK_PAIR_WCA => PairKind::Wca,
            FK_PAIR_COULOMB => PairKind::Coulomb,
            FK_PAIR_COULOMB_PLUMMER => PairKind::CoulombPlummer,
            FK_PAIR_COULOMB_CUT => PairKind::CoulombCut,
            FK_PAIR_GRAVITY => PairKind::Gravity,
            k => {
                return Err(Error::new(
                    ErrorKind::UnknownEnum,
                    format!("kind = {k} is not an FK_PAIR_* value"),
                ))
            }
        };
        let nt = st.ff.params().ntypes;
        if n_type_pairs != nt * nt {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("n_type_pairs = {n_type_pairs} but ntypes^2 = {}", nt * nt),
            ));
        }
        // SAFETY: header contract: n_type_pairs doubles each.
        let strength = unsafe { slice(strength, n_type_pairs, "strength") }?;
        let needs_length = !matches!(kind, PairKind::Coulomb | PairKind::CoulombCut);
        let needs_cutoff = matches!(
            kind,
            PairKind::LennardJones | PairKind::LennardJonesShifted | PairKind::CoulombCut
        );
        let zeros = vec![0.0; n_type_pairs];
        let length = if needs_length || !length.is_null() {
            // SAFETY: as above.
            unsafe { slice(length, n_type_pairs, "length") }?
        } else {
            &zeros[..]
        };
        let cutoff = if needs_cutoff || !cutoff.is_null() {
            // SAFETY: as above.
            unsafe { slice(cutoff, n_type_pairs, "cutoff") }?
        } else {
            &zeros[..]
        };
        let id = st.ff.add_pair(kind, strength, length, cutoff)?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// Adds a uniform force `(fx, fy, fz)` on every particle (energy -F.r);
/// `fz` is ignored in 2D. Errors: `FK_ERR_NON_FINITE`, `FK_ERR_CAPACITY`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_NULL_POINTER`.
///
/// # Safety
/// `ff` must be a valid handle; `out_term` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_add_uniform(
    ff: *mut fk_forcefield,
    fx: f64,
    fy: f64,
    fz: f64,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_uniform", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        let id = st.ff.add_uniform([fx, fy, fz])?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// Adds a harmonic trap U = k/2 |r - c|^2 centred at `(cx, cy, cz)` (absolute
/// coordinates, no minimum image). Errors: `FK_ERR_NON_FINITE`,
/// `FK_ERR_OUT_OF_RANGE` (k < 0), `FK_ERR_CAPACITY`, `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `ff` must be a valid handle; `out_term` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_add_harmonic(
    ff: *mut fk_forcefield,
    k: f64,
    cx: f64,
    cy: f64,
    cz: f64,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_harmonic", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        let id = st.ff.add_trap(Trap::Harmonic {
            k,
            centre: [cx, cy, cz],
        })?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// Adds an annular trap U = k/2 (|r - c| - R)^2 (a ring in 2D, a spherical
/// shell in 3D). Errors as `fk_forcefield_add_harmonic`, plus R < 0.
///
/// # Safety
/// `ff` must be a valid handle; `out_term` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_add_annular(
    ff: *mut fk_forcefield,
    k: f64,
    radius: f64,
    cx: f64,
    cy: f64,
    cz: f64,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_annular", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        let id = st.ff.add_trap(Trap::Annular {
            k,
            radius,
            centre: [cx, cy, cz],
        })?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// Adds a time-delayed feedback trap (shape `FK_TRAP_HARMONIC` or
/// `FK_TRAP_ANNULAR`; `radius` ignored for harmonic): the force on particle i
/// at step s is the trap force at its position of step `s - delay_steps`.
/// The position history (`delay_steps + 1` copies of the positions) lives in
/// the handle, reserved here; it is indexed by the `step` arguments, and until
/// step `s - delay_steps` has been seen the current position is used.
/// Errors as `fk_forcefield_add_annular`, plus `FK_ERR_UNKNOWN_ENUM`,
/// `FK_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// `ff` must be a valid handle; `out_term` NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fk_forcefield_add_delayed_trap(
    ff: *mut fk_forcefield,
    shape: u32,
    k: f64,
    radius: f64,
    cx: f64,
    cy: f64,
    cz: f64,
    delay_steps: usize,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_delayed_trap", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        let centre = [cx, cy, cz];
        let trap = match shape {
            FK_TRAP_HARMONIC => Trap::Harmonic { k, centre },
            FK_TRAP_ANNULAR => Trap::Annular { k, radius, centre },
            s => {
                return Err(Error::new(
                    ErrorKind::UnknownEnum,
                    format!("shape = {s} is not an FK_TRAP_* value"),
                ))
            }
        };
        let id = st.ff.add_delayed_trap(trap, delay_steps)?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// Adds a user force field evaluated by `callback` once per force evaluation
/// for all particles (see `fk_force_callback`); `user` is passed back
/// unchanged. Batch terms (callbacks, neural fields, EGNN terms) may be
/// combined in one force field, each with its own force buffers; they are
/// evaluated in the order they were added. Errors:
/// `FK_ERR_NULL_POINTER` (callback), `FK_ERR_CAPACITY` (more than 16
/// terms), `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `callback` must be safe to call with the documented arguments while the
/// force field is used.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_add_callback(
    ff: *mut fk_forcefield,
    callback: fk_force_callback,
    user: *mut c_void,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_callback", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        let Some(f) = callback else {
            return Err(Error::new(
                ErrorKind::NullPointer,
                "argument `callback` is NULL",
            ));
        };
        let id = st.ff.add_batch_field(Box::new(CallbackField { f, user }))?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// `fk_forcefield_add_neural_field` mode: the model (`out_dim == 1`) is a
/// potential U(r); forces `-scale grad U(r_i)`, energy `scale sum_i U(r_i)`.
pub const FK_NF_POTENTIAL: i32 = 0;
/// `fk_forcefield_add_neural_field` mode: the model (`out_dim == dim`) is a
/// vector field f(r); forces `scale f(r_i)`, energy 0.
pub const FK_NF_VECTOR_FIELD: i32 = 1;

/// A model borrowed from its C handle for the duration of each evaluation.
struct BorrowedModel(*mut fk_nf_model);

// SAFETY: the pointer is only dereferenced through `handle::value_mut`, which
// checks the tag and claims the model's busy flag, so concurrent use from
// another thread is reported (FK_ERR_BUSY), never a data race; evaluation
// happens on the thread that called the force-field function.
unsafe impl Send for BorrowedModel {}
// SAFETY: as above (no shared access without the busy flag).
unsafe impl Sync for BorrowedModel {}

impl ModelSource for BorrowedModel {
    fn with_model(&mut self, f: &mut dyn FnMut(&mut Model) -> Result<()>) -> Result<()> {
        // SAFETY: `fk_forcefield_add_neural_field` requires the model to
        // outlive the force field; the tag is checked on every evaluation.
        let mut h = unsafe { value_mut(self.0, "model (borrowed by the force field)") }?;
        f(&mut h.model)
    }
}

/// Adds a neural-field term: at every force evaluation the model is evaluated
/// once on all particle positions (converted to `float`, `[n][dim]`, absolute
/// coordinates; wrapped into `[0, L)` in periodic boxes) and used as
///
/// * `FK_NF_POTENTIAL` (model `out_dim == 1`): external potential U(r),
///   forces `-scale grad U(r_i)` (fused value + input gradient), term energy
///   `scale sum_i U(r_i)`;
/// * `FK_NF_VECTOR_FIELD` (model `out_dim == dim`): forces
///   `scale f(r_i)`, term energy 0 (the field need not be conservative).
///
/// The model computes in `float`; forces and energy are accumulated in
/// `double`. Buffers are reserved here for the force field's capacity and the
/// model's workspaces were reserved by its create, so steps allocate nothing;
/// the model's batch split depends only on `n`, so results are bitwise
/// identical for any thread count. It may be combined with other batch terms
/// (callbacks, other neural fields, `fk_forcefield_add_egnn`), each with its
/// own buffers. `*out_term` (may be NULL) receives the term's index.
///
/// Ownership: the model is BORROWED, not copied: it must stay alive (not
/// destroyed) until the force field is destroyed; updating its weights
/// (`fk_nf_model_update_weights`) between steps is allowed and takes effect
/// at the next evaluation. A model destroyed first is reported as
/// `FK_ERR_WRONG_HANDLE` by the next evaluation only as long as its memory was
/// not reused: do not rely on it. Thread-safety: each evaluation claims the
/// model like any call on it, so using the model (or another force field
/// sharing it) from another thread at the same time gives `FK_ERR_BUSY`;
/// sequential sharing between force fields is fine.
///
/// Errors: `FK_ERR_NULL_POINTER` (model), `FK_ERR_WRONG_HANDLE` (ff or model
/// not a live handle of its kind), `FK_ERR_UNKNOWN_ENUM` (mode),
/// `FK_ERR_INVALID_SIZE` (model `in_dim` != the field's dim, or `out_dim` not
/// 1 / dim), `FK_ERR_NON_FINITE` (scale), `FK_ERR_CAPACITY` (more than 16
/// terms), `FK_ERR_BUSY`. Not thread-safe;
/// allocates (setup call).
///
/// # Safety
/// `ff` and `model` must be NULL or handles from their create functions;
/// `out_term` NULL or writable; the model must outlive the force field.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_add_neural_field(
    ff: *mut fk_forcefield,
    model: *mut fk_nf_model,
    mode: i32,
    scale: f64,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_neural_field", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        let (in_dim, out_dim) = {
            // SAFETY: header contract; the tag is checked.
            let h = unsafe { value_mut(model, "model") }?;
            (h.model.in_dim(), h.model.out_dim())
        };
        let mode = match mode {
            FK_NF_POTENTIAL => NeuralMode::Potential,
            FK_NF_VECTOR_FIELD => NeuralMode::VectorField,
            m => {
                return Err(Error::new(
                    ErrorKind::UnknownEnum,
                    format!("mode = {m} is not FK_NF_POTENTIAL or FK_NF_VECTOR_FIELD"),
                ))
            }
        };
        let id = st
            .ff
            .add_neural_field(BorrowedModel(model), in_dim, out_dim, mode, scale)?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// An EGNN layer borrowed from its C handle for the duration of each evaluation.
struct BorrowedEgnn(*mut fk_nf_egnn);

// SAFETY: as for `BorrowedModel`: the pointer is only dereferenced through
// `handle::value_mut` (tag check + busy flag), on the calling thread.
unsafe impl Send for BorrowedEgnn {}
// SAFETY: as above.
unsafe impl Sync for BorrowedEgnn {}

impl EgnnSource for BorrowedEgnn {
    fn with_egnn(&mut self, f: &mut dyn FnMut(&mut Egnn) -> Result<()>) -> Result<()> {
        // SAFETY: `fk_forcefield_add_egnn` requires the layer to outlive the
        // force field; the tag is checked on every evaluation.
        let mut h = unsafe { value_mut(self.0, "egnn (borrowed by the force field)") }?;
        f(&mut h)
    }
}

/// Adds an EGNN force term (latent force-field models): at every force
/// evaluation the EGNN layer's coordinate update is computed over the
/// particles and used as the force,
///
/// `F_i = scale * coord_scale * sum_{j != i, r_ij <= cutoff} r_ij phi_x(m_ij)`,
/// `m_ij = phi_e(h_i, h_j, |r_ij|^2)`, `r_ij = r_i - r_j`,
///
/// with the layer's own `cutoff` and `coord_scale` (see
/// `fk_nf_egnn_params`) and minimum-image separations in periodic boxes
/// (only the nearest image of each pair interacts, also with an infinite
/// cutoff). 2D particles lie in the plane z = 0. Node features are per
/// particle type: `h_i = type_features[type_i * F .. (type_i + 1) * F]`
/// with `F` the layer's feature width; `type_features` holds
/// `n_type_features = ntypes * F` floats (copied now), or is NULL with
/// `n_type_features = 0` for `h_i = 0`. The term's energy is 0 (the EGNN
/// force is not conservative in general); its virial is `sum_i r_i . F_i`.
/// With a single type, forces are central and pairwise antisymmetric (total
/// force 0).
///
/// Cost per evaluation: all `n (n - 1)` pairs are tested (not the force
/// field's neighbour list), plus one `phi_e` and `phi_x` evaluation per pair
/// within the cutoff; the MLPs compute in `float`, separations and sums in
/// `double`. The layer's edge buffers were reserved by its create (its
/// `max_nodes` must be >= the force field's capacity); the term's buffers
/// are reserved here, so steps allocate nothing. Results are bitwise
/// identical for any thread count. Combines with any other terms, including
/// neural fields and callbacks. `*out_term` (may be NULL) receives the
/// term's index.
///
/// Ownership: the layer is BORROWED, not copied: it must stay alive (not
/// destroyed) until the force field is destroyed. A layer destroyed first is
/// reported as `FK_ERR_WRONG_HANDLE` by the next evaluation only as long as
/// its memory was not reused: do not rely on it. Thread-safety: each
/// evaluation claims the layer like any call on it (`FK_ERR_BUSY` if used
/// from another thread at the same time).
///
/// Errors (nothing added): `FK_ERR_NULL_POINTER` (egnn, or type_features
/// with `n_type_features > 0`), `FK_ERR_WRONG_HANDLE` (ff or egnn not a live
/// handle of its kind), `FK_ERR_INVALID_SIZE` (`n_type_features` neither 0
/// nor `ntypes * F`), `FK_ERR_NON_FINITE` (scale or a feature),
/// `FK_ERR_CAPACITY` (the layer's `max_nodes` < the force field's capacity,
/// or more than 16 terms), `FK_ERR_BUSY`. Not thread-safe; allocates (setup
/// call).
///
/// # Safety
/// `ff` and `egnn` must be NULL or handles from their create functions;
/// `type_features` must hold `n_type_features` floats; `out_term` NULL or
/// writable; the layer must outlive the force field.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_add_egnn(
    ff: *mut fk_forcefield,
    egnn: *mut fk_nf_egnn,
    type_features: *const f32,
    n_type_features: usize,
    scale: f64,
    out_term: *mut usize,
) -> fk_status {
    guard("fk_forcefield_add_egnn", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        // SAFETY: header contract; checks the tag (the term checks it again).
        drop(unsafe { value_mut(egnn, "egnn") }?);
        // SAFETY: the caller provides n_type_features floats.
        let table = unsafe { slice(type_features, n_type_features, "type_features") }?;
        let id = st.ff.add_egnn(BorrowedEgnn(egnn), table, scale)?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_term, id) };
        Ok(())
    })
}

/// Evaluates the total force on every particle into `fx, fy, fz` (length
/// `p->n`; `fz` may be NULL in 2D) at step index `step` (used by delayed
/// traps), together with per-term energies and virials (read them with
/// `fk_forcefield_term_energy` / `fk_forcefield_totals`). If `p->vx` is set
/// the kinetic term of the pressure is taken from the velocities, else it is
/// 0 (configurational pressure). Allocates nothing; parallel; deterministic.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`
/// (dim differs from the field's), `FK_ERR_NON_FINITE` (NaN position),
/// `FK_ERR_OUT_OF_RANGE` (type >= ntypes, overlapping arrays),
/// `FK_ERR_CAPACITY` (n > capacity, neighbour table full),
/// `FK_ERR_CALLBACK`, `FK_ERR_WRONG_HANDLE`. Outputs are untouched on error.
///
/// # Safety
/// `p` as documented at `fk_particles`; `fx, fy[, fz]` must hold `p->n`
/// writable doubles.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_compute(
    ff: *mut fk_forcefield,
    p: *const fk_particles,
    step: u64,
    fx: *mut f64,
    fy: *mut f64,
    fz: *mut f64,
) -> fk_status {
    guard("fk_forcefield_compute", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        // SAFETY: header contract for `p`.
        let has_v = !p.is_null() && !unsafe { p.read_unaligned() }.vx.is_null();
        // SAFETY: header contract for `p`.
        let parts = unsafe {
            particles(
                p,
                Uses {
                    velocities: has_v,
                    orientation: false,
                },
            )
        }?;
        let n = parts.len();
        let pos = parts.positions();
        st.ff.validate(&pos)?;
        if has_v {
            parts.validate(st.ff.params().ntypes, true)?;
        }
        // SAFETY: header contract: n writable doubles each.
        let fx = unsafe { slice_mut(fx, n, "fx") }?;
        // SAFETY: as above.
        let fy = unsafe { slice_mut(fy, n, "fy") }?;
        let fz: &mut [f64] = if parts.dim == 3 {
            // SAFETY: as above.
            unsafe { slice_mut(fz, n, "fz") }?
        } else {
            &mut []
        };
        st.ff.compute(&pos, step, fx, fy, fz, true)?;
        st.mv2 = if has_v { kinetic_mv2(&parts) } else { 0.0 };
        Ok(())
    })
}

/// Number of terms added to the force field (0 on a bad handle).
///
/// # Safety
/// `ff` must be NULL or a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_term_count(ff: *mut fk_forcefield) -> usize {
    guard_value("fk_forcefield_term_count", 0, || {
        // SAFETY: header contract.
        unsafe { value_mut(ff, "ff") }.map_or(0, |st| st.ff.term_count())
    })
}

/// Energy and virial (`sum r_ij . F_ij` for pair terms, `sum r_i . F_i` for
/// external ones) of term `term` at the last `fk_forcefield_compute`.
/// Errors: `FK_ERR_OUT_OF_RANGE` (term >= count), `FK_ERR_NULL_POINTER`,
/// `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `out_energy`, `out_virial` must be writable.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_term_energy(
    ff: *mut fk_forcefield,
    term: usize,
    out_energy: *mut f64,
    out_virial: *mut f64,
) -> fk_status {
    guard("fk_forcefield_term_energy", || {
        // SAFETY: header contract.
        let st = unsafe { value_mut(ff, "ff") }?;
        let (e, w) = st.ff.term_energy(term).ok_or_else(|| {
            Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "term = {term} but the field has {} terms",
                    st.ff.term_count()
                ),
            )
        })?;
        if out_energy.is_null() || out_virial.is_null() {
            return Err(Error::new(
                ErrorKind::NullPointer,
                "`out_energy` or `out_virial` is NULL",
            ));
        }
        // SAFETY: checked non-NULL, writable.
        unsafe { write_out(out_energy, e, "out_energy") }?;
        // SAFETY: checked non-NULL, writable.
        unsafe { write_out(out_virial, w, "out_virial") }
    })
}

/// Totals at the last `fk_forcefield_compute`: potential energy, virial of
/// all terms, and pressure `P = (sum m v^2 + W_pair) / (dim V)` (kinetic
/// part 0 if that call had no velocities; NaN for an open box). Any output
/// may be NULL. Errors: `FK_ERR_WRONG_HANDLE`, `FK_ERR_NULL_POINTER` (ff).
///
/// # Safety
/// Outputs must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_totals(
    ff: *mut fk_forcefield,
    out_energy: *mut f64,
    out_virial: *mut f64,
    out_pressure: *mut f64,
) -> fk_status {
    guard("fk_forcefield_totals", || {
        // SAFETY: header contract.
        let st = unsafe { value_mut(ff, "ff") }?;
        let (u, w, _) = st.ff.totals();
        let pressure = st.ff.pressure(st.mv2);
        // SAFETY: NULL or writable.
        unsafe {
            write_opt(out_energy, u);
            write_opt(out_virial, w);
            write_opt(out_pressure, pressure);
        }
        Ok(())
    })
}

/// Neighbour-list rebuilds so far (0 without short-range terms or on a bad handle).
///
/// # Safety
/// `ff` must be NULL or a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_neighbor_builds(ff: *mut fk_forcefield) -> u64 {
    guard_value("fk_forcefield_neighbor_builds", 0, || {
        // SAFETY: header contract.
        unsafe { value_mut(ff, "ff") }.map_or(0, |st| st.ff.neighbour_builds())
    })
}

/// Writes a spatial order of the particles of `p` into `perm[0..p->n)` for
/// the caller to apply to all of its per-particle arrays (positions,
/// velocities, types, masses, its own data): `perm[k]` is the (0-based)
/// index of the particle that should move to position `k`
/// (`x_new[k] = x[perm[k]]`; in Fortran `x_new(k) = x(perm(k) + 1)`).
/// It is the cell order of the field's neighbour grid at these positions,
/// so after reordering the per-step gathers and force scatters read memory
/// in sequence: the large-N cost of particles stored in random order (as
/// LAMMPS' `atom_modify sort` and HOOMD's sorter remove for their own
/// arrays). The identity without short-range terms. Reordering changes a
/// trajectory's bits (noise and summation order follow indices), not its
/// statistics: apply it on a fixed schedule, e.g. every 1000 steps.
/// Allocates nothing; rebuilds the neighbour list once.
///
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`
/// (dim differs from the field's), `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_RANGE`
/// (type >= ntypes; or the field has a time-delayed trap, whose history is
/// kept per particle index), `FK_ERR_CAPACITY`, `FK_ERR_WRONG_HANDLE`.
/// `perm` is untouched on error.
///
/// # Safety
/// `p` as documented at `fk_particles` (velocities are not read); `perm`
/// must hold `p->n` writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn fk_forcefield_spatial_order(
    ff: *mut fk_forcefield,
    p: *const fk_particles,
    perm: *mut u32,
) -> fk_status {
    guard("fk_forcefield_spatial_order", || {
        // SAFETY: header contract.
        let mut st = unsafe { value_mut(ff, "ff") }?;
        // SAFETY: header contract for `p`.
        let parts = unsafe {
            particles(
                p,
                Uses {
                    velocities: false,
                    orientation: false,
                },
            )
        }?;
        // SAFETY: header contract: n writable uint32_t.
        let perm = unsafe { slice_mut(perm, parts.len(), "perm") }?;
        st.ff.spatial_order(&parts.positions(), perm)
    })
}

/// Borrows the optional force field of a step call (NULL: none).
///
/// # Safety
/// `ff` must be NULL or a valid handle.
unsafe fn optional_field<'a>(ff: *mut fk_forcefield) -> Result<Option<Guard<'a, FieldState>>> {
    if ff.is_null() {
        return Ok(None);
    }
    // SAFETY: header contract.
    Ok(Some(unsafe { value_mut(ff, "ff") }?))
}

/// Maps a step result: writes the completed steps, returns the error.
///
/// # Safety
/// `out_steps_done` must be NULL or writable.
unsafe fn finish_steps(done: (usize, Result<()>), out_steps_done: *mut u64) -> Result<()> {
    // SAFETY: NULL or writable.
    unsafe { write_opt(out_steps_done, done.0 as u64) };
    done.1
}

/// Clears `*out_steps_done` before validation so it is 0 on early errors.
///
/// # Safety
/// `out_steps_done` must be NULL or writable.
unsafe fn zero_steps(out_steps_done: *mut u64) {
    // SAFETY: NULL or writable.
    unsafe { write_opt(out_steps_done, 0) };
}

// ------------------------------------------------------------ velocity Verlet

/// Parameters of `fk_verlet_create`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_verlet_params {
    /// `sizeof(fk_verlet_params)`.
    pub struct_size: u32,
    /// 2 or 3.
    pub dim: u32,
    /// Largest particle count (force buffers reserved at create).
    pub capacity: usize,
    /// Time step (> 0).
    pub dt: f64,
}

// SAFETY: repr(C), Copy, plain numbers and pointers, struct_size: u32 first.
unsafe impl Params for fk_verlet_params {
    const NAME: &'static str = "fk_verlet_params";
    fn defaults() -> Self {
        fk_verlet_params_default()
    }
}

/// Velocity-Verlet integrator (NVE). Opaque.
#[allow(non_camel_case_types)]
pub struct fk_verlet {
    _opaque: [u8; 0],
}

impl Opaque for fk_verlet {
    type Value = VelocityVerlet;
    const MAGIC: u64 = 0x464B_5645_524C_0001;
    const KIND: &'static str = "fk_verlet";
}

/// Defaults: dim 3, capacity 0 (must be set), dt 0.005.
#[no_mangle]
pub extern "C" fn fk_verlet_params_default() -> fk_verlet_params {
    guard_value(
        "fk_verlet_params_default",
        verlet_defaults(),
        verlet_defaults,
    )
}

fn verlet_defaults() -> fk_verlet_params {
    fk_verlet_params {
        struct_size: std::mem::size_of::<fk_verlet_params>() as u32,
        dim: 3,
        capacity: 0,
        dt: 0.005,
    }
}

/// Creates a velocity-Verlet integrator (`v += dt/2 F/m; x += dt v;
/// F = F(x); v += dt/2 F/m`). Reserves force and rollback buffers for
/// `capacity` particles. Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (dt <= 0, dim, capacity 0), `FK_ERR_NON_FINITE`.
///
/// # Safety
/// `params` readable, `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_verlet_create(
    params: *const fk_verlet_params,
    out: *mut *mut fk_verlet,
) -> fk_status {
    guard("fk_verlet_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let v = VelocityVerlet::new(p.dim as usize, p.capacity, p.dt)?;
        // SAFETY: non-NULL, writable.
        unsafe { publish::<fk_verlet>(out, v) };
        Ok(())
    })
}

/// Advances `n_steps` velocity-Verlet steps from step index `step` under the
/// force field `ff` (NULL: free flight in an open box). Needs `x, y[, z]` and
/// `vx, vy[, vz]`. Positions and types may be edited between calls: a call
/// starts by evaluating the forces unless the previous call on this handle
/// ended with the same force field (unchanged since), bitwise the same
/// positions and types, and no batch or delayed terms; then it reuses the
/// forces it ended with (the same bits). So a loop of one-step calls costs
/// one force evaluation per step, like one long call (the same holds for
/// `fk_langevin_step`). With batch terms (callbacks, neural fields, EGNN),
/// whose state the caller may change between calls, every call evaluates at
/// its start: advance many steps per call there.
/// See the section notes for errors, rollback and `out_steps_done`.
///
/// # Safety
/// Handles valid; `p` as documented at `fk_particles`.
#[no_mangle]
pub unsafe extern "C" fn fk_verlet_step(
    h: *mut fk_verlet,
    ff: *mut fk_forcefield,
    p: *const fk_particles,
    step: u64,
    n_steps: usize,
    out_steps_done: *mut u64,
) -> fk_status {
    guard("fk_verlet_step", || {
        // SAFETY: NULL or writable.
        unsafe { zero_steps(out_steps_done) };
        // SAFETY: header contract.
        let mut v = unsafe { value_mut(h, "h") }?;
        // SAFETY: header contract.
        let mut field = unsafe { optional_field(ff) }?;
        let ff = field.as_deref_mut().map(|f| &mut f.ff);
        // SAFETY: header contract.
        let mut parts = unsafe {
            particles(
                p,
                Uses {
                    velocities: true,
                    orientation: false,
                },
            )
        }?;
        // SAFETY: NULL or writable.
        unsafe { finish_steps(v.step(ff, &mut parts, step, n_steps), out_steps_done) }
    })
}

/// Switches a Verlet integrator to bit-reversible stepping on the grid
/// `2^-fraction_bits` (Levesque & Verlet 1993), or back with 0. Positions and
/// velocities are rounded to the grid at the start of each step call, and
/// every increment `dt/2 F/m`, `dt v` is rounded to it, so each sub-step is
/// exact: negating the velocities and stepping again retraces the
/// trajectory bit for bit, for any number of steps. Needs periodic box
/// lengths that are multiples of the grid and |x|, |v| < 2^(51 -
/// fraction_bits); otherwise `fk_verlet_step` fails with
/// `FK_ERR_OUT_OF_RANGE` and the state unchanged. `fraction_bits = 40`
/// (grid 9.1e-13) suits reduced LJ units. Errors: `FK_ERR_OUT_OF_RANGE`
/// (`fraction_bits` not 0 and outside 8..=48), `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `h` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_verlet_set_bit_reversible(
    h: *mut fk_verlet,
    fraction_bits: u32,
) -> fk_status {
    guard("fk_verlet_set_bit_reversible", || {
        // SAFETY: header contract.
        unsafe { value_mut(h, "h") }?.set_bit_reversible(fraction_bits)
    })
}

/// Frees a Verlet integrator (NULL is a no-op).
///
/// # Safety
/// `h` must be NULL or a valid handle not in use.
#[no_mangle]
pub unsafe extern "C" fn fk_verlet_destroy(h: *mut fk_verlet) -> fk_status {
    guard("fk_verlet_destroy", || {
        // SAFETY: header contract.
        unsafe { handle::destroy(h, "h") }
    })
}

// ------------------------------------------------------------ BAOAB Langevin

/// Parameters of `fk_langevin_create`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_langevin_params {
    /// `sizeof(fk_langevin_params)`.
    pub struct_size: u32,
    /// 2 or 3.
    pub dim: u32,
    /// Largest particle count.
    pub capacity: usize,
    /// Time step (> 0).
    pub dt: f64,
    /// Friction rate gamma (1/time, >= 0).
    pub gamma: f64,
    /// Temperature kT (>= 0).
    pub kt: f64,
    /// Philox key.
    pub seed: u64,
    /// Sub-stream (< 2^48) so independent runs with one seed differ.
    pub stream: u64,
}

// SAFETY: repr(C), Copy, plain numbers and pointers, struct_size: u32 first.
unsafe impl Params for fk_langevin_params {
    const NAME: &'static str = "fk_langevin_params";
    fn defaults() -> Self {
        fk_langevin_params_default()
    }
}

/// BAOAB Langevin integrator. Opaque.
#[allow(non_camel_case_types)]
pub struct fk_langevin {
    _opaque: [u8; 0],
}

impl Opaque for fk_langevin {
    type Value = Baoab;
    const MAGIC: u64 = 0x464B_4C41_4E47_0001;
    const KIND: &'static str = "fk_langevin";
}

/// Defaults: dim 3, capacity 0 (must be set), dt 0.005, gamma 1, kT 1, seed 0, stream 0.
#[no_mangle]
pub extern "C" fn fk_langevin_params_default() -> fk_langevin_params {
    guard_value(
        "fk_langevin_params_default",
        langevin_defaults(),
        langevin_defaults,
    )
}

fn langevin_defaults() -> fk_langevin_params {
    fk_langevin_params {
        struct_size: std::mem::size_of::<fk_langevin_params>() as u32,
        dim: 3,
        capacity: 0,
        dt: 0.005,
        gamma: 1.0,
        kt: 1.0,
        seed: 0,
        stream: 0,
    }
}

/// Creates a BAOAB Langevin integrator (Leimkuhler & Matthews 2013):
/// `B(dt/2) A(dt/2) O(dt) A(dt/2) B(dt/2)` with
/// `O: v = exp(-gamma dt) v + sqrt((1 - exp(-2 gamma dt)) kT/m) xi`.
/// Noise draw `a` of particle `i` at step `s` is noise element (normal by
/// default; see `fk_langevin_set_noise`)
/// `(s n + i) dim + a` of Philox stream `(1 << 48) | stream` (see
/// `fk_rng_fill_normal_f64`). Errors: `FK_ERR_NULL_POINTER`,
/// `FK_ERR_STRUCT_SIZE`, `FK_ERR_OUT_OF_RANGE` (dt <= 0, gamma < 0, kT < 0,
/// dim, capacity 0), `FK_ERR_NON_FINITE`.
///
/// # Safety
/// `params` readable, `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_langevin_create(
    params: *const fk_langevin_params,
    out: *mut *mut fk_langevin,
) -> fk_status {
    guard("fk_langevin_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let v = Baoab::new(
            p.dim as usize,
            p.capacity,
            LangevinParams {
                dt: p.dt,
                gamma: p.gamma,
                kt: p.kt,
                seed: p.seed,
                stream: p.stream,
            },
        )?;
        // SAFETY: non-NULL, writable.
        unsafe { publish::<fk_langevin>(out, v) };
        Ok(())
    })
}

/// Advances `n_steps` BAOAB steps from step index `step` (see
/// `fk_verlet_step` for the arguments and the section notes for errors).
///
/// # Safety
/// Handles valid; `p` as documented at `fk_particles`.
#[no_mangle]
pub unsafe extern "C" fn fk_langevin_step(
    h: *mut fk_langevin,
    ff: *mut fk_forcefield,
    p: *const fk_particles,
    step: u64,
    n_steps: usize,
    out_steps_done: *mut u64,
) -> fk_status {
    guard("fk_langevin_step", || {
        // SAFETY: NULL or writable.
        unsafe { zero_steps(out_steps_done) };
        // SAFETY: header contract.
        let mut v = unsafe { value_mut(h, "h") }?;
        // SAFETY: header contract.
        let mut field = unsafe { optional_field(ff) }?;
        let ff = field.as_deref_mut().map(|f| &mut f.ff);
        // SAFETY: header contract.
        let mut parts = unsafe {
            particles(
                p,
                Uses {
                    velocities: true,
                    orientation: false,
                },
            )
        }?;
        // SAFETY: NULL or writable.
        unsafe { finish_steps(v.step(ff, &mut parts, step, n_steps), out_steps_done) }
    })
}

/// Changes the temperature of a Langevin integrator (annealing). Errors:
/// `FK_ERR_OUT_OF_RANGE` (kT < 0), `FK_ERR_NON_FINITE`, `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `h` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_langevin_set_kt(h: *mut fk_langevin, kt: f64) -> fk_status {
    guard("fk_langevin_set_kt", || {
        // SAFETY: header contract.
        unsafe { value_mut(h, "h") }?.set_kt(kt)
    })
}

/// Noise distribution (`fk_langevin_set_noise` and friends): standard normal
/// elements, Box-Muller on 64 Philox bits each, as `fk_rng_fill_normal_f64`
/// (the default).
pub const FK_NOISE_GAUSSIAN: i32 = 0;
/// Noise distribution: uniform on `(-sqrt 3, sqrt 3)` (mean 0, variance 1),
/// `xi = sqrt(12) ((w + 1/2) 2^-32 - 1/2)` with `w` word `e mod 4` of Philox
/// block `e / 4` for noise element `e`: the noise of LAMMPS' `fix langevin`
/// (Dunweg & Paul 1991).
pub const FK_NOISE_UNIFORM: i32 = 1;

/// Chooses the noise distribution of a Langevin integrator:
/// `FK_NOISE_GAUSSIAN` (default) or `FK_NOISE_UNIFORM`. The element
/// addressing `(s n + i) dim + a` is the same for both. Uniform noise has the
/// Gaussian's mean and variance, so every average that depends on the noise
/// only through them is unchanged (equipartition, `<x^2> = kT/k` in a
/// harmonic trap, diffusion constants, velocity autocorrelation), and
/// positions and velocities become Gaussian over many steps; single-step
/// increments are not Gaussian (fourth moment 9/5 instead of 3), which adds
/// an O(dt) weak error to nonlinear observables. It costs about a quarter of
/// a Gaussian draw (0.69 vs 2.5 ns per element on one core): the
/// harmonic-trap benchmark at N = 10^7 runs at 80-90% of the memory
/// bandwidth instead of 45-50%. Trajectories differ from the
/// Gaussian ones. Errors: `FK_ERR_UNKNOWN_ENUM`, `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `h` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_langevin_set_noise(h: *mut fk_langevin, noise: i32) -> fk_status {
    guard("fk_langevin_set_noise", || {
        let kind = NoiseKind::from_code(noise)?;
        // SAFETY: header contract.
        unsafe { value_mut(h, "h") }?.set_noise(kind);
        Ok(())
    })
}

/// Frees a Langevin integrator (NULL is a no-op).
///
/// # Safety
/// `h` must be NULL or a valid handle not in use.
#[no_mangle]
pub unsafe extern "C" fn fk_langevin_destroy(h: *mut fk_langevin) -> fk_status {
    guard("fk_langevin_destroy", || {
        // SAFETY: header contract.
        unsafe { handle::destroy(h, "h") }
    })
}

// ------------------------------------------------------------ Brownian

/// Parameters of `fk_brownian_create`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_brownian_params {
    /// `sizeof(fk_brownian_params)`.
    pub struct_size: u32,
    /// 2 or 3.
    pub dim: u32,
    /// Largest particle count.
    pub capacity: usize,
    /// Time step (> 0).
    pub dt: f64,
    /// Mobility mu (> 0): velocity per unit force.
    pub mobility: f64,
    /// Temperature kT (>= 0); the diffusion coefficient is D = mu kT.
    pub kt: f64,
    pub seed: u64,
    pub stream: u64,
}

// SAFETY: repr(C), Copy, plain numbers and pointers, struct_size: u32 first.
unsafe impl Params for fk_brownian_params {
    const NAME: &'static str = "fk_brownian_params";
    fn defaults() -> Self {
        fk_brownian_params_default()
    }
}

/// Brownian (overdamped Langevin) integrator. Opaque.
#[allow(non_camel_case_types)]
pub struct fk_brownian {
    _opaque: [u8; 0],
}

impl Opaque for fk_brownian {
    type Value = Brownian;
    const MAGIC: u64 = 0x464B_4252_4F57_0001;
    const KIND: &'static str = "fk_brownian";
}

/// Defaults: dim 3, capacity 0 (must be set), dt 1e-3, mobility 1, kT 1.
#[no_mangle]
pub extern "C" fn fk_brownian_params_default() -> fk_brownian_params {
    guard_value(
        "fk_brownian_params_default",
        brownian_defaults(),
        brownian_defaults,
    )
}

fn brownian_defaults() -> fk_brownian_params {
    fk_brownian_params {
        struct_size: std::mem::size_of::<fk_brownian_params>() as u32,
        dim: 3,
        capacity: 0,
        dt: 1e-3,
        mobility: 1.0,
        kt: 1.0,
        seed: 0,
        stream: 0,
    }
}

/// Creates an Euler-Maruyama Brownian integrator:
/// `x += mu F dt + sqrt(2 mu kT dt) xi` (noise: element (normal by default,
/// see `fk_brownian_set_noise`)
/// `(s n + i) dim + a` of Philox stream `(2 << 48) | stream`).
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_OUT_OF_RANGE`
/// (dt <= 0, mobility <= 0, kT < 0, dim, capacity 0), `FK_ERR_NON_FINITE`.
///
/// # Safety
/// `params` readable, `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_brownian_create(
    params: *const fk_brownian_params,
    out: *mut *mut fk_brownian,
) -> fk_status {
    guard("fk_brownian_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let v = Brownian::new(
            p.dim as usize,
            p.capacity,
            BrownianParams {
                dt: p.dt,
                mobility: p.mobility,
                kt: p.kt,
                seed: p.seed,
                stream: p.stream,
            },
        )?;
        // SAFETY: non-NULL, writable.
        unsafe { publish::<fk_brownian>(out, v) };
        Ok(())
    })
}

/// Advances `n_steps` Brownian steps from step index `step`. Needs
/// `x, y[, z]` only (velocities are ignored and may be NULL).
///
/// # Safety
/// Handles valid; `p` as documented at `fk_particles`.
#[no_mangle]
pub unsafe extern "C" fn fk_brownian_step(
    h: *mut fk_brownian,
    ff: *mut fk_forcefield,
    p: *const fk_particles,
    step: u64,
    n_steps: usize,
    out_steps_done: *mut u64,
) -> fk_status {
    guard("fk_brownian_step", || {
        // SAFETY: NULL or writable.
        unsafe { zero_steps(out_steps_done) };
        // SAFETY: header contract.
        let mut v = unsafe { value_mut(h, "h") }?;
        // SAFETY: header contract.
        let mut field = unsafe { optional_field(ff) }?;
        let ff = field.as_deref_mut().map(|f| &mut f.ff);
        // SAFETY: header contract.
        let mut parts = unsafe {
            particles(
                p,
                Uses {
                    velocities: false,
                    orientation: false,
                },
            )
        }?;
        // SAFETY: NULL or writable.
        unsafe { finish_steps(v.step(ff, &mut parts, step, n_steps), out_steps_done) }
    })
}

/// Chooses the noise distribution of a Brownian integrator (see
/// `fk_langevin_set_noise`). Errors: `FK_ERR_UNKNOWN_ENUM`,
/// `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `h` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_brownian_set_noise(h: *mut fk_brownian, noise: i32) -> fk_status {
    guard("fk_brownian_set_noise", || {
        let kind = NoiseKind::from_code(noise)?;
        // SAFETY: header contract.
        unsafe { value_mut(h, "h") }?.set_noise(kind);
        Ok(())
    })
}

/// Frees a Brownian integrator (NULL is a no-op).
///
/// # Safety
/// `h` must be NULL or a valid handle not in use.
#[no_mangle]
pub unsafe extern "C" fn fk_brownian_destroy(h: *mut fk_brownian) -> fk_status {
    guard("fk_brownian_destroy", || {
        // SAFETY: header contract.
        unsafe { handle::destroy(h, "h") }
    })
}

// ------------------------------------------------------------ active Brownian

/// Parameters of `fk_active_create`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_active_params {
    /// `sizeof(fk_active_params)`.
    pub struct_size: u32,
    /// 2 or 3.
    pub dim: u32,
    /// Largest particle count.
    pub capacity: usize,
    /// Time step (> 0).
    pub dt: f64,
    /// Self-propulsion speed v0.
    pub v0: f64,
    /// Rotational diffusion coefficient Dr (>= 0).
    pub dr: f64,
    /// Mobility mu (> 0).
    pub mobility: f64,
    /// Temperature kT (>= 0): translational diffusion D = mu kT.
    pub kt: f64,
    pub seed: u64,
    pub stream: u64,
    /// Vision-cone maneuverability Omega (0 = off; 2D only).
    pub vision_omega: f64,
    /// Vision-cone half-angle psi (radians, 0..pi).
    pub vision_angle: f64,
    /// Vision range (> 0 when Omega > 0).
    pub vision_range: f64,
    /// Decay length R0 of the exp(-r/R0) weight (> 0 when Omega > 0).
    pub vision_decay: f64,
    /// Goal-fixation strength K (0 = off; 2D only).
    pub goal_k: f64,
    pub goal_x: f64,
    pub goal_y: f64,
}

// SAFETY: repr(C), Copy, plain numbers and pointers, struct_size: u32 first.
unsafe impl Params for fk_active_params {
    const NAME: &'static str = "fk_active_params";
    fn defaults() -> Self {
        fk_active_params_default()
    }
}

/// Active Brownian particle integrator. Opaque.
#[allow(non_camel_case_types)]
pub struct fk_active {
    _opaque: [u8; 0],
}

impl Opaque for fk_active {
    type Value = ActiveBrownian;
    const MAGIC: u64 = 0x464B_4143_5456_0001;
    const KIND: &'static str = "fk_active";
}

/// Defaults: dim 2, capacity 0 (must be set), dt 1e-3, v0 1, Dr 1,
/// mobility 1, kT 0, no vision cone (psi = pi/4, range 1, R0 1), no goal.
#[no_mangle]
pub extern "C" fn fk_active_params_default() -> fk_active_params {
    guard_value(
        "fk_active_params_default",
        active_defaults(),
        active_defaults,
    )
}

fn active_defaults() -> fk_active_params {
    let a = ActiveParams::default();
    fk_active_params {
        struct_size: std::mem::size_of::<fk_active_params>() as u32,
        dim: 2,
        capacity: 0,
        dt: a.dt,
        v0: a.v0,
        dr: a.dr,
        mobility: a.mobility,
        kt: a.kt,
        seed: 0,
        stream: 0,
        vision_omega: a.vision_omega,
        vision_angle: a.vision_angle,
        vision_range: a.vision_range,
        vision_decay: a.vision_decay,
        goal_k: a.goal_k,
        goal_x: 0.0,
        goal_y: 0.0,
    }
}

/// Creates an active-Brownian-particle integrator:
/// `x += (v0 e + mu F) dt + sqrt(2 mu kT dt) xi`; in 2D the orientation
/// angle advances by `tau dt + sqrt(2 Dr dt) xi` (tau: vision-cone steering
/// `(Omega/N_i) sum_cone exp(-r/R0) sin(phi_ij - theta_i)` plus goal
/// fixation `K sin(phi_goal - theta_i)`); in 3D `e <- normalise(e +
/// sqrt(2 Dr dt) xi x e)`. Vision-cone steering is O(N^2) per step, or
/// O(N) with the same bits after `fk_active_reserve_vision_neighbors`.
/// Noise: element (normal by default, see `fk_active_set_noise`)
/// `(s n + i) D + d`, `D = 3` (2D) or 6 (3D), of Philox
/// stream `(3 << 48) | stream`. Errors: `FK_ERR_NULL_POINTER`,
/// `FK_ERR_STRUCT_SIZE`, `FK_ERR_OUT_OF_RANGE` (dt <= 0, Dr < 0,
/// mobility <= 0, kT < 0, torques in 3D, psi outside [0, pi]),
/// `FK_ERR_NON_FINITE`.
///
/// # Safety
/// `params` readable, `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_active_create(
    params: *const fk_active_params,
    out: *mut *mut fk_active,
) -> fk_status {
    guard("fk_active_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let v = ActiveBrownian::new(
            p.dim as usize,
            p.capacity,
            ActiveParams {
                dt: p.dt,
                v0: p.v0,
                dr: p.dr,
                mobility: p.mobility,
                kt: p.kt,
                seed: p.seed,
                stream: p.stream,
                vision_omega: p.vision_omega,
                vision_angle: p.vision_angle,
                vision_range: p.vision_range,
                vision_decay: p.vision_decay,
                goal_k: p.goal_k,
                goal: [p.goal_x, p.goal_y],
            },
        )?;
        // SAFETY: non-NULL, writable.
        unsafe { publish::<fk_active>(out, v) };
        Ok(())
    })
}

/// Advances `n_steps` ABP steps from step index `step`. Needs `x, y[, z]` and
/// the orientation unit vectors `ox, oy[, oz]` (updated; velocities ignored;
/// a heading of zero length is rejected with `FK_ERR_OUT_OF_RANGE`). With a
/// vision list: `FK_ERR_CAPACITY` when a particle has more than
/// `max_neighbors` particles within `vision_range + skin` (the state stays
/// at the last completed step), `FK_ERR_OUT_OF_RANGE` before any step when
/// a periodic box is shorter than `2 (vision_range + skin)`.
///
/// # Safety
/// Handles valid; `p` as documented at `fk_particles`.
#[no_mangle]
pub unsafe extern "C" fn fk_active_step(
    h: *mut fk_active,
    ff: *mut fk_forcefield,
    p: *const fk_particles,
    step: u64,
    n_steps: usize,
    out_steps_done: *mut u64,
) -> fk_status {
    guard("fk_active_step", || {
        // SAFETY: NULL or writable.
        unsafe { zero_steps(out_steps_done) };
        // SAFETY: header contract.
        let mut v = unsafe { value_mut(h, "h") }?;
        // SAFETY: header contract.
        let mut field = unsafe { optional_field(ff) }?;
        let ff = field.as_deref_mut().map(|f| &mut f.ff);
        // SAFETY: header contract.
        let mut parts = unsafe {
            particles(
                p,
                Uses {
                    velocities: false,
                    orientation: true,
                },
            )
        }?;
        // SAFETY: NULL or writable.
        unsafe { finish_steps(v.step(ff, &mut parts, step, n_steps), out_steps_done) }
    })
}

/// Chooses the noise distribution of an ABP integrator (translational and rotational
/// noise) (see
/// `fk_langevin_set_noise`). Errors: `FK_ERR_UNKNOWN_ENUM`,
/// `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `h` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_active_set_noise(h: *mut fk_active, noise: i32) -> fk_status {
    guard("fk_active_set_noise", || {
        let kind = NoiseKind::from_code(noise)?;
        // SAFETY: header contract.
        unsafe { value_mut(h, "h") }?.set_noise(kind);
        Ok(())
    })
}

/// Evaluates the vision cone over a Verlet list instead of all pairs: O(N)
/// per step instead of O(N^2), the same torques bit for bit (so the same
/// trajectories). Reserves a list of radius `vision_range + skin` with room
/// for `max_neighbors` particles within that radius of any particle
/// (`capacity (max_neighbors + 2)` 4-byte words plus about 80 bytes per
/// particle); it is rebuilt when a particle has moved more than `skin / 2`.
/// Rule of thumb: `max_neighbors = 1.5 pi (vision_range + skin)^2 rho` at
/// number density rho (more where pedestrians crowd).
/// `max_neighbors = 0` returns to all pairs. Errors: `FK_ERR_OUT_OF_RANGE`
/// (vision cone off, `skin < 0`, `max_neighbors = 2^32 - 1`),
/// `FK_ERR_NON_FINITE` (skin), `FK_ERR_OUT_OF_MEMORY`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_NULL_POINTER`; the previous setting is
/// kept.
///
/// # Safety
/// `h` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_active_reserve_vision_neighbors(
    h: *mut fk_active,
    max_neighbors: u32,
    skin: f64,
) -> fk_status {
    guard("fk_active_reserve_vision_neighbors", || {
        // SAFETY: header contract.
        unsafe { value_mut(h, "h") }?.reserve_vision_neighbours(max_neighbors as usize, skin)
    })
}

/// Frees an ABP integrator (NULL is a no-op).
///
/// # Safety
/// `h` must be NULL or a valid handle not in use.
#[no_mangle]
pub unsafe extern "C" fn fk_active_destroy(h: *mut fk_active) -> fk_status {
    guard("fk_active_destroy", || {
        // SAFETY: header contract.
        unsafe { handle::destroy(h, "h") }
    })
}

// ------------------------------------------------------------ Kuramoto

/// Parameters of `fk_kuramoto_create`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_kuramoto_params {
    /// `sizeof(fk_kuramoto_params)`.
    pub struct_size: u32,
    pub reserved: u32,
    /// Largest number of oscillators.
    pub capacity: usize,
    /// Time step (> 0).
    pub dt: f64,
    /// Coupling K.
    pub coupling: f64,
    /// Phase noise D (>= 0): dtheta gets sqrt(2 D dt) xi (noisy XY model).
    pub noise: f64,
    pub seed: u64,
    pub stream: u64,
}

// SAFETY: repr(C), Copy, plain numbers and pointers, struct_size: u32 first.
unsafe impl Params for fk_kuramoto_params {
    const NAME: &'static str = "fk_kuramoto_params";
    fn defaults() -> Self {
        fk_kuramoto_params_default()
    }
}

/// Kuramoto / noisy-XY integrator. Opaque.
#[allow(non_camel_case_types)]
pub struct fk_kuramoto {
    _opaque: [u8; 0],
}

impl Opaque for fk_kuramoto {
    type Value = Kuramoto;
    const MAGIC: u64 = 0x464B_4B55_5241_0001;
    const KIND: &'static str = "fk_kuramoto";
}

/// Defaults: capacity 0 (must be set), dt 0.01, K 1, noise 0.
#[no_mangle]
pub extern "C" fn fk_kuramoto_params_default() -> fk_kuramoto_params {
    guard_value(
        "fk_kuramoto_params_default",
        kuramoto_defaults(),
        kuramoto_defaults,
    )
}

fn kuramoto_defaults() -> fk_kuramoto_params {
    fk_kuramoto_params {
        struct_size: std::mem::size_of::<fk_kuramoto_params>() as u32,
        reserved: 0,
        capacity: 0,
        dt: 0.01,
        coupling: 1.0,
        noise: 0.0,
        seed: 0,
        stream: 0,
    }
}

/// Creates a Kuramoto integrator: `theta_i += dt [omega_i + K r sin(psi -
/// theta_i)] + sqrt(2 D dt) xi` (Euler-Maruyama, O(N) mean field; phases kept
/// in [0, 2 pi); noise: normal element `s n + i` of Philox stream
/// `(4 << 48) | stream`). Reserves 16 bytes per oscillator of `capacity`
/// (each step keeps the new phases' sines and cosines for the next).
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (dt <= 0, noise < 0, capacity 0), `FK_ERR_NON_FINITE`,
/// `FK_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// `params` readable, `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_kuramoto_create(
    params: *const fk_kuramoto_params,
    out: *mut *mut fk_kuramoto,
) -> fk_status {
    guard("fk_kuramoto_create", || {
        check_out(out)?;
        // SAFETY: caller contract (header).
        let p = unsafe { read_params(params) }?;
        let v = Kuramoto::new(
            p.capacity,
            KuramotoParams {
                dt: p.dt,
                coupling: p.coupling,
                noise: p.noise,
                seed: p.seed,
                stream: p.stream,
            },
        )?;
        // SAFETY: non-NULL, writable.
        unsafe { publish::<fk_kuramoto>(out, v) };
        Ok(())
    })
}

/// Advances the `n` phases `theta` (natural frequencies `omega`, NULL = all
/// 0) by `n_steps` steps from step index `step`. Validates first (NaN phases
/// or frequencies: `FK_ERR_NON_FINITE`, n > capacity: `FK_ERR_CAPACITY`);
/// the steps cannot fail afterwards. Allocates nothing.
///
/// # Safety
/// `theta` must hold `n` writable doubles, `omega` NULL or `n` doubles.
#[no_mangle]
pub unsafe extern "C" fn fk_kuramoto_step(
    h: *mut fk_kuramoto,
    theta: *mut f64,
    omega: *const f64,
    n: usize,
    step: u64,
    n_steps: usize,
    out_steps_done: *mut u64,
) -> fk_status {
    guard("fk_kuramoto_step", || {
        // SAFETY: NULL or writable.
        unsafe { zero_steps(out_steps_done) };
        // SAFETY: header contract.
        let mut k = unsafe { value_mut(h, "h") }?;
        // SAFETY: header contract.
        let theta = unsafe { slice_mut(theta, n, "theta") }?;
        let omega = if omega.is_null() {
            &[][..]
        } else {
            // SAFETY: header contract.
            unsafe { slice(omega, n, "omega") }?
        };
        let done = k.step(theta, omega, step, n_steps)?;
        // SAFETY: NULL or writable.
        unsafe { write_opt(out_steps_done, done as u64) };
        Ok(())
    })
}

/// Order parameter of `n` phases: `r e^{i psi} = (1/n) sum e^{i theta}`.
/// Deterministic for any thread count. Errors: `FK_ERR_NULL_POINTER`,
/// `FK_ERR_INVALID_SIZE` (n = 0), `FK_ERR_NON_FINITE`.
///
/// # Safety
/// `theta` must hold `n` doubles; outputs writable.
#[no_mangle]
pub unsafe extern "C" fn fk_kuramoto_order(
    theta: *const f64,
    n: usize,
    out_r: *mut f64,
    out_psi: *mut f64,
) -> fk_status {
    guard("fk_kuramoto_order", || {
        if n == 0 {
            return Err(Error::new(ErrorKind::InvalidSize, "n = 0 phases"));
        }
        // SAFETY: header contract.
        let theta = unsafe { slice(theta, n, "theta") }?;
        crate::integrate::state::check_finite("theta", theta)?;
        if out_r.is_null() || out_psi.is_null() {
            return Err(Error::new(
                ErrorKind::NullPointer,
                "`out_r` or `out_psi` is NULL",
            ));
        }
        let (r, psi) = order_parameter(theta);
        // SAFETY: checked non-NULL, writable.
        unsafe { write_out(out_r, r, "out_r") }?;
        // SAFETY: checked non-NULL, writable.
        unsafe { write_out(out_psi, psi, "out_psi") }
    })
}

/// Chooses the phase-noise distribution of a Kuramoto integrator (see
/// `fk_langevin_set_noise`): `FK_NOISE_UNIFORM` keeps the diffusion constant
/// D and runs about 1.3x faster at N = 10^6 (noise is then a quarter of the
/// step). Errors:
/// `FK_ERR_UNKNOWN_ENUM`, `FK_ERR_WRONG_HANDLE`.
///
/// # Safety
/// `h` must be a valid handle.
#[no_mangle]
pub unsafe extern "C" fn fk_kuramoto_set_noise(h: *mut fk_kuramoto, noise: i32) -> fk_status {
    guard("fk_kuramoto_set_noise", || {
        let kind = NoiseKind::from_code(noise)?;
        // SAFETY: header contract.
        unsafe { value_mut(h, "h") }?.set_noise(kind);
        Ok(())
    })
}

/// Frees a Kuramoto integrator (NULL is a no-op).
///
/// # Safety
/// `h` must be NULL or a valid handle not in use.
#[no_mangle]
pub unsafe extern "C" fn fk_kuramoto_destroy(h: *mut fk_kuramoto) -> fk_status {
    guard("fk_kuramoto_destroy", || {
        // SAFETY: header contract.
        unsafe { handle::destroy(h, "h") }
    })
}
