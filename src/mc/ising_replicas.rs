//! Replica multi-spin coding: 64 uncoupled Ising replicas of one periodic
//! 2D square or 3D cubic lattice, one replica per bit, updated together by
//! checkerboard Metropolis with bitwise logic. Each replica has its own
//! temperature, so one sweep is a whole temperature scan.
//!
//! `H = -J sum_<ij> s_i s_j - h sum_i s_i` per replica, Boltzmann weight
//! `exp(-H / T_b)` (`k_B = 1`; `J`, `h`, `T_b` in the same energy unit), bonds
//! counted as in [`super::ising`] (each site has `2 dim` bonds).
//!
//! ## Replica / sublattice scheme
//! Every side is even (the checkerboard must be bipartite). Site storage is
//! the checkerboard layout of [`super::ising`]: colour `c = (x + y + z) mod 2`,
//! element `c N/2 + r (lx/2) + x/2` with row `r = y + ly z`. The element is a
//! `u64` whose bit `b` is the spin of replica `b` at that site (1 = up, +1).
//! Replica `b` runs at temperature `T_{b mod n}` of the `n` (1..=64)
//! temperatures given, so all 64 replicas are always updated and used.
//!
//! ## Update
//! A sweep updates colour 0, then colour 1 (in parallel over rows, SIMD over
//! 8 sites x 64 replicas). For a site, `a_i = S xor N_i` marks the replicas
//! whose neighbour `i` is antiparallel; a bit-sliced full adder counts
//! `m = sum_i a_i` (0..=2 dim) per replica. The Metropolis flip probability
//! of replica `b` depends on its class `(m, s)` only:
//! `p = min(1, exp(-(1/T_b) 2 s (J nb + h)))`, `nb = s (2 dim - 2 m)` the
//! neighbour sum, evaluated in `f64` exactly as the int8 checkerboard kernel
//! does, and used as the 32-bit threshold `t = max(ceil(p 2^32), 1) - 1`
//! (`super::ising::acceptance_threshold`).
//!
//! ## Random numbers and their correlation structure
//! ONE 32-bit Philox4x32-10 word `w` per (sweep, colour, site), shared by the
//! 64 replicas: generator `(seed, Stream::IsingReplicas.with_sub(stream))`,
//! site `(colour c, row r, half-index k = x/2)` in sweep `n` uses block
//! `((2 n + c) rows + r) B + 16 (k / 64) + k mod 16`, word `(k mod 64) / 16`,
//! with `B = 16 ceil((lx/2) / 64)` blocks per row (the mapping of the int8
//! checkerboard kernel). Replica `b` uses the rotated word
//! `w_b = (w + b 2^26) mod 2^32` (a Cranley-Patterson rotation by `b/64`) and
//! flips iff `w_b <= t`, i.e. with probability `max(ceil(p 2^32), 1) / 2^32`
//! (at least one word accepts, as in [`super::ising`]: a `p` that underflows
//! to 0 still flips with probability `2^-32`).
//!
//! * Each replica on its own is EXACTLY the single-spin checkerboard
//!   Metropolis chain: its words `w_b` are uniform on `[0, 2^32)` and
//!   independent across sites, colours and sweeps (a fixed rotation of an
//!   independent uniform word is an independent uniform word). Replica 0 uses
//!   `w` itself. So every replica's marginal samples its Boltzmann
//!   distribution exactly, as a checkerboard Metropolis run would.
//! * Different replicas are NOT independent: at the same site and sweep they
//!   see the same `w` with fixed relative rotation `(a - b)/64` of the unit
//!   circle. Two replicas at the same temperature in the same local state
//!   flip together iff `w` falls in both rotated acceptance intervals, so
//!   their decisions are stratified, not identical: with `d` the circular
//!   distance `min(δ, 1 - δ)`, `δ = ((a - b) mod 64) / 64`, and `p <= 1/2`,
//!   they disagree with probability `2 min(p, d)` per such visit, which keeps
//!   them from coalescing. Averages over replicas (at one
//!   temperature) are averages of correlated chains: estimate errors from
//!   per-sweep replica averages, binned in time, not from the replica
//!   spread.
//! * Results are a pure function of `(seed, stream, sweep, site)`: bitwise
//!   identical for any thread count and any split of the sweeps into calls
//!   (the sweep counter lives in the handle).
//!
//! ## Acceptance masks (how the shared word is used fast)
//! `w_b`'s top byte is `(hi + 4 b) mod 256` with `hi = w >> 24`, its low 24
//! bits are `lo = w mod 2^24` for every replica. So for each class the set of
//! accepting replicas, as a function of `w`, is a table over `hi` (256
//! buckets, built when the temperatures are set) of a 64-bit mask at
//! `lo = 0`, minus the replicas whose threshold's low bits `t mod 2^24 < lo`
//! among those whose threshold's top byte equals their rotated top byte (at
//! most a few per bucket). The result equals the per-replica definition bit
//! for bit (tested against a literal loop over replicas).
//!
//! One temperature (every replica at the same `T`, `h = 0`, `J > 0`): with
//! `w = h 2^26 + l`, replica `b`'s word is `j 2^26 + l`, `j = (h + b) mod 64`,
//! so against the common threshold `t = th 2^26 + tl` it accepts iff
//! `j < th`, or `j == th` and `l <= tl`: the accepting set is the fixed mask
//! `{j < th} + {j == th if l <= tl}` rotated right by `h`, a few vector
//! operations per eight sites instead of table lookups (about twice the
//! throughput; same bits, tested).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::parallel::{for_each_chunk_mut, run};
use crate::rng::philox::{BlockBatch, Philox};
use crate::rng::stream::Stream;
use wide::u64x8;

use super::ising::{
    acceptance_threshold, check_temperature, checkerboard_neighbour_rows, lattice_extent,
};

/// Replicas per lattice (bits per site word).
pub const REPLICAS: usize = 64;

/// Replica `b`'s word is `w + b << ROTATION_SHIFT` (rotation by `b / 64`).
pub const ROTATION_SHIFT: u32 = 26;

