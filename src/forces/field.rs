//! Force-field composition: pair terms (short-range over neighbour lists,
//! long-range over all pairs in SIMD), external fields and batch terms
//! (callbacks, neural fields, EGNN forces), evaluated in one pass over the
//! particles.
//!
//! Batch terms are evaluated first, each for all particles into its own
//! force buffers (reserved when the term is added), in the order they were
//! added; the per-particle pass then adds pair, external and batch forces
//! in that order (batch terms in their order of addition).
//!
//! Parallel evaluation gathers per particle (each particle sums the forces
//! its neighbours exert on it; no scatter, no write races). Particles are
//! split into segments whose boundaries depend only on `n`; energies and
//! virials are summed per segment into fixed slots, then in segment order, so
//! every result is bitwise identical for any thread count.
//!
//! Energy `U` is the sum of pair energies (each pair once) and external
//! energies; the virial is `W = sum_pairs r_ij . F_ij` for pair terms and
//! `sum_i r_i . F_i` for external terms; the pressure is
//! `P = (sum_i m_i v_i^2 + W_pair) / (d V)` (periodic boxes only).

use std::sync::Mutex;

use super::cells::{gather_packed_checked, NeighbourList};
use super::egnn::{EgnnForce, EgnnSource};
use super::external::{BatchField, DelayedTrap, External, Trap};
use super::neural::{ModelSource, NeuralField, NeuralMode};
use super::pair::{LongPair, PairKind, PairTerm, ShortPair};
use crate::error::{Error, ErrorKind, Result};
use crate::integrate::split::{for_each_segment, MAX_SEGMENTS};
use crate::integrate::state::{Positions, SimBox};
use crate::parallel::for_each_chunk_mut;
use crate::simd::prefetch::prefetch;
use crate::simd::{f64x8, rsqrt};

/// Most terms one force field holds.
pub const MAX_TERMS: usize = 16;

/// Particles per segment of the force loop.
const FORCE_SEGMENT: usize = 1024;

/// Identities handed to force fields (never reused within a process).
static NEXT_FIELD_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Slots per parallel task of the short-range pass: at most 512, and small
/// systems are still cut into 16 tasks of at least 64 slots, so that two to
/// a few threads balance (tasks are claimed dynamically).
fn slot_task(n: usize) -> usize {
    n.div_ceil(16).clamp(64, 512)
}

/// Construction parameters (capacity is reserved from them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForceFieldParams {
    pub sbox: SimBox,
    /// Number of particle types (>= 1).
    pub ntypes: usize,
    /// Largest particle count the field will be evaluated for.
    pub capacity: usize,
    /// Verlet skin added to the largest short-range cutoff.
    pub skin: f64,
    /// Neighbour slots per particle reserved for the neighbour list.
    pub max_neighbors: usize,
}

impl ForceFieldParams {
    /// A field without short-range pair terms (one-body fields, batch terms,
    /// all-pairs long-range terms): one type, no skin, no neighbour slots.
    pub fn without_neighbour_list(sbox: SimBox, capacity: usize) -> Self {
        Self {
            sbox,
            ntypes: 1,
            capacity,
            skin: 0.0,
            max_neighbors: 1,
        }
    }
}

/// What a term is (for reporting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermKind {
    Pair(PairKind),
    Uniform,
    Trap,
    DelayedTrap,
    /// A batch term: user callback or neural field.
    Callback,
    /// The EGNN force term ([`super::egnn`]).
    Egnn,
}

/// A batch term with its force buffers (`[x, y, z]`, `z` empty in 2D).
struct BatchSlot {
    id: usize,
    field: Box<dyn BatchField>,
    force: [Vec<f64>; 3],
}

/// A composed force field.
pub struct ForceField {
    params: ForceFieldParams,
    kinds: Vec<TermKind>,
    short: Vec<(usize, ShortPair)>,
    long: Vec<(usize, LongPair)>,
    external: Vec<(usize, External)>,
    batch: Vec<BatchSlot>,
    nlist: Option<NeighbourList>,
    /// Positions and types packed as `[x, y, z, type]` for the neighbour
    /// loops (one cache line per neighbour instead of four), in the
    /// neighbour list's cell order (particle order without a list), reserved
    /// with the first short-range term.
    packed: Vec<[f64; 4]>,
    /// Per slot (cell order, see [`super::cells`]): the summed short-range
    /// force `[fx, fy, fz]` and each short term's raw `[u, w]`, stride
    /// [`Self::slot_stride`]; reserved with the short-range terms.
    slot_short: Vec<f64>,
    /// Process-wide unique identity and a counter of definition changes
    /// (see [`Self::cache_key`]).
    id: u64,
    generation: u64,
    evaluations: u64,
    use_neighbour_list: bool,
    energy: Vec<f64>,
    virial: Vec<f64>,
    seg_acc: Vec<Mutex<[f64; 2 * MAX_TERMS]>>,
}

impl std::fmt::Debug for ForceField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForceField")
            .field("params", &self.params)
            .field("kinds", &self.kinds)
            .finish()
    }
}