/// Sites per parallel task (each site is 64 spin updates).
const TASK_SITES: usize = 1 << 13;

/// Most classes `(m, s)`: `m` in `0..=6` (3D), two spin signs.
const MAX_CLASSES: usize = 14;

/// Creation parameters of [`IsingReplicas`] (temperatures are passed apart).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IsingReplicasParams {
    /// 2 (square) or 3 (cubic).
    pub dim: usize,
    /// Sides, each even and >= 2 (`lz` ignored in 2D).
    pub lx: usize,
    pub ly: usize,
    pub lz: usize,
    /// `J` (finite, any sign).
    pub coupling: f64,
    /// `h` (finite).
    pub field: f64,
    pub seed: u64,
    /// User stream (low 48 bits used).
    pub stream: u64,
    /// Start every replica from independent random spins: site `s`
    /// (row-major) gets word `w0 | w1 << 32` of block `s` of
    /// `(seed, Stream::IsingReplicasHotStart.with_sub(stream))` (bit b = 1:
    /// replica b up); otherwise all spins +1.
    pub hot_start: bool,
}

impl Default for IsingReplicasParams {
    fn default() -> Self {
        Self {
            dim: 2,
            lx: 64,
            ly: 64,
            lz: 1,
            coupling: 1.0,
            field: 0.0,
            seed: 0,
            stream: 0,
            hot_start: false,
        }
    }
}

/// Lattice shape and derived sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    dim: usize,
    lx: usize,
    ly: usize,
    lz: usize,
    rows: usize,
    n: usize,
    half_width: usize,
    blocks_per_row: u64,
    rows_per_task: usize,
}

impl Shape {
    fn new(p: &IsingReplicasParams) -> Result<Self> {
        let (lz, n) = lattice_extent(p.dim, [p.lx, p.ly, p.lz], true)?;
        let half_width = p.lx / 2;
        Ok(Self {
            dim: p.dim,
            lx: p.lx,
            ly: p.ly,
            lz,
            rows: p.ly * lz,
            n,
            half_width,
            blocks_per_row: 16 * half_width.div_ceil(64) as u64,
            rows_per_task: (TASK_SITES / half_width).max(1),
        })
    }

    /// Storage index of site `(x, y, z)`.
    #[inline]
    fn index(&self, x: usize, y: usize, z: usize) -> usize {
        let c = (x + y + z) & 1;
        c * (self.n / 2) + (y + self.ly * z) * self.half_width + x / 2
    }

    /// Rows of the other colour next to row `r`: same row, `y +- 1`, `z +- 1`.
    #[inline]
    fn neighbour_rows(&self, r: usize) -> [usize; 5] {
        checkerboard_neighbour_rows(self.ly, self.lz, r)
    }

    /// Half-index offset of the side neighbour (other than `k`) of the
    /// colour-`c` sites of row `r`: `-1` or `+1`.
    #[inline]
    fn side_shift(&self, color: usize, r: usize) -> isize {
        if (color + r % self.ly + r / self.ly) & 1 == 0 {
            -1
        } else {
            1
        }
    }
}

/// One bucket of a group's acceptance table (see the module docs), 16 bytes:
/// the accepting replicas at `lo = 0` (`m0`) and the one replica `bit` that
/// stops accepting once `lo > tl`, stored as `tlp = tl + 2^24` (`tl =
/// NO_END`: none). `tlp` has bit 31 set when the bucket has more than one
/// such replica: then all of them are in the group's extra list (range in
/// `Acceptance::crowded`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bucket {
    m0: u64,
    tlp: u32,
    bit: u32,
}

/// Low 26 bits: a word's part that the rotations `b 2^26` leave unchanged.
const LOW26: u32 = (1 << 26) - 1;

/// Low-24-bit mask; a `tl` of `NO_END` never removes (`lo <= 2^24 - 1`).
const NO_END: u32 = (1 << 24) - 1;
/// Flag in `tlp`: ends are in the extra list.
const CROWDED: u32 = 1 << 31;

impl Bucket {
    /// Accepting replicas, or `None` for a crowded bucket.
    #[inline(always)]
    fn accept(&self, lo: u32) -> Option<u64> {
        if self.tlp & CROWDED != 0 {
            return None;
        }
        // Bit 24 of tl + 2^24 - lo is 1 iff lo <= tl (no compare: a select
        // here is turned into an unpredictable branch).
        let gone = u64::from(!self.tlp.wrapping_sub(lo) >> 24 & 1) << self.bit;
        Some(self.m0 ^ gone)
    }
}

/// Which classes `(m, s)` a mask collects: per `m`, bit 0 = spin up,
/// bit 1 = spin down.
type ClassSet = [u8; 7];

/// Groups held in the tables' fast layouts (`[hi][stride]`).
const FAST_GROUPS: usize = 4;

/// Acceptance tables of the current temperatures (rebuilt in place, no
/// allocation after creation).
#[derive(Clone, Debug)]
struct Acceptance {
    /// Classes whose every replica accepts with probability 1.
    always: ClassSet,
    /// Distinct non-trivial threshold vectors ("groups") and their classes.
    n_groups: usize,
    group_classes: [ClassSet; MAX_CLASSES],
    /// The class structure of `h = 0`, `J > 0`: classes `m >= dim` always
    /// flip, group `g < dim` is exactly the classes `(g, +-1)`.
    ferro: bool,
    /// Groups the kernel loops over: `n_groups` (<= 4) or `MAX_CLASSES`.
    stride: usize,
    /// Every replica at the same temperature: per group the common threshold
    /// split as `(t >> 26, t mod 2^26)`, so that a group's accepting set is a
    /// rotation of a fixed mask (module docs, "one temperature").
    uniform: Option<[(u32, u32); MAX_CLASSES]>,
    /// Buckets `[hi][stride]` (stride groups per `hi`, compact so the used
    /// part stays in L1).
    buckets: Vec<Bucket>,
    /// Extra-list range `(start, len)` of crowded buckets, `[group][hi]`.
    crowded: Vec<(u16, u16)>,
    /// Extra ends `(tl, bit)`, `[group][64]`.
    extra: Vec<(u32, u64)>,
}

/// Class index `2 m + (s down)`.
#[inline]
fn class_index(m: usize, down: bool) -> usize {
    2 * m + usize::from(down)
}

/// Thresholds `t[class][b]` of the documented Metropolis rule.
fn thresholds(
    dim: usize,
    j: f64,
    h: f64,
    temps: &[f64; REPLICAS],
) -> [[u32; REPLICAS]; MAX_CLASSES] {
    let mut t = [[0u32; REPLICAS]; MAX_CLASSES];
    let z = 2 * dim;
    for m in 0..=z {
        for down in [false, true] {
            let s = if down { -1.0 } else { 1.0 };
            let nb = s * (z as f64 - 2.0 * m as f64);
            let local = j * nb + h;
            for (b, tb) in t[class_index(m, down)].iter_mut().enumerate() {
                *tb = metropolis_threshold(temps[b], s, local);
            }
        }
    }
    t
}

/// `acceptance_threshold(min(1, exp(-(1/T) 2 s local)))`, the expression of
/// the int8 checkerboard kernel (`local = J nb + h`).
#[inline]
pub fn metropolis_threshold(temperature: f64, s: f64, local: f64) -> u32 {
    let beta = 1.0 / temperature;
    acceptance_threshold((-beta * 2.0 * s * local).exp().min(1.0))
}

impl Acceptance {
    fn new() -> Result<Self> {
        let mut buckets = Vec::new();
        buckets
            .try_reserve_exact(256 * MAX_CLASSES)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "acceptance tables"))?;
        buckets.resize(256 * MAX_CLASSES, Bucket::default());
        let mut crowded = Vec::new();
        crowded
            .try_reserve_exact(256 * MAX_CLASSES)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "acceptance tables"))?;
        crowded.resize(256 * MAX_CLASSES, (0, 0));
        let mut extra = Vec::new();
        extra
            .try_reserve_exact(MAX_CLASSES * REPLICAS)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "acceptance tables"))?;
        extra.resize(MAX_CLASSES * REPLICAS, (0, 0));
        Ok(Self {
            always: [0; 7],
            n_groups: 0,
            group_classes: [[0; 7]; MAX_CLASSES],
            ferro: false,
            stride: 1,
            uniform: None,
            buckets,
            crowded,
            extra,
        })
    }

    fn rebuild(&mut self, dim: usize, j: f64, h: f64, temps: &[f64; REPLICAS]) {
        let t = thresholds(dim, j, h, temps);
        self.always = [0; 7];
        self.n_groups = 0;
        self.group_classes = [[0; 7]; MAX_CLASSES];
        let mut group_t: [usize; MAX_CLASSES] = [0; MAX_CLASSES];
        for m in 0..=2 * dim {
            for down in [false, true] {
                let c = class_index(m, down);
                let bit = 1u8 << u8::from(down);
                if t[c].iter().all(|&v| v == u32::MAX) {
                    self.always[m] |= bit;
                    continue;
                }
                match (0..self.n_groups).find(|&g| t[group_t[g]] == t[c]) {
                    Some(g) => self.group_classes[g][m] |= bit,
                    None => {
                        let g = self.n_groups;
                        group_t[g] = c;
                        self.group_classes[g][m] |= bit;
                        self.n_groups += 1;
                    }
                }
            }
        }
        self.ferro = self.n_groups == dim
            && (0..=2 * dim).all(|m| self.always[m] == if m >= dim { 3 } else { 0 })
            && (0..dim)
                .all(|g| (0..7).all(|m| self.group_classes[g][m] == if m == g { 3 } else { 0 }));
        self.stride = if self.n_groups <= FAST_GROUPS {
            self.n_groups.max(1)
        } else {
            MAX_CLASSES
        };
        let mut uniform = [(0u32, 0u32); MAX_CLASSES];
        let mut all_equal = true;
        for (g, u) in uniform.iter_mut().enumerate().take(self.n_groups) {
            let tg = &t[group_t[g]];
            all_equal &= tg.iter().all(|&v| v == tg[0]);
            *u = (tg[0] >> 26, tg[0] & LOW26);
        }
        self.uniform = all_equal.then_some(uniform);
        self.buckets.iter_mut().for_each(|b| *b = Bucket::default());
        for g in 0..self.n_groups {
            let tg = &t[group_t[g]];
            let mut n_extra = g * REPLICAS;
            for hi in 0..256usize {
                let start = n_extra;
                self.buckets[hi * self.stride + g] =
                    bucket_of(tg, hi, &mut self.extra, &mut n_extra);
                self.crowded[g * 256 + hi] = (start as u16, (n_extra - start) as u16);
            }
        }
    }

    /// Accepting replicas of group `g` for word `w` (tests).
    #[cfg(test)]
    fn accept(&self, g: usize, w: u32) -> u64 {
        let hi = (w >> 24) as usize;
        self.buckets[hi * self.stride + g]
            .accept(w & NO_END)
            .unwrap_or_else(|| self.accept_crowded(g, hi, w & NO_END))
    }

    /// Accepting replicas of a crowded bucket: `m0` minus the extra ends
    /// with `lo > tl`.
    #[cold]
    #[inline(never)]
    fn accept_crowded(&self, g: usize, hi: usize, lo: u32) -> u64 {
        let (start, len) = self.crowded[g * 256 + hi];
        let (start, len) = (usize::from(start), usize::from(len));
        let mut a = self.buckets[hi * self.stride + g].m0;
        for &(tl, x) in &self.extra[start..start + len] {
            if lo > tl {
                a ^= x;
            }
        }
        a
    }
}