impl ForceField {
    pub fn new(params: ForceFieldParams) -> Result<Self> {
        params.sbox.validate()?;
        if params.ntypes == 0 || params.ntypes > 1024 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("ntypes = {} must be in 1..=1024", params.ntypes),
            ));
        }
        if params.capacity == 0 || params.capacity >= u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("capacity = {} must be in 1..2^32-1", params.capacity),
            ));
        }
        if !(params.skin.is_finite() && params.skin >= 0.0) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("skin = {} must be finite and >= 0", params.skin),
            ));
        }
        if params.max_neighbors == 0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "max_neighbors = 0 must be >= 1",
            ));
        }
        Ok(Self {
            params,
            kinds: Vec::with_capacity(MAX_TERMS),
            short: Vec::new(),
            long: Vec::new(),
            external: Vec::new(),
            batch: Vec::with_capacity(MAX_TERMS),
            nlist: None,
            packed: Vec::new(),
            slot_short: Vec::new(),
            id: NEXT_FIELD_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            generation: 0,
            evaluations: 0,
            use_neighbour_list: true,
            energy: vec![0.0; MAX_TERMS],
            virial: vec![0.0; MAX_TERMS],
            seg_acc: (0..MAX_SEGMENTS)
                .map(|_| Mutex::new([0.0; 2 * MAX_TERMS]))
                .collect(),
        })
    }

    pub fn params(&self) -> &ForceFieldParams {
        &self.params
    }

    pub fn sim_box(&self) -> &SimBox {
        &self.params.sbox
    }

    /// Number of terms added so far.
    pub fn term_count(&self) -> usize {
        self.kinds.len()
    }

    pub fn term_kind(&self, t: usize) -> Option<TermKind> {
        self.kinds.get(t).copied()
    }

    /// Whether an evaluation can fail after validation (neighbour capacity,
    /// callback), so integrators keep a backup of the step's start state.
    pub fn may_fail(&self) -> bool {
        self.nlist.is_some() || !self.batch.is_empty()
    }

    /// Whether every term is a local external field (uniform or trap): the
    /// force on a particle then depends on its own position only, and
    /// integrators may evaluate it inside their update pass
    /// ([`Self::local_force`]) instead of a separate sweep.
    pub fn is_local(&self) -> bool {
        self.short.is_empty()
            && self.long.is_empty()
            && self.batch.is_empty()
            && self
                .external
                .iter()
                .all(|(_, e)| !matches!(e, External::Delayed(_)))
    }

    /// Force at position `ri` of a local field ([`Self::is_local`]), bitwise
    /// equal to what [`Self::compute`] gives there (same terms, same order).
    #[inline(always)]
    pub fn local_force(&self, dim: usize, ri: [f64; 3]) -> [f64; 3] {
        let mut f = [0.0f64; 3];
        for (_, e) in &self.external {
            let fe = match e {
                External::Uniform { force } => *force,
                External::Trap(t) => t.force(dim, ri).0,
                External::Delayed(_) => [0.0; 3],
            };
            for a in 0..dim {
                f[a] += fe[a];
            }
        }
        f
    }

    /// [`Self::local_force`] for eight positions (same bits lane for lane).
    #[inline(always)]
    pub fn local_force8(&self, dim: usize, r: [f64x8; 3]) -> [f64x8; 3] {
        let mut f = [f64x8::ZERO; 3];
        for (_, e) in &self.external {
            let fe = match e {
                External::Uniform { force } => force.map(f64x8::splat),
                External::Trap(t) => t.force8(dim, r),
                External::Delayed(_) => [f64x8::ZERO; 3],
            };
            for a in 0..dim {
                f[a] += fe[a];
            }
        }
        f
    }

    /// Force evaluations ([`Self::compute`] calls) so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Neighbour-list rebuilds so far (0 without short-range terms).
    pub fn neighbour_builds(&self) -> u64 {
        self.nlist.as_ref().map_or(0, |l| l.builds())
    }

    /// A spatial order of the particles at `pos` for the caller to apply to
    /// its own arrays (LAMMPS' `atom_modify sort`, HOOMD's particle sorter,
    /// but the caller's arrays stay the caller's): `perm[k]` is the index
    /// of the particle that should move to position `k`, i.e.
    /// `x_new[k] = x[perm[k]]` for every per-particle array. It is the cell
    /// order of the neighbour grid (cells x-fastest, a cell's particles by
    /// index), from a list rebuild at `pos`; after the caller applies it,
    /// index order is cell order, so the per-step gathers and force scatters
    /// read memory in sequence. Without short-range terms there is no grid:
    /// the identity. Allocates nothing.
    ///
    /// Reordering changes a trajectory's bits (noise and summation order
    /// follow particle indices) but not its statistics; apply it on a fixed
    /// schedule (e.g. every 1000 steps) for reproducible runs.
    ///
    /// Errors: `InvalidSize` (dim, or `perm.len() != n`), `Capacity`,
    /// `NonFinite` / `OutOfRange` (positions, types), and `OutOfRange` when
    /// the field has a time-delayed trap, whose history is kept per particle
    /// index (a reorder would pair particles with each other's past).
    pub fn spatial_order(&mut self, pos: &Positions, perm: &mut [u32]) -> Result<()> {
        self.validate(pos)?;
        let n = pos.len();
        if perm.len() != n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("perm has {} entries for n = {n} particles", perm.len()),
            ));
        }
        if self
            .external
            .iter()
            .any(|(_, e)| matches!(e, External::Delayed(_)))
        {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "the force field has a time-delayed trap, whose position history is kept \
                 per particle index: reordering the particles would pair each one with \
                 another's past positions",
            ));
        }
        match self.nlist.as_mut() {
            Some(nl) if !self.short.is_empty() => {
                nl.rebuild(pos, &mut self.packed)?;
                perm.copy_from_slice(nl.order());
            }
            _ => {
                for (k, p) in perm.iter_mut().enumerate() {
                    *p = k as u32;
                }
            }
        }
        Ok(())
    }

    /// Use neighbour lists (default) or, for testing, loop short-range terms
    /// over all pairs.
    pub fn set_use_neighbour_list(&mut self, on: bool) {
        self.generation += 1;
        self.use_neighbour_list = on;
    }

    /// With the slot path, `(slot_of, stride)` for prefetching slot records.
    fn slot_ahead(&self) -> Option<(&[u32], usize)> {
        self.slot_path().then(|| {
            (
                self.nlist.as_ref().expect("slot path has a list").slot_of(),
                self.slot_stride(),
            )
        })
    }

    /// Words per slot in `slot_short`: the force, then `[u, w]` per short term.
    fn slot_stride(&self) -> usize {
        3 + 2 * self.short.len()
    }

    /// Whether short-range forces go through the neighbour list (slot order).
    fn slot_path(&self) -> bool {
        !self.short.is_empty() && self.use_neighbour_list && self.nlist.is_some()
    }

    /// `(identity, definition generation)` of this field when its forces
    /// are a pure function of positions and types (no batch terms, whose
    /// callbacks, models or EGNN weights the caller may change between
    /// calls, and no delayed traps, which depend on the history); `None`
    /// otherwise. Integrators use it to reuse the forces of the previous
    /// step call.
    pub fn cache_key(&self) -> Option<(u64, u64)> {
        let delayed = self
            .external
            .iter()
            .any(|(_, e)| matches!(e, External::Delayed(_)));
        (self.batch.is_empty() && !delayed).then_some((self.id, self.generation))
    }

    fn next_term(&mut self, kind: TermKind) -> Result<usize> {
        self.generation += 1;
        if self.kinds.len() == MAX_TERMS {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!("a force field holds at most {MAX_TERMS} terms"),
            ));
        }
        self.kinds.push(kind);
        Ok(self.kinds.len() - 1)
    }

    /// Adds a pair term (tables as in [`PairTerm::new`]); returns its index.
    pub fn add_pair(
        &mut self,
        kind: PairKind,
        strength: &[f64],
        length: &[f64],
        cutoff: &[f64],
    ) -> Result<usize> {
        let term = PairTerm::new(kind, self.params.ntypes, strength, length, cutoff)?;
        if let PairTerm::Short(s) = &term {
            let rc = self
                .short
                .iter()
                .map(|(_, t)| t.max_cutoff)
                .fold(s.max_cutoff, f64::max);
            self.nlist = Some(NeighbourList::new(
                self.params.sbox,
                rc,
                self.params.skin,
                self.params.capacity,
                self.params.max_neighbors,
            )?);
        }
        if matches!(term, PairTerm::Short(_)) && self.packed.is_empty() {
            self.packed = vec![[0.0; 4]; self.params.capacity];
        }
        let id = self.next_term(TermKind::Pair(kind))?;
        match term {
            PairTerm::Short(s) => {
                self.short.push((id, s));
                self.slot_short = vec![0.0; self.params.capacity * self.slot_stride()];
            }
            PairTerm::Long(l) => self.long.push((id, l)),
        }
        Ok(id)
    }

    /// Adds a uniform force `F0` (energy `-F0 . r`).
    pub fn add_uniform(&mut self, force: [f64; 3]) -> Result<usize> {
        if !force.iter().all(|v| v.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("uniform force {force:?} must be finite"),
            ));
        }
        let id = self.next_term(TermKind::Uniform)?;
        self.external.push((id, External::Uniform { force }));
        Ok(id)
    }

    /// Adds a harmonic or annular trap.
    pub fn add_trap(&mut self, trap: Trap) -> Result<usize> {
        trap.validate()?;
        let id = self.next_term(TermKind::Trap)?;
        self.external.push((id, External::Trap(trap)));
        Ok(id)
    }

    /// Adds a time-delayed trap acting on positions `delay` steps back.
    pub fn add_delayed_trap(&mut self, trap: Trap, delay: usize) -> Result<usize> {
        let d = DelayedTrap::new(trap, delay, self.params.capacity)?;
        let id = self.next_term(TermKind::DelayedTrap)?;
        self.external.push((id, External::Delayed(d)));
        Ok(id)
    }

    /// Adds a batch field (user callback or neural field) with its own
    /// force buffers, reserved now for the field's capacity. Any number of
    /// batch terms may coexist (up to [`MAX_TERMS`] terms in all).
    pub fn add_batch_field(&mut self, field: Box<dyn BatchField>) -> Result<usize> {
        self.add_batch(field, TermKind::Callback)
    }

    fn add_batch(&mut self, field: Box<dyn BatchField>, kind: TermKind) -> Result<usize> {
        if self.kinds.len() == MAX_TERMS {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!("a force field holds at most {MAX_TERMS} terms"),
            ));
        }
        let cap = self.params.capacity;
        let z = if self.params.sbox.dim == 3 { cap } else { 0 };
        let force = [vec![0.0; cap], vec![0.0; cap], vec![0.0; z]];
        let id = self.next_term(kind)?;
        self.batch.push(BatchSlot { id, field, force });
        Ok(id)
    }

    /// Adds an EGNN force term (see [`super::egnn`]): the coordinate update
    /// of the layer from `source`, times `scale`, is the force on each
    /// particle; node features `type_features` (`[ntypes][F]`, or empty for
    /// zeros). Its energy is 0. Reserves its buffers now. Errors:
    /// `NonFinite` (scale, a feature), `InvalidSize` (table length),
    /// `Capacity` (layer `max_nodes` below the field's capacity, or too
    /// many terms).
    pub fn add_egnn<S: EgnnSource + 'static>(
        &mut self,
        source: S,
        type_features: &[f32],
        scale: f64,
    ) -> Result<usize> {
        let term = EgnnForce::new(
            source,
            type_features,
            scale,
            self.params.sbox,
            self.params.ntypes,
            self.params.capacity,
        )?;
        self.add_batch(Box::new(term), TermKind::Egnn)
    }

    /// Adds a neural-field term (see [`super::neural`]) evaluating the model
    /// of `source` (`in_dim -> out_dim`) on all particles per evaluation, as a
    /// potential or a vector field scaled by `scale`. It is a batch term
    /// (it may coexist with callbacks, EGNN and other neural terms).
    /// Reserves its buffers for the field's capacity. Errors: `InvalidSize`
    /// (in_dim != dim, out_dim not 1 for a potential or dim for a vector
    /// field), `NonFinite` (scale), `Capacity` (too many terms).
    pub fn add_neural_field<S: ModelSource + 'static>(
        &mut self,
        source: S,
        in_dim: usize,
        out_dim: usize,
        mode: NeuralMode,
        scale: f64,
    ) -> Result<usize> {
        let term = NeuralField::new(
            source,
            in_dim,
            out_dim,
            mode,
            scale,
            self.params.sbox.dim,
            self.params.capacity,
        )?;
        self.add_batch_field(Box::new(term))
    }

    /// Energy and virial of term `t` from the last evaluation with energies.
    pub fn term_energy(&self, t: usize) -> Option<(f64, f64)> {
        (t < self.kinds.len()).then(|| (self.energy[t], self.virial[t]))
    }

    /// Total energy, total virial and pair virial of the last evaluation with
    /// energies.
    pub fn totals(&self) -> (f64, f64, f64) {
        let nt = self.kinds.len();
        let u = self.energy[..nt].iter().sum();
        let w = self.virial[..nt].iter().sum();
        let wp = (0..nt)
            .filter(|&t| matches!(self.kinds[t], TermKind::Pair(_)))
            .map(|t| self.virial[t])
            .sum();
        (u, w, wp)
    }

    /// Pressure `(sum m v^2 + W_pair) / (d V)` from the last evaluation with
    /// energies; `mv2` is `sum_i m_i v_i^2`. NaN for an open box.
    pub fn pressure(&self, mv2: f64) -> f64 {
        let b = &self.params.sbox;
        (mv2 + self.totals().2) / (b.dim as f64 * b.volume())
    }

    /// Checks `pos` against this field: dimension, capacity, lengths, types,
    /// finiteness.
    pub fn validate(&self, pos: &Positions) -> Result<()> {
        self.check_shape(pos.dim, pos.len())?;
        pos.validate(self.params.ntypes)
    }

    /// The dimension and particle-count part of [`Self::validate`], for
    /// callers that validated the positions themselves (against this field's
    /// `ntypes`), so the arrays are not scanned twice per call.
    pub fn check_shape(&self, dim: usize, n: usize) -> Result<()> {
        if dim != self.params.sbox.dim {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "particles have dim = {} but the force field was created with dim = {}",
                    dim, self.params.sbox.dim
                ),
            ));
        }
        if n > self.params.capacity {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!(
                    "n = {} exceeds the capacity {} reserved at create",
                    n, self.params.capacity
                ),
            ));
        }
        Ok(())
    }

    /// Evaluates total forces into `fx, fy, fz` (overwritten; `fz` empty in
    /// 2D) at positions `pos` of step `step`, and per-term energies/virials if
    /// `with_energy`. Allocates nothing. Errors: `Capacity` (neighbour table
    /// full), `Callback` (user field failed); outputs are then unspecified
    /// but the handle stays usable. `pos` is assumed validated.
    pub fn compute(
        &mut self,
        pos: &Positions,
        step: u64,
        fx: &mut [f64],
        fy: &mut [f64],
        fz: &mut [f64],
        with_energy: bool,
    ) -> Result<()> {
        self.evaluations += 1;
        let n = pos.len();
        let mut batch_energy = [0.0; MAX_TERMS];
        for (k, slot) in self.batch.iter_mut().enumerate() {
            let [cx, cy, cz] = &mut slot.force;
            let (cx, cy) = (&mut cx[..n], &mut cy[..n]);
            let cz: &mut [f64] = if pos.dim == 3 { &mut cz[..n] } else { &mut [] };
            cx.fill(0.0);
            cy.fill(0.0);
            cz.fill(0.0);
            batch_energy[k] = slot.field.eval_particles(pos, cx, cy, cz)?;
        }
        if self.slot_path() {
            let nl = self.nlist.as_mut().expect("slot path has a list");
            // Gather in the last build's cell order; the skin check rides on
            // the same pass. A stale list (or another n) is rebuilt anyway.
            let moved = !nl.is_built_for(n)
                || gather_packed_checked(pos, nl.order(), &mut self.packed[..n], Some(nl));
            if moved {
                nl.rebuild(pos, &mut self.packed)?;
            }
            self.short_forces_by_slot(pos, with_energy);
        } else if !self.short.is_empty() {
            // All pairs (testing): packed in particle order.
            let three = pos.dim == 3;
            for_each_chunk_mut(&mut self.packed[..n], 4096, &|c, part| {
                let first = c * 4096;
                for (k, q) in part.iter_mut().enumerate() {
                    let i = first + k;
                    let t = pos.type_of(i) as f64;
                    *q = [pos.x[i], pos.y[i], if three { pos.z[i] } else { 0.0 }, t];
                }
            });
        }
        let mut delayed_slot = [None; MAX_TERMS];
        for (k, (_, e)) in self.external.iter_mut().enumerate() {
            if let External::Delayed(d) = e {
                delayed_slot[k] = d.record(step, pos.x, pos.y, pos.z);
            }
        }
        for acc in &self.seg_acc {
            *acc.lock().unwrap_or_else(|p| p.into_inner()) = [0.0; 2 * MAX_TERMS];
        }
        let this = &*self;
        let fz_arr: &mut [f64] = if pos.dim == 3 { &mut fz[..n] } else { &mut [] };
        for_each_segment(
            [&mut fx[..n], &mut fy[..n], fz_arr],
            n,
            FORCE_SEGMENT,
            &|seg, first, [sx, sy, sz]| {
                let mut acc = [0.0; 2 * MAX_TERMS];
                let ahead = this.slot_ahead();
                for k in 0..sx.len() {
                    let i = first + k;
                    // The slot records are read through a permutation.
                    if let Some((slot_of, stride)) = ahead {
                        if let Some(&s) = slot_of.get(i + 16) {
                            prefetch(&this.slot_short[s as usize * stride]);
                        }
                    }
                    let f = this.particle_force(pos, i, &delayed_slot, with_energy, &mut acc);
                    sx[k] = f[0];
                    sy[k] = f[1];
                    if !sz.is_empty() {
                        sz[k] = f[2];
                    }
                }
                for (id, lp) in &this.long {
                    long_segment(
                        pos,
                        &this.params.sbox,
                        first,
                        *id,
                        lp,
                        with_energy,
                        [sx, sy, sz],
                        &mut acc,
                    );
                }
                if with_energy {
                    *this.seg_acc[seg].lock().unwrap_or_else(|p| p.into_inner()) = acc;
                }
            },
        );
        if with_energy {
            let nt = self.kinds.len();
            self.energy.fill(0.0);
            self.virial.fill(0.0);
            for acc in &self.seg_acc {
                let a = acc.lock().unwrap_or_else(|p| p.into_inner());
                for t in 0..nt {
                    self.energy[t] += a[2 * t];
                    self.virial[t] += a[2 * t + 1];
                }
            }
            for (k, slot) in self.batch.iter().enumerate() {
                self.energy[slot.id] = batch_energy[k];
            }
        }
        Ok(())
    }

    /// Total force on particle `i`; adds its energy/virial shares to `acc`.
    #[inline]
    fn particle_force(
        &self,
        pos: &Positions,
        i: usize,
        delayed_slot: &[Option<usize>; MAX_TERMS],
        with_energy: bool,
        acc: &mut [f64; 2 * MAX_TERMS],
    ) -> [f64; 3] {
        let dim = pos.dim;
        let ri = [pos.x[i], pos.y[i], if dim == 3 { pos.z[i] } else { 0.0 }];
        let mut f = [0.0f64; 3];
        if self.slot_path() {
            // The slot pass summed the terms in the same order from zero, so
            // these are the same numbers as summing here.
            let nl = self.nlist.as_ref().expect("slot path has a list");
            let stride = self.slot_stride();
            let s = nl.slot_of()[i] as usize;
            let rec = &self.slot_short[s * stride..(s + 1) * stride];
            f = [rec[0], rec[1], rec[2]];
            if with_energy {
                for (t, (id, _)) in self.short.iter().enumerate() {
                    acc[2 * id] += 0.5 * rec[3 + 2 * t];
                    acc[2 * id + 1] += 0.5 * rec[4 + 2 * t];
                }
            }
        } else if !self.short.is_empty() {
            self.short_forces(
                pos,
                i,
                ri,
                (0..pos.len()).filter(|&j| j != i),
                with_energy,
                &mut f,
                acc,
            );
        }
        for (k, (id, e)) in self.external.iter().enumerate() {
            let (fe, u) = match e {
                External::Uniform { force } => {
                    let u = -(0..dim).map(|a| force[a] * ri[a]).sum::<f64>();
                    (*force, u)
                }
                External::Trap(t) => t.force(dim, ri),
                External::Delayed(d) => match delayed_slot[k] {
                    Some(s) => d.trap.force(dim, d.position(s, i)),
                    None => d.trap.force(dim, ri),
                },
            };
            for a in 0..dim {
                f[a] += fe[a];
            }
            if with_energy {
                acc[2 * id] += u;
                acc[2 * id + 1] += (0..dim).map(|a| ri[a] * fe[a]).sum::<f64>();
            }
        }
        for slot in &self.batch {
            let cf = [
                slot.force[0][i],
                slot.force[1][i],
                if dim == 3 { slot.force[2][i] } else { 0.0 },
            ];
            for a in 0..dim {
                f[a] += cf[a];
            }
            if with_energy {
                acc[2 * slot.id + 1] += (0..dim).map(|a| ri[a] * cf[a]).sum::<f64>();
            }
        }
        f
    }

    /// Short-range forces of every slot, in cell order (neighbours lie in
    /// a few contiguous runs of `packed`), into `slot_short`: per slot the
    /// force summed over the terms from zero and, with energies, each term's
    /// raw `[u, w]`.
    fn short_forces_by_slot(&mut self, pos: &Positions, with_energy: bool) {
        let n = pos.len();
        let stride = self.slot_stride();
        let mut out = std::mem::take(&mut self.slot_short);
        {
            let this = &*self;
            let nl = this.nlist.as_ref().expect("slot path has a list");
            let order = nl.order();
            let task = slot_task(n);
            for_each_chunk_mut(&mut out[..n * stride], task * stride, &|c, part| {
                for (k, rec) in part.chunks_exact_mut(stride).enumerate() {
                    let s = c * task + k;
                    let q = this.packed[s];
                    let i = order[s] as usize;
                    let mut f = [0.0f64; 3];
                    for (t, (_, sp)) in this.short.iter().enumerate() {
                        let nb = nl.neighbours(s).iter().map(|&j| j as usize);
                        let r = this.pair_terms(sp, pos, i, [q[0], q[1], q[2]], nb, with_energy);
                        f[0] += r[0];
                        f[1] += r[1];
                        f[2] += r[2];
                        if with_energy {
                            rec[3 + 2 * t] = r[3];
                            rec[4 + 2 * t] = r[4];
                        }
                    }
                    rec[..3].copy_from_slice(&f);
                }
            });
        }
        self.slot_short = out;
    }

    /// One short-range term on one particle: `[fx, fy, fz, u, w]`.
    #[inline(always)]
    fn pair_terms(
        &self,
        sp: &ShortPair,
        pos: &Positions,
        i: usize,
        ri: [f64; 3],
        neighbours: impl Iterator<Item = usize>,
        with_energy: bool,
    ) -> [f64; 5] {
        let coulomb = sp.kind == PairKind::CoulombCut;
        match (coulomb, pos.dim == 3, with_energy) {
            (false, true, false) => {
                pair_loop::<false, true, false>(self, sp, pos, i, ri, neighbours)
            }
            (false, false, false) => {
                pair_loop::<false, false, false>(self, sp, pos, i, ri, neighbours)
            }
            (true, true, false) => pair_loop::<true, true, false>(self, sp, pos, i, ri, neighbours),
            (true, false, false) => {
                pair_loop::<true, false, false>(self, sp, pos, i, ri, neighbours)
            }
            (false, true, true) => pair_loop::<false, true, true>(self, sp, pos, i, ri, neighbours),
            (false, false, true) => {
                pair_loop::<false, false, true>(self, sp, pos, i, ri, neighbours)
            }
            (true, true, true) => pair_loop::<true, true, true>(self, sp, pos, i, ri, neighbours),
            (true, false, true) => pair_loop::<true, false, true>(self, sp, pos, i, ri, neighbours),
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn short_forces(
        &self,
        pos: &Positions,
        i: usize,
        ri: [f64; 3],
        neighbours: impl Iterator<Item = usize> + Clone,
        with_energy: bool,
        f: &mut [f64; 3],
        acc: &mut [f64; 2 * MAX_TERMS],
    ) {
        for (id, sp) in &self.short {
            let r = self.pair_terms(sp, pos, i, ri, neighbours.clone(), with_energy);
            f[0] += r[0];
            f[1] += r[1];
            f[2] += r[2];
            if with_energy {
                acc[2 * id] += 0.5 * r[3];
                acc[2 * id + 1] += 0.5 * r[4];
            }
        }
    }
}

/// Force on `i` from its neighbours for one short-range term, monomorphised
/// per potential family, dimension and energy request: `[fx, fy, fz, u, w]`.
///
/// Eight neighbours at a time: separations, distances and `f/r` are computed
/// in SIMD (IEEE-exact like the scalar formulas, no contraction), beyond-cutoff
/// lanes are zeroed by a mask, and the products are then summed in list
/// order. Pairs beyond the cutoff add exact zeros, so the sum does not depend
/// on which extra pairs the Verlet skin put in the list: forces are identical
/// whenever the list was rebuilt, and equal to the all-pairs loop.
#[inline(always)]
fn pair_loop<const COULOMB: bool, const THREE: bool, const ENERGY: bool>(
    ff: &ForceField,
    sp: &ShortPair,
    pos: &Positions,
    i: usize,
    ri: [f64; 3],
    neighbours: impl Iterator<Item = usize>,
) -> [f64; 5] {
    let b = &ff.params.sbox;
    let nt = sp.ntypes;
    let single = nt == 1 || pos.types.is_empty();
    let row = pos.type_of(i) * nt;
    let c0 = sp.coef[row];
    let packed = &ff.packed;
    let periodic = b.periodic;
    let len = b.lengths.map(f64x8::splat);
    let inv = b.inv_lengths.map(f64x8::splat);
    let ri8 = ri.map(f64x8::splat);
    let min_image = |d: f64x8, a: usize| {
        if periodic {
            d - len[a] * (d * inv[a]).round_ties_even()
        } else {
            d
        }
    };
    let (mut fx, mut fy, mut fz, mut u, mut w) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let far = [ri[0] + 1.0, ri[1] + 1.0, ri[2] + 1.0, 0.0];
    let mut it = neighbours.peekable();
    while it.peek().is_some() {
        // Up to eight neighbours; padding lanes hold a far-away copy of i
        // (never summed). The eight `[x, y, z, type]` records are loaded
        // whole and transposed into lanes in registers: writing lanes one
        // scalar at a time into stack arrays and reloading them as vectors
        // stalled on store forwarding (~30% of this loop's time).
        let mut idx = [usize::MAX; 8];
        let mut count = 0;
        for (slot, j) in idx.iter_mut().zip(it.by_ref()) {
            *slot = j;
            count += 1;
        }
        let rows: [[f64; 4]; 8] =
            core::array::from_fn(|l| if l < count { packed[idx[l]] } else { far });
        let q: [[f64; 8]; 3] = core::array::from_fn(|a| core::array::from_fn(|l| rows[l][a]));
        let mut coef = [[0.0f64; 8]; 4];
        if !single {
            for l in 0..count {
                let c = sp.coef[row + rows[l][3] as usize];
                coef[0][l] = c.rc2;
                coef[1][l] = c.a;
                coef[2][l] = c.b;
                coef[3][l] = c.shift;
            }
        }
        let dx = min_image(ri8[0] - f64x8::new(q[0]), 0);
        let dy = min_image(ri8[1] - f64x8::new(q[1]), 1);
        let dz = if THREE {
            min_image(ri8[2] - f64x8::new(q[2]), 2)
        } else {
            f64x8::ZERO
        };
        let r2 = dx * dx + dy * dy + dz * dz;
        // One type pair: the coefficients are splats (padding lanes are
        // never summed, whatever their coefficients).
        let [rc2, a, bb, shift] = if single {
            [c0.rc2, c0.a, c0.b, c0.shift].map(f64x8::splat)
        } else {
            coef.map(f64x8::new)
        };
        let inside = r2.simd_lt(rc2);
        let (fr, uij) = if COULOMB {
            let ir = f64x8::ONE / r2.sqrt();
            let e = a * ir;
            (e * ir * ir, e - shift)
        } else {
            let ir2 = f64x8::ONE / r2;
            let ir6 = ir2 * ir2 * ir2;
            let t12 = a * ir6 * ir6;
            let t6 = bb * ir6;
            (
                (f64x8::splat(12.0) * t12 - f64x8::splat(6.0) * t6) * ir2,
                t12 - t6 - shift,
            )
        };
        let fr = inside.select(fr, f64x8::ZERO).to_array();
        let (dx, dy, dz) = (dx.to_array(), dy.to_array(), dz.to_array());
        let uij = inside.select(uij, f64x8::ZERO).to_array();
        let r2 = r2.to_array();
        for l in 0..count {
            fx += fr[l] * dx[l];
            fy += fr[l] * dy[l];
            if THREE {
                fz += fr[l] * dz[l];
            }
            if ENERGY {
                u += uij[l];
                w += fr[l] * r2[l];
            }
        }
    }
    [fx, fy, fz, u, w]
}

/// i-particles per tile of the all-pairs kernel (two f64x8 vectors).
const LONG_TILE: usize = 2 * 8;

/// Type counts up to which the all-pairs kernel tabulates, per tile, the
/// coefficient vectors of every partner type.
const LONG_TABLE_TYPES: usize = 8;

/// Adds the forces of long-range term `lp` (id `id`) on the particles
/// `first .. first + sx.len()` to `sx, sy, sz`, and their energy/virial
/// halves to `acc`.
///
/// Tiles of [`LONG_TILE`] i-particles sit in registers, one per lane; every
/// partner `j` (all particles, in index order) is broadcast, and each lane
/// accumulates its own force, so there are no horizontal sums and no writes
/// to `j`. `r^-3` comes from [`crate::simd::rsqrt`] (hardware estimate plus
/// Newton; a few ulp). The self pair is masked out in the one stretch of `j`
/// that overlaps the tile. Each particle's sum runs over `j` in index order
/// whatever the tile or thread, so results are bitwise identical for any
/// thread count.
#[allow(clippy::too_many_arguments)]
fn long_segment(
    pos: &Positions,
    sbox: &SimBox,
    first: usize,
    id: usize,
    lp: &LongPair,
    with_energy: bool,
    out: [&mut [f64]; 3],
    acc: &mut [f64; 2 * MAX_TERMS],
) {
    macro_rules! go {
        ($three:literal, $periodic:literal, $energy:literal, $uniform:literal) => {
            long_tiles::<$three, $periodic, $energy, $uniform>(pos, sbox, first, id, lp, out, acc)
        };
    }
    let uniform = lp.uniform || pos.types.is_empty();
    match (pos.dim == 3, sbox.periodic, with_energy, uniform) {
        (true, false, false, true) => go!(true, false, false, true),
        (true, false, true, true) => go!(true, false, true, true),
        (true, true, false, true) => go!(true, true, false, true),
        (true, true, true, true) => go!(true, true, true, true),
        (false, false, false, true) => go!(false, false, false, true),
        (false, false, true, true) => go!(false, false, true, true),
        (false, true, false, true) => go!(false, true, false, true),
        (false, true, true, true) => go!(false, true, true, true),
        (true, false, false, false) => go!(true, false, false, false),
        (true, false, true, false) => go!(true, false, true, false),
        (true, true, false, false) => go!(true, true, false, false),
        (true, true, true, false) => go!(true, true, true, false),
        (false, false, false, false) => go!(false, false, false, false),
        (false, false, true, false) => go!(false, false, true, false),
        (false, true, false, false) => go!(false, true, false, false),
        (false, true, true, false) => go!(false, true, true, false),
    }
}

/// Per-lane accumulators of one tile: force components, energy, virial.
#[derive(Clone, Copy)]
struct TileAcc {
    f: [[f64x8; 2]; 3],
    u: [f64x8; 2],
    w: [f64x8; 2],
}

/// Partner coefficients for the two i-vectors of a tile: `(k, s2)`.
type TileCoef = ([f64x8; 2], [f64x8; 2]);

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn long_tiles<const THREE: bool, const PERIODIC: bool, const ENERGY: bool, const UNIFORM: bool>(
    pos: &Positions,
    sbox: &SimBox,
    first: usize,
    id: usize,
    lp: &LongPair,
    [sx, sy, sz]: [&mut [f64]; 3],
    acc: &mut [f64; 2 * MAX_TERMS],
) {
    let n = pos.len();
    let nt = lp.ntypes;
    let xs = &pos.x[..n];
    let ys = &pos.y[..n];
    let zs = if THREE { &pos.z[..n] } else { xs };
    let sign = if lp.kind == PairKind::Gravity {
        -1.0
    } else {
        1.0
    };
    let len = sbox.lengths.map(f64x8::splat);
    let inv = sbox.inv_lengths.map(f64x8::splat);
    let lanes = f64x8::new([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    let (mut eu, mut ew) = (0.0, 0.0);
    let m = sx.len();
    let mut t0 = 0;
    while t0 < m {
        let i0 = first + t0;
        let cnt = LONG_TILE.min(m - t0);
        // Tile coordinates; padding lanes repeat the tile's first particle
        // (finite; their sums are discarded).
        let mut q = [[[0.0f64; 8]; 2]; 3];
        let mut ti = [0usize; LONG_TILE];
        for l in 0..LONG_TILE {
            let i = i0 + if l < cnt { l } else { 0 };
            q[0][l / 8][l % 8] = xs[i];
            q[1][l / 8][l % 8] = ys[i];
            q[2][l / 8][l % 8] = if THREE { zs[i] } else { 0.0 };
            ti[l] = pos.type_of(i);
        }
        let r = q.map(|c| c.map(f64x8::new));
        let idx = [
            f64x8::splat(i0 as f64) + lanes,
            f64x8::splat((i0 + 8) as f64) + lanes,
        ];
        let mut a = TileAcc {
            f: [[f64x8::ZERO; 2]; 3],
            u: [f64x8::ZERO; 2],
            w: [f64x8::ZERO; 2],
        };
        let (lo, hi) = (i0, (i0 + LONG_TILE).min(n));
        if UNIFORM {
            let c: TileCoef = ([f64x8::ONE; 2], [f64x8::splat(lp.soft2[0]); 2]);
            let coef = |_j: usize| c;
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, false>(
                &mut a, &r, &idx, xs, ys, zs, 0, lo, &len, &inv, &coef,
            );
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, true>(
                &mut a, &r, &idx, xs, ys, zs, lo, hi, &len, &inv, &coef,
            );
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, false>(
                &mut a, &r, &idx, xs, ys, zs, hi, n, &len, &inv, &coef,
            );
        } else if nt <= LONG_TABLE_TYPES {
            // Coefficient vectors of this tile against each partner type.
            let mut tab = [([f64x8::ZERO; 2], [f64x8::ZERO; 2]); LONG_TABLE_TYPES];
            for (tj, e) in tab.iter_mut().enumerate().take(nt) {
                *e = tile_coef(lp, &ti, tj);
            }
            let coef = |j: usize| tab[pos.types[j] as usize];
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, false>(
                &mut a, &r, &idx, xs, ys, zs, 0, lo, &len, &inv, &coef,
            );
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, true>(
                &mut a, &r, &idx, xs, ys, zs, lo, hi, &len, &inv, &coef,
            );
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, false>(
                &mut a, &r, &idx, xs, ys, zs, hi, n, &len, &inv, &coef,
            );
        } else {
            let coef = |j: usize| tile_coef(lp, &ti, pos.types[j] as usize);
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, false>(
                &mut a, &r, &idx, xs, ys, zs, 0, lo, &len, &inv, &coef,
            );
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, true>(
                &mut a, &r, &idx, xs, ys, zs, lo, hi, &len, &inv, &coef,
            );
            tile_range::<THREE, PERIODIC, ENERGY, UNIFORM, false>(
                &mut a, &r, &idx, xs, ys, zs, hi, n, &len, &inv, &coef,
            );
        }
        // Uniform tiles accumulated k-free sums: scale by k once per tile.
        let scale = f64x8::splat(if UNIFORM { sign * lp.strength[0] } else { sign });
        for v in 0..2 {
            let f = a.f.map(|c| (c[v] * scale).to_array());
            let (u, w) = ((a.u[v] * scale).to_array(), (a.w[v] * scale).to_array());
            for l in 0..8 {
                let k = 8 * v + l;
                if k >= cnt {
                    break;
                }
                sx[t0 + k] += f[0][l];
                sy[t0 + k] += f[1][l];
                if THREE {
                    sz[t0 + k] += f[2][l];
                }
                if ENERGY {
                    eu += u[l];
                    ew += w[l];
                }
            }
        }
        t0 += LONG_TILE;
    }
    if ENERGY {
        acc[2 * id] += 0.5 * eu;
        acc[2 * id + 1] += 0.5 * ew;
    }
}

/// `(k, s2)` of the tile's lanes (types `ti`) against partner type `tj`.
#[inline(always)]
fn tile_coef(lp: &LongPair, ti: &[usize; LONG_TILE], tj: usize) -> TileCoef {
    let nt = lp.ntypes;
    let mut k = [[0.0; 8]; 2];
    let mut s = [[0.0; 8]; 2];
    for l in 0..LONG_TILE {
        let p = ti[l] * nt + tj;
        k[l / 8][l % 8] = lp.strength[p];
        s[l / 8][l % 8] = lp.soft2[p];
    }
    (k.map(f64x8::new), s.map(f64x8::new))
}

/// Accumulates the pairs of a tile (positions `r`, global indices `idx`)
/// with partners `j in lo..hi`; `MASK` drops the self pair (`j` equal to a
/// lane's index). Uniform terms accumulate `r^-3 d` (k applied per tile),
/// others `k r^-3 d`. Virial uses `r^2` without softening.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile_range<
    const THREE: bool,
    const PERIODIC: bool,
    const ENERGY: bool,
    const UNIFORM: bool,
    const MASK: bool,
>(
    a: &mut TileAcc,
    r: &[[f64x8; 2]; 3],
    idx: &[f64x8; 2],
    xs: &[f64],
    ys: &[f64],
    zs: &[f64],
    lo: usize,
    hi: usize,
    len: &[f64x8; 3],
    inv: &[f64x8; 3],
    coef: &impl Fn(usize) -> TileCoef,
) {
    if lo >= hi {
        return;
    }
    let min_image = |d: f64x8, c: usize| {
        if PERIODIC {
            d - len[c] * (d * inv[c]).round_ties_even()
        } else {
            d
        }
    };
    let it = xs[lo..hi]
        .iter()
        .zip(&ys[lo..hi])
        .zip(&zs[lo..hi])
        .enumerate();
    for (o, ((&xj, &yj), &zj)) in it {
        let j = lo + o;
        let (k, s2) = coef(j);
        let (xj, yj, zj) = (f64x8::splat(xj), f64x8::splat(yj), f64x8::splat(zj));
        for v in 0..2 {
            let dx = min_image(r[0][v] - xj, 0);
            let dy = min_image(r[1][v] - yj, 1);
            let dz = if THREE {
                min_image(r[2][v] - zj, 2)
            } else {
                f64x8::ZERO
            };
            let d2 = if THREE {
                dx.mul_add(dx, dy.mul_add(dy, dz.mul_add(dz, s2[v])))
            } else {
                dx.mul_add(dx, dy.mul_add(dy, s2[v]))
            };
            let (ir, ir3) = if ENERGY {
                rsqrt::rsqrt_and_cubed(d2)
            } else {
                (f64x8::ZERO, rsqrt::rsqrt_cubed(d2))
            };
            let (ir, ir3) = if MASK {
                let keep = idx[v].simd_ne(f64x8::splat(j as f64));
                (keep.select(ir, f64x8::ZERO), keep.select(ir3, f64x8::ZERO))
            } else {
                (ir, ir3)
            };
            let (ir, ir3) = if UNIFORM {
                (ir, ir3)
            } else {
                (k[v] * ir, k[v] * ir3)
            };
            a.f[0][v] = ir3.mul_add(dx, a.f[0][v]);
            a.f[1][v] = ir3.mul_add(dy, a.f[1][v]);
            if THREE {
                a.f[2][v] = ir3.mul_add(dz, a.f[2][v]);
            }
            if ENERGY {
                let r2 = if THREE {
                    dx.mul_add(dx, dy.mul_add(dy, dz * dz))
                } else {
                    dx.mul_add(dx, dy * dy)
                };
                a.u[v] += ir;
                a.w[v] = ir3.mul_add(r2, a.w[v]);
            }
        }
    }
}