/// Bucket `hi` of thresholds `t` (see the module docs): replica `b`'s rotated
/// top byte is `(hi + 4 b) mod 256`; it accepts at `lo = 0` iff that byte is
/// at most its threshold's top byte, and stops accepting once
/// `lo > t mod 2^24` iff the bytes are equal.
fn bucket_of(
    t: &[u32; REPLICAS],
    hi: usize,
    extra: &mut [(u32, u64)],
    n_extra: &mut usize,
) -> Bucket {
    let mut bucket = Bucket {
        m0: 0,
        bit: 0,
        tlp: NO_END + (1 << 24),
    };
    let mut ends = [(0u32, 0u64); REPLICAS];
    let mut n_ends = 0;
    for (b, &tb) in t.iter().enumerate() {
        let top = (hi + 4 * b) & 255;
        let (th, tl) = ((tb >> 24) as usize, tb & NO_END);
        if top <= th {
            bucket.m0 |= 1 << b;
        }
        if top == th && tl != NO_END {
            ends[n_ends] = (tl, 1 << b);
            n_ends += 1;
        }
    }
    if n_ends == 1 {
        bucket.tlp = ends[0].0 + (1 << 24);
        bucket.bit = ends[0].1.trailing_zeros();
    } else if n_ends > 1 {
        bucket.tlp |= CROWDED;
        extra[*n_extra..*n_extra + n_ends].copy_from_slice(&ends[..n_ends]);
        *n_extra += n_ends;
    }
    bucket
}

/// Replicas that flip, per the documented rule, for word `w` and thresholds
/// `t[b]`: a literal loop over replicas (the definition the tables implement).
pub fn accepting_replicas_reference(w: u32, t: &[u32; REPLICAS]) -> u64 {
    let mut mask = 0u64;
    for (b, &tb) in t.iter().enumerate() {
        let wb = w.wrapping_add((b as u32) << ROTATION_SHIFT);
        if wb <= tb {
            mask |= 1 << b;
        }
    }
    mask
}

/// Per-replica energy and magnetisation of a configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaObservables {
    /// `sum_i sum_d s_i s_{i + e_d}` per replica (exact).
    pub bond_sum: [i64; REPLICAS],
    /// `sum_i s_i` per replica (exact).
    pub spin_sum: [i64; REPLICAS],
    /// `H / N` per replica.
    pub energy_per_spin: [f64; REPLICAS],
    /// `spin_sum / N` per replica.
    pub magnetisation_per_spin: [f64; REPLICAS],
}

/// 64 replicas of a periodic Ising lattice, one bit each (see module docs).
#[derive(Clone, Debug)]
pub struct IsingReplicas {
    shape: Shape,
    words: Vec<u64>,
    coupling: f64,
    field: f64,
    /// Per replica (`T_{b mod n}`).
    temperatures: [f64; REPLICAS],
    n_temperatures: usize,
    seed: u64,
    stream: u64,
    sweeps: u64,
    acceptance: Acceptance,
}

fn check_temperatures(temps: &[f64]) -> Result<()> {
    if temps.is_empty() || temps.len() > REPLICAS {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("{} temperatures: need 1 to {REPLICAS}", temps.len()),
        ));
    }
    for (i, &t) in temps.iter().enumerate() {
        check_temperature(t)
            .map_err(|e| Error::new(e.kind, format!("temperatures[{i}]: {}", e.message)))?;
    }
    Ok(())
}

impl IsingReplicas {
    /// Validates, allocates the lattice (8 bytes per site) and the acceptance
    /// tables, and sets the initial spins. `temperatures`: 1 to 64 values,
    /// replica `b` runs at `temperatures[b % len]`.
    pub fn new(p: &IsingReplicasParams, temperatures: &[f64]) -> Result<Self> {
        let shape = Shape::new(p)?;
        for (name, v) in [("coupling", p.coupling), ("field", p.field)] {
            if !v.is_finite() {
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("{name} = {v}: must be finite"),
                ));
            }
        }
        check_temperatures(temperatures)?;
        let mut words = Vec::new();
        words.try_reserve_exact(shape.n).map_err(|_| {
            Error::new(
                ErrorKind::OutOfMemory,
                format!("cannot allocate {} site words", shape.n),
            )
        })?;
        words.resize(shape.n, u64::MAX);
        let mut lat = Self {
            shape,
            words,
            coupling: p.coupling,
            field: p.field,
            temperatures: [1.0; REPLICAS],
            n_temperatures: 1,
            seed: p.seed,
            stream: p.stream,
            sweeps: 0,
            acceptance: Acceptance::new()?,
        };
        lat.set_temperatures(temperatures)?;
        if p.hot_start {
            let g = Philox::new(p.seed, Stream::IsingReplicasHotStart.with_sub(p.stream));
            for s in 0..shape.n {
                let (x, y, z) = lat.coords(s);
                let b = g.block(s as u64);
                lat.words[shape.index(x, y, z)] = u64::from(b[0]) | u64::from(b[1]) << 32;
            }
        }
        Ok(lat)
    }

    fn coords(&self, s: usize) -> (usize, usize, usize) {
        let x = s % self.shape.lx;
        let r = s / self.shape.lx;
        (x, r % self.shape.ly, r / self.shape.ly)
    }

    pub fn dim(&self) -> usize {
        self.shape.dim
    }

    pub fn n_sites(&self) -> usize {
        self.shape.n
    }

    pub fn sweeps_done(&self) -> u64 {
        self.sweeps
    }

    pub fn set_sweeps_done(&mut self, sweeps: u64) {
        self.sweeps = sweeps;
    }

    /// Temperature of each replica.
    pub fn temperatures(&self) -> &[f64; REPLICAS] {
        &self.temperatures
    }

    /// Sets 1 to 64 temperatures (replica `b` at `temperatures[b % len]`) and
    /// rebuilds the acceptance tables in place (no allocation). Unchanged on
    /// error.
    pub fn set_temperatures(&mut self, temperatures: &[f64]) -> Result<()> {
        check_temperatures(temperatures)?;
        let n = temperatures.len();
        for (b, t) in self.temperatures.iter_mut().enumerate() {
            *t = temperatures[b % n];
        }
        self.n_temperatures = n;
        self.acceptance.rebuild(
            self.shape.dim,
            self.coupling,
            self.field,
            &self.temperatures,
        );
        Ok(())
    }

    /// The raw site words in checkerboard storage (bit b = replica b up).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Word of row-major site `s` (bit b = replica b up).
    pub fn site_word(&self, s: usize) -> u64 {
        let (x, y, z) = self.coords(s);
        self.words[self.shape.index(x, y, z)]
    }

    /// Spins of all replicas, `[replica][site]` int8 (+1/-1), sites
    /// row-major: `out.len() == 64 N`.
    pub fn spins_into(&self, out: &mut [i8]) -> Result<()> {
        let n = self.shape.n;
        if out.len() != REPLICAS * n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "spins has {} elements, need 64 x {n} sites = {}",
                    out.len(),
                    REPLICAS * n
                ),
            ));
        }
        for s in 0..n {
            let w = self.site_word(s);
            for b in 0..REPLICAS {
                out[b * n + s] = if w >> b & 1 == 1 { 1 } else { -1 };
            }
        }
        Ok(())
    }

    /// Spins of replica `b`, row-major int8 (`out.len() == N`).
    pub fn replica_spins_into(&self, replica: usize, out: &mut [i8]) -> Result<()> {
        if replica >= REPLICAS {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("replica = {replica}: must be < 64"),
            ));
        }
        let n = self.shape.n;
        if out.len() != n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "spins has {} elements, the lattice has {n} sites",
                    out.len()
                ),
            ));
        }
        for (s, o) in out.iter_mut().enumerate() {
            *o = if self.site_word(s) >> replica & 1 == 1 {
                1
            } else {
                -1
            };
        }
        Ok(())
    }

    /// Replaces all spins from `[replica][site]` int8, each +1 or -1
    /// (`len == 64 N`); unchanged on error.
    pub fn set_spins(&mut self, spins: &[i8]) -> Result<()> {
        let n = self.shape.n;
        if spins.len() != REPLICAS * n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "spins has {} elements, need 64 x {n} sites = {}",
                    spins.len(),
                    REPLICAS * n
                ),
            ));
        }
        if let Some(i) = spins.iter().position(|&s| s != 1 && s != -1) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "spins[{i}] = {} (replica {}, site {}): every spin must be +1 or -1",
                    spins[i],
                    i / n,
                    i % n
                ),
            ));
        }
        for s in 0..n {
            let mut w = 0u64;
            for b in 0..REPLICAS {
                w |= u64::from(spins[b * n + s] > 0) << b;
            }
            let (x, y, z) = self.coords(s);
            let i = self.shape.index(x, y, z);
            self.words[i] = w;
        }
        Ok(())
    }

    /// Exact per-replica energy and magnetisation (positional popcounts of
    /// the antiparallel-bond words and of the site words).
    pub fn observables(&self) -> ReplicaObservables {
        let sh = self.shape;
        let w = sh.half_width;
        let (c0, c1) = self.words.split_at(sh.n / 2);
        let anti: [AtomicU64; REPLICAS] = std::array::from_fn(|_| AtomicU64::new(0));
        let up: [AtomicU64; REPLICAS] = std::array::from_fn(|_| AtomicU64::new(0));
        let n_tasks = sh.rows.div_ceil(sh.rows_per_task);
        run(n_tasks, &|task| {
            let r0 = task * sh.rows_per_task;
            let r1 = (r0 + sh.rows_per_task).min(sh.rows);
            let (mut ca, mut cu) = (ColumnCounter::new(), ColumnCounter::new());
            for r in r0..r1 {
                let rows = sh.neighbour_rows(r);
                let orow = |rr: usize| &c1[rr * w..(rr + 1) * w];
                let own = &c0[r * w..(r + 1) * w];
                let shift = sh.side_shift(0, r);
                for k in 0..w {
                    let s = own[k];
                    let side = (k as isize + shift).rem_euclid(w as isize) as usize;
                    ca.push(s ^ orow(rows[0])[k]);
                    ca.push(s ^ orow(rows[0])[side]);
                    ca.push(s ^ orow(rows[1])[k]);
                    ca.push(s ^ orow(rows[2])[k]);
                    if sh.dim == 3 {
                        ca.push(s ^ orow(rows[3])[k]);
                        ca.push(s ^ orow(rows[4])[k]);
                    }
                    cu.push(s);
                    cu.push(c1[r * w + k]);
                }
            }
            for (counter, totals) in [(ca, &anti), (cu, &up)] {
                let t = counter.totals();
                for b in 0..REPLICAS {
                    totals[b].fetch_add(t[b], Ordering::Relaxed);
                }
            }
        });
        let n = sh.n as i64;
        let mut o = ReplicaObservables {
            bond_sum: [0; REPLICAS],
            spin_sum: [0; REPLICAS],
            energy_per_spin: [0.0; REPLICAS],
            magnetisation_per_spin: [0.0; REPLICAS],
        };
        for b in 0..REPLICAS {
            let a = anti[b].load(Ordering::Relaxed) as i64;
            let u = up[b].load(Ordering::Relaxed) as i64;
            o.bond_sum[b] = sh.dim as i64 * n - 2 * a;
            o.spin_sum[b] = 2 * u - n;
            o.energy_per_spin[b] = (-self.coupling * o.bond_sum[b] as f64
                - self.field * o.spin_sum[b] as f64)
                / n as f64;
            o.magnetisation_per_spin[b] = o.spin_sum[b] as f64 / n as f64;
        }
        o
    }

    /// `n` checkerboard sweeps of all 64 replicas. `energy` / `magnetisation`
    /// are empty or hold `n * 64` values: `[sweep][replica]` per spin after
    /// each sweep. Allocates nothing; nothing changes on error.
    pub fn sweep(&mut self, n: usize, energy: &mut [f64], magnetisation: &mut [f64]) -> Result<()> {
        for (name, len) in [
            ("energy", energy.len()),
            ("magnetisation", magnetisation.len()),
        ] {
            if len != 0 && Some(len) != n.checked_mul(REPLICAS) {
                return Err(Error::new(
                    ErrorKind::InvalidSize,
                    format!("{name} has {len} elements for n = {n} sweeps (need 64 n, or none)"),
                ));
            }
        }
        let per_sweep = 2 * self.shape.rows as u64 * self.shape.blocks_per_row;
        if self
            .sweeps
            .checked_add(n as u64)
            .and_then(|s| s.checked_mul(per_sweep))
            .is_none()
        {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "sweep counter {} + n = {n} would pass the 64-bit Philox block counter",
                    self.sweeps
                ),
            ));
        }
        for i in 0..n {
            for color in 0..2 {
                self.half_sweep(color);
            }
            self.sweeps += 1;
            if !energy.is_empty() || !magnetisation.is_empty() {
                let o = self.observables();
                if !energy.is_empty() {
                    energy[i * REPLICAS..(i + 1) * REPLICAS].copy_from_slice(&o.energy_per_spin);
                }
                if !magnetisation.is_empty() {
                    magnetisation[i * REPLICAS..(i + 1) * REPLICAS]
                        .copy_from_slice(&o.magnetisation_per_spin);
                }
            }
        }
        Ok(())
    }

    fn half_sweep(&mut self, color: usize) {
        let sh = self.shape;
        let philox = Philox::new(self.seed, Stream::IsingReplicas.with_sub(self.stream));
        let first_block = (2 * self.sweeps + color as u64) * sh.rows as u64 * sh.blocks_per_row;
        let (c0, c1) = self.words.split_at_mut(sh.n / 2);
        let (own, other): (&mut [u64], &[u64]) = if color == 0 { (c0, &*c1) } else { (c1, &*c0) };
        let w = sh.half_width;
        let acc = &self.acceptance;
        for_each_chunk_mut(own, sh.rows_per_task * w, &|task, part| {
            let r0 = task * sh.rows_per_task;
            for (i, row) in part.chunks_exact_mut(w).enumerate() {
                let r = r0 + i;
                let base = first_block + r as u64 * sh.blocks_per_row;
                macro_rules! go {
                    ($stride:expr, $ferro:expr, $uniform:expr) => {
                        update_row::<$stride, $ferro, $uniform>(
                            &sh, row, other, r, color, &philox, base, acc,
                        )
                    };
                }
                match (acc.stride, acc.ferro, acc.uniform.is_some()) {
                    (2, true, true) => go!(2, true, true),
                    (3, true, true) => go!(3, true, true),
                    (2, true, _) => go!(2, true, false),
                    (3, true, _) => go!(3, true, false),
                    (1, _, _) => go!(1, false, false),
                    (2, _, _) => go!(2, false, false),
                    (3, _, _) => go!(3, false, false),
                    (4, _, _) => go!(4, false, false),
                    _ => go!(MAX_CLASSES, false, false),
                }
            }
        });
    }
}

/// Eight words `row[k0 + shift ..]` with periodic wrap; lanes past the row end
/// are 0 (computed and discarded).
#[inline]
fn load8(row: &[u64], k0: usize, shift: isize) -> u64x8 {
    let w = row.len();
    let start = k0 as isize + shift;
    if start >= 0 && start as usize + 8 <= w {
        let s = start as usize;
        let a: [u64; 8] = row[s..s + 8].try_into().unwrap();
        return u64x8::new(a);
    }
    let mut lanes = [0u64; 8];
    for (l, v) in lanes.iter_mut().enumerate() {
        if k0 + l < w {
            let k = (k0 + l) as isize + shift;
            *v = row[k.rem_euclid(w as isize) as usize];
        }
    }
    u64x8::new(lanes)
}

/// Bit-sliced count `m = sum a_i` of 4 (2D) or 6 (3D) antiparallel masks,
/// returned as its binary digits `[m0, m1, m2]`.
#[inline(always)]
fn count_antiparallel(a: &[u64x8; 6], three_d: bool) -> [u64x8; 3] {
    if three_d {
        let fa = |x: u64x8, y: u64x8, z: u64x8| {
            let u = x ^ y;
            (u ^ z, (x & y) | (u & z))
        };
        let (sa, ca) = fa(a[0], a[1], a[2]);
        let (sb, cb) = fa(a[3], a[4], a[5]);
        let (b0, t) = (sa ^ sb, sa & sb);
        let (b1, b2) = fa(ca, cb, t);
        [b0, b1, b2]
    } else {
        let (s1, c1) = (a[0] ^ a[1], a[0] & a[1]);
        let (s2, c2) = (a[2] ^ a[3], a[2] & a[3]);
        let (b0, t) = (s1 ^ s2, s1 & s2);
        // c1 + c2 + t <= 2, and c1 = c2 = 1 forces t = 0.
        [b0, c1 ^ c2 ^ t, c1 & c2]
    }
}

/// Masks `E_m` of the sites / replicas with exactly `m` antiparallel
/// neighbours, from the count digits.
#[inline(always)]
fn count_masks(m: &[u64x8; 3], z: usize) -> [u64x8; 7] {
    let all = u64x8::splat(u64::MAX);
    let n = [m[0] ^ all, m[1] ^ all, m[2] ^ all];
    let low = [n[0] & n[1], m[0] & n[1], n[0] & m[1], m[0] & m[1]];
    let mut e = [u64x8::splat(0); 7];
    for (mm, em) in e.iter_mut().enumerate().take(z + 1) {
        *em = low[mm & 3] & if mm >= 4 { m[2] } else { n[2] };
    }
    e
}

/// Mask of the classes in `set` from the count masks and the spins
/// (branches depend only on the tables, so they are predicted).
#[inline(always)]
fn class_mask(set: &ClassSet, e: &[u64x8; 7], up: u64x8, down: u64x8, z: usize) -> u64x8 {
    let mut out = u64x8::splat(0);
    for (mm, &sel) in set.iter().enumerate().take(z + 1) {
        match sel {
            1 => out |= e[mm] & up,
            2 => out |= e[mm] & down,
            3 => out |= e[mm],
            _ => {}
        }
    }
    out
}

/// Updates one checkerboard row of colour `color`, 64 sites per Philox
/// batch; `STRIDE` is the tables' group stride. `FERRO`: the class structure
/// of `h = 0`, `J > 0` (`m >= dim` always flips, group `g` is `m = g` for
/// both spins), with the class masks written out.
#[allow(clippy::too_many_arguments)]
#[inline]
fn update_row<const STRIDE: usize, const FERRO: bool, const UNIFORM: bool>(
    sh: &Shape,
    row: &mut [u64],
    other: &[u64],
    r: usize,
    color: usize,
    philox: &Philox,
    base: u64,
    acc: &Acceptance,
) {
    let w = sh.half_width;
    let rows = sh.neighbour_rows(r);
    let orow = |rr: usize| &other[rr * w..(rr + 1) * w];
    let (same, yp, ym) = (orow(rows[0]), orow(rows[1]), orow(rows[2]));
    let (zp, zm) = (orow(rows[3]), orow(rows[4]));
    let shift = sh.side_shift(color, r);
    let three_d = sh.dim == 3;
    let z = 2 * sh.dim;
    let table = &acc.buckets[..256 * STRIDE];
    let all = u64x8::splat(u64::MAX);
    for group in 0..w.div_ceil(64) {
        let batch: BlockBatch = philox.blocks16(base + 16 * group as u64);
        for chunk in 0..8 {
            let k0 = 64 * group + 8 * chunk;
            if k0 >= w {
                break;
            }
            let s = load8(row, k0, 0);
            let mut a = [u64x8::splat(0); 6];
            a[0] = s ^ load8(same, k0, 0);
            a[1] = s ^ load8(same, k0, shift);
            a[2] = s ^ load8(yp, k0, 0);
            a[3] = s ^ load8(ym, k0, 0);
            if three_d {
                a[4] = s ^ load8(zp, k0, 0);
                a[5] = s ^ load8(zm, k0, 0);
            }
            let m = count_antiparallel(&a, three_d);
            let mut masks = [[0u64; 8]; STRIDE];
            let always = if FERRO {
                let none = (m[0] | m[1] | m[2]) ^ all;
                let high = m[1] | m[2];
                masks[0] = none.to_array();
                if three_d {
                    // m >= 3; m = 1; m = 2.
                    masks[1] = (m[0] & (high ^ all)).to_array();
                    if STRIDE > 2 {
                        masks[2] = (m[1] & ((m[0] | m[2]) ^ all)).to_array();
                    }
                    m[2] | (m[1] & m[0])
                } else {
                    // m >= 2; m = 1.
                    masks[1] = (m[0] & (high ^ all)).to_array();
                    high
                }
            } else {
                let e = count_masks(&m, z);
                let down = s ^ all;
                for (g, mg) in masks.iter_mut().enumerate() {
                    *mg = class_mask(&acc.group_classes[g], &e, s, down, z).to_array();
                }
                class_mask(&acc.always, &e, s, down, z)
            };
            let q = 8 * (chunk % 2);
            let words: &[u32; 8] = batch[chunk / 2][q..q + 8].try_into().unwrap();
            let lanes = (w - k0).min(8);
            if let (true, Some(ut)) = (UNIFORM, &acc.uniform) {
                // One temperature: replica b accepts iff its rotated word
                // (j 2^26 + l, j = (h + b) mod 64, w = h 2^26 + l) is <= t =
                // th 2^26 + tl, i.e. iff j < th, or j == th and l <= tl. So
                // the accepting set is bit (b + h) mod 64 of the fixed mask
                // {j < th} + {j == th if l <= tl}: that mask rotated right by h.
                let wv = u64x8::new(core::array::from_fn(|l| u64::from(words[l])));
                let h = wv >> 26_u32;
                let low = wv & u64x8::splat(u64::from(LOW26));
                let mut flip = always;
                for (g, mask) in masks.iter().enumerate() {
                    let (th, tl) = ut[g];
                    // 1 where l <= tl (both below 2^26, so no wrap).
                    let le =
                        (u64x8::splat(u64::from(tl) + (1 << 26)) - low) >> 26_u32 & u64x8::splat(1);
                    let fixed = u64x8::splat((1u64 << th) - 1) | le.unbounded_shl_scalar(th);
                    let rotated =
                        fixed.unbounded_shr(h) | fixed.unbounded_shl(u64x8::splat(64) - h);
                    flip |= u64x8::new(*mask) & rotated;
                }
                let new = (s ^ flip).to_array();
                row[k0..k0 + lanes].copy_from_slice(&new[..lanes]);
                continue;
            }
            let base_flip = always.to_array();
            let spins = s.to_array();
            for l in 0..lanes {
                let wd = words[l];
                let hi = (wd >> 24) as usize;
                let lo = wd & NO_END;
                let mut flip = base_flip[l];
                // Groups past n_groups (padding) have empty class sets and buckets.
                for g in 0..STRIDE {
                    let a = table[hi * STRIDE + g]
                        .accept(lo)
                        .unwrap_or_else(|| acc.accept_crowded(g, hi, lo));
                    flip |= masks[g][l] & a;
                }
                row[k0 + l] = spins[l] ^ flip;
            }
        }
    }
}

/// Per-bit-position counts of a stream of 64-bit words (Harley-Seal carry-save
/// adders over 16 words, then a ripple counter of weight-16 words).
struct ColumnCounter {
    buf: [u64; 16],
    len: usize,
    ones: u64,
    twos: u64,
    fours: u64,
    eights: u64,
    /// Binary digits of the count of weight-16 words, per column.
    planes: [u64; 24],
}

#[inline(always)]
fn csa(a: u64, b: u64, c: u64) -> (u64, u64) {
    let u = a ^ b;
    ((a & b) | (u & c), u ^ c)
}

impl ColumnCounter {
    fn new() -> Self {
        Self {
            buf: [0; 16],
            len: 0,
            ones: 0,
            twos: 0,
            fours: 0,
            eights: 0,
            planes: [0; 24],
        }
    }

    #[inline]
    fn push(&mut self, x: u64) {
        self.buf[self.len] = x;
        self.len += 1;
        if self.len == 16 {
            self.len = 0;
            self.add16();
        }
    }

    fn add16(&mut self) {
        let v = self.buf;
        let (twos_a, ones) = csa(self.ones, v[0], v[1]);
        let (twos_b, ones) = csa(ones, v[2], v[3]);
        let (fours_a, twos) = csa(self.twos, twos_a, twos_b);
        let (twos_a, ones) = csa(ones, v[4], v[5]);
        let (twos_b, ones) = csa(ones, v[6], v[7]);
        let (fours_b, twos) = csa(twos, twos_a, twos_b);
        let (eights_a, fours) = csa(self.fours, fours_a, fours_b);
        let (twos_a, ones) = csa(ones, v[8], v[9]);
        let (twos_b, ones) = csa(ones, v[10], v[11]);
        let (fours_a, twos) = csa(twos, twos_a, twos_b);
        let (twos_a, ones) = csa(ones, v[12], v[13]);
        let (twos_b, ones) = csa(ones, v[14], v[15]);
        let (fours_b, twos) = csa(twos, twos_a, twos_b);
        let (eights_b, fours) = csa(fours, fours_a, fours_b);
        let (sixteens, eights) = csa(self.eights, eights_a, eights_b);
        (self.ones, self.twos, self.fours, self.eights) = (ones, twos, fours, eights);
        let mut carry = sixteens;
        let mut j = 0;
        while carry != 0 {
            let t = self.planes[j] & carry;
            self.planes[j] ^= carry;
            carry = t;
            j += 1;
        }
    }

    fn totals(&self) -> [u64; REPLICAS] {
        let mut t = [0u64; REPLICAS];
        for (b, tb) in t.iter_mut().enumerate() {
            let bit = |x: u64| x >> b & 1;
            *tb = bit(self.ones) + 2 * bit(self.twos) + 4 * bit(self.fours) + 8 * bit(self.eights);
            for (j, &p) in self.planes.iter().enumerate() {
                *tb += bit(p) << (j + 4);
            }
            for &x in &self.buf[..self.len] {
                *tb += bit(x);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state
    }

    #[test]
    fn acceptance_tables_equal_the_per_replica_loop_bit_for_bit() {
        let mut st = 7u64;
        for case in 0..40 {
            let temps: Vec<f64> = (0..1 + case % 64)
                .map(|_| 0.3 + 5.0 * (lcg(&mut st) >> 11) as f64 / (1u64 << 53) as f64)
                .collect();
            let (j, h) = if case % 3 == 0 {
                (1.0, 0.0)
            } else {
                (0.7, -0.4)
            };
            let mut tt = [0.0; REPLICAS];
            for (b, t) in tt.iter_mut().enumerate() {
                *t = temps[b % temps.len()];
            }
            let mut acc = Acceptance::new().unwrap();
            acc.rebuild(2 + case % 2, j, h, &tt);
            let t = thresholds(2 + case % 2, j, h, &tt);
            // Map each group back to one of its classes.
            for g in 0..acc.n_groups {
                let (m, sel) = acc.group_classes[g]
                    .iter()
                    .enumerate()
                    .find(|(_, &s)| s != 0)
                    .map(|(m, &s)| (m, s))
                    .unwrap();
                let c = class_index(m, sel & 1 == 0);
                for i in 0..20_000u32 {
                    let w = if i < 2000 {
                        // Near every threshold and bucket edge.
                        let b = (i % 64) as usize;
                        t[c][b]
                            .wrapping_sub((b as u32) << ROTATION_SHIFT)
                            .wrapping_add(i / 64 % 3)
                            .wrapping_sub(1)
                    } else {
                        lcg(&mut st) as u32
                    };
                    assert_eq!(
                        acc.accept(g, w),
                        accepting_replicas_reference(w, &t[c]),
                        "case {case} group {g} w {w:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn crowded_buckets_use_the_extra_list_exactly() {
        // Thresholds t_b = (4 b) << 24 | 5: every replica's rotated top byte
        // meets its threshold's in the same bucket (hi = 0), 64 ends there.
        let mut t = [0u32; REPLICAS];
        for (b, tb) in t.iter_mut().enumerate() {
            *tb = ((4 * b as u32 + 128) & 255) << 24 | (b as u32 * 1000);
        }
        let mut acc = Acceptance::new().unwrap();
        (acc.n_groups, acc.stride) = (1, 1);
        let mut n_extra = 0;
        for hi in 0..256usize {
            let start = n_extra;
            acc.buckets[hi] = bucket_of(&t, hi, &mut acc.extra, &mut n_extra);
            acc.crowded[hi] = (start as u16, (n_extra - start) as u16);
        }
        assert_eq!(acc.crowded[128].1, 64);
        let mut st = 3u64;
        for i in 0..100_000u32 {
            let w = if i % 2 == 0 {
                (128 << 24) | (lcg(&mut st) as u32 & 0xFFFF)
            } else {
                lcg(&mut st) as u32
            };
            assert_eq!(
                acc.accept(0, w),
                accepting_replicas_reference(w, &t),
                "w {w:#x}"
            );
        }
    }

    #[test]
    fn column_counter_counts_every_bit_position() {
        let mut st = 11u64;
        let mut c = ColumnCounter::new();
        let mut want = [0u64; REPLICAS];
        for _ in 0..100_003 {
            let x = lcg(&mut st) & lcg(&mut st);
            c.push(x);
            for (b, wb) in want.iter_mut().enumerate() {
                *wb += x >> b & 1;
            }
        }
        assert_eq!(c.totals(), want);
    }
}
