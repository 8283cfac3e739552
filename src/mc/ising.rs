//! Periodic Ising lattices, 2D square and 3D cubic:
//! `H = -J sum_<ij> s_i s_j - h sum_i s_i`, `s_i = +-1`, Boltzmann weight
//! `exp(-H / T)` (units with `k_B = 1`; `J`, `h`, `T` in the same energy unit).
//!
//! The bond sum runs over every site and each positive lattice direction,
//! `sum_i sum_d s_i s_{i + e_d}`, so each site has `2 dim` bonds; on a side of
//! length 2 the two bonds joining the same pair are both counted.
//!
//! ## Spins seen by callers
//! `int8_t` values `+1` / `-1`, row-major: site `(x, y[, z])` is element
//! `x + lx (y + ly z)` (x fastest). [`IsingLattice::set_spins`] and
//! [`IsingLattice::spins_into`] copy in that layout.
//!
//! ## Storage
//! When every side is even the lattice is bipartite and spins are stored by
//! sublattice ("checkerboard" layout, as in GPU Ising codes, Preis et al. 2009):
//! colour `c = (x + y + z) mod 2`, element `c N/2 + r (lx/2) + x/2` with row
//! `r = y + ly z`. The neighbours of a row of one colour are then contiguous
//! rows of the other colour, so the update is a unit-stride SIMD loop.
//! With an odd side the storage is row-major and only the sequential and Wolff
//! updates are available (the checkerboard is not bipartite with periodic wrap
//! at odd length, so a checkerboard sweep is rejected with `InvalidSize`).
//!
//! ## Updates and their random numbers
//! * Checkerboard Metropolis / heat bath: colour 0 then colour 1, each colour
//!   in parallel over rows, 64 sites per SIMD step. Every site visit draws one
//!   independent uniform `w` of 32 bits, of which only the top half is
//!   usually needed: site `(colour c, row r, half-index k = x/2)` in sweep `n`
//!   reads, of generator `(seed, Stream::IsingMetropolis or IsingHeatBath
//!   .with_sub(stream))`, the 16-bit half `k mod 2` (0 = low) of word
//!   `(k mod 128) / 32` of block `b = ((2 n + c) rows + r) B + 16 floor(k / 128)
//!   + (k mod 32) / 2`, where `B = 16 ceil((lx/2) / 128)` blocks per row (one
//!   16-block SIMD Philox batch feeds 128 sites); these are the high 16 bits
//!   of `w`. Its low 16 bits are the same half of the same word of block
//!   `2^63 + b`, and are generated only when the high half alone cannot decide
//!   (when it equals the threshold's high half: one site in 65536). So every
//!   `(sweep, site)` has its own exact 32-bit uniform, at half the Philox cost.
//! * Sequential Metropolis / heat bath (any sizes): sites in row-major order;
//!   site `s` in sweep `n` uses element `e = n N + s` (block `e / 4`, word
//!   `e mod 4`) of `(seed, Stream::IsingMetropolisSequential or
//!   IsingHeatBathSequential .with_sub(stream))`.
//! * Acceptance: a word `w` accepts an event of probability `p` iff
//!   `w < ceil(p 2^32)` (at least one word accepts), i.e. probabilities are
//!   used as multiples of `2^-32`, rounded up (error below `2^-32`).
//!   Metropolis flips with `p = min(1, exp(-dE / T))`, `dE = 2 s (J nb + h)`;
//!   heat bath sets `s = +1` with `p = 1 / (1 + exp(-2 (J nb + h) / T))`, where
//!   `nb` is the sum of the `2 dim` neighbours.
//!
//! Because every draw is a pure function of `(seed, stream, sweep, site)`,
//! results are bitwise identical for any thread count, and `n` sweeps equal
//! `k` sweeps followed by `n - k` (the sweep counter lives in the lattice and
//! can be saved and restored with [`IsingLattice::sweeps_done`] /
//! [`IsingLattice::set_sweeps_done`]).

use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::parallel::{for_each_chunk_mut, run};
use crate::rng::philox::Philox;
use crate::rng::stream::Stream;
use crate::simd::checkerboard::update64;

use super::wolff::WolffState;

/// Which single-spin update a sweep performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsingUpdate {
    /// Checkerboard Metropolis (parallel, SIMD; all sides even).
    Metropolis,
    /// Checkerboard heat bath (Glauber) (parallel, SIMD; all sides even).
    HeatBath,
    /// Sequential (row-major order) Metropolis; any sizes.
    MetropolisSequential,
    /// Sequential (row-major order) heat bath; any sizes.
    HeatBathSequential,
}

/// Creation parameters of an [`IsingLattice`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IsingParams {
    /// 2 (square) or 3 (cubic).
    pub dim: usize,
    pub lx: usize,
    pub ly: usize,
    /// Ignored when `dim == 2`.
    pub lz: usize,
    /// `J` (any finite value; `J > 0` ferromagnetic).
    pub coupling: f64,
    /// `h` (any finite value).
    pub field: f64,
    /// `T > 0`.
    pub temperature: f64,
    pub seed: u64,
    /// User stream (low 48 bits used).
    pub stream: u64,
    /// Start from independent random spins (from `Stream::IsingHotStart`:
    /// site `s` is `+1` iff the top bit of word `s mod 4` of block `s / 4` is
    /// 0) instead of all `+1`.
    pub hot_start: bool,
}

impl Default for IsingParams {
    fn default() -> Self {
        Self {
            dim: 2,
            lx: 64,
            ly: 64,
            lz: 1,
            coupling: 1.0,
            field: 0.0,
            temperature: CRITICAL_TEMPERATURE_2D,
            seed: 0,
            stream: 0,
            hot_start: false,
        }
    }
}

/// Onsager's critical temperature of the 2D square lattice, `2 / ln(1 + sqrt 2)` (J = 1).
pub const CRITICAL_TEMPERATURE_2D: f64 = 2.269_185_314_213_022;

/// Lattice shape and the derived sizes the kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub dim: usize,
    pub lx: usize,
    pub ly: usize,
    /// 1 for 2D.
    pub lz: usize,
    /// `ly lz`.
    pub rows: usize,
    pub n: usize,
    /// Sublattice storage (every side even).
    pub checkerboard: bool,
    /// `lx / 2` (checkerboard row width).
    pub half_width: usize,
    /// Philox blocks reserved per checkerboard row.
    pub blocks_per_row: u64,
    /// Rows per parallel task (depends only on the lattice).
    pub rows_per_task: usize,
    div_half_width: FastDiv,
    div_ly: FastDiv,
}

/// Division of 32-bit numbers by a fixed divisor with one 128-bit multiply
/// (Lemire, Kaser & Kurz 2019: `n / d = (ceil(2^64 / d) n) >> 64` for
/// `n, d < 2^32`); the Wolff cluster walk divides per visited site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FastDiv {
    d: u32,
    c: u64,
}

impl FastDiv {
    fn new(d: usize) -> Self {
        let d = d.max(1) as u32;
        let c = if d == 1 {
            0
        } else {
            u64::MAX / u64::from(d) + 1
        };
        Self { d, c }
    }

    #[inline]
    fn div(self, n: usize) -> usize {
        if self.d == 1 {
            return n;
        }
        ((u128::from(self.c) * n as u128) >> 64) as usize
    }
}

/// Checkerboard sites fed by one 16-block Philox batch (64 words, 16 bits
/// per site).
const SITES_PER_BATCH: usize = 128;

/// Block-index bit of the refinement draws (module docs): primary blocks stay
/// below it, which the sweep-count check enforces.
const REFINE_BLOCK: u64 = 1 << 63;

/// Sites per parallel task: large enough to amortise dispatch, small enough to
/// balance 2 to dozens of threads at L = 1024 and up.
const TASK_SITES: usize = 1 << 15;

impl Geometry {
    fn new(p: &IsingParams) -> Result<Self> {
        let (lz, n) = lattice_extent(p.dim, [p.lx, p.ly, p.lz], false)?;
        let checkerboard =
            p.lx.is_multiple_of(2) && p.ly.is_multiple_of(2) && (p.dim == 2 || lz % 2 == 0);
        let half_width = p.lx / 2;
        let blocks_per_row = 16 * half_width.div_ceil(SITES_PER_BATCH) as u64;
        let rows_per_task = (TASK_SITES / half_width.max(1)).max(1);
        Ok(Self {
            dim: p.dim,
            lx: p.lx,
            ly: p.ly,
            lz,
            rows: p.ly * lz,
            n,
            checkerboard,
            half_width,
            blocks_per_row,
            rows_per_task,
            div_half_width: FastDiv::new(half_width),
            div_ly: FastDiv::new(p.ly),
        })
    }

    /// Storage index of site `(x, y, z)`.
    #[inline]
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        let r = y + self.ly * z;
        if self.checkerboard {
            let c = (x + y + z) & 1;
            c * (self.n / 2) + r * self.half_width + x / 2
        } else {
            r * self.lx + x
        }
    }

    /// Coordinates of row-major site `s`.
    #[inline]
    pub fn coords(&self, s: usize) -> (usize, usize, usize) {
        let x = s % self.lx;
        let r = s / self.lx;
        (x, r % self.ly, r / self.ly)
    }

    /// Storage indices of the `2 dim` neighbours of the site stored at
    /// `index` (the last two are meaningless in 2D), computed in storage
    /// space: in checkerboard storage the neighbours are the same half-index
    /// `k` in the rows `r`, `y +- 1`, `z +- 1` of the other colour, plus `k - 1`
    /// or `k + 1` in row `r` (by the row's parity).
    #[inline]
    pub fn neighbours_of_storage(&self, index: usize) -> [usize; 6] {
        if !self.checkerboard {
            let (x, y, z) = self.coords(index);
            return self.neighbours(x, y, z);
        }
        let half = self.n / 2;
        let w = self.half_width;
        let c = usize::from(index >= half);
        let rem = index - c * half;
        let r = self.div_half_width.div(rem);
        let k = rem - r * w;
        let z = if self.lz == 1 { 0 } else { self.div_ly.div(r) };
        let y = r - z * self.ly;
        let base = (1 - c) * half;
        let side = if (c + y + z) & 1 == 0 {
            if k == 0 {
                w - 1
            } else {
                k - 1
            }
        } else if k + 1 == w {
            0
        } else {
            k + 1
        };
        let yp = if y + 1 == self.ly { 0 } else { y + 1 };
        let ym = if y == 0 { self.ly - 1 } else { y - 1 };
        let zp = if z + 1 == self.lz { 0 } else { z + 1 };
        let zm = if z == 0 { self.lz - 1 } else { z - 1 };
        let at = |yy: usize, zz: usize, kk: usize| base + (yy + self.ly * zz) * w + kk;
        [
            at(y, z, k),
            at(y, z, side),
            at(yp, z, k),
            at(ym, z, k),
            at(y, zp, k),
            at(y, zm, k),
        ]
    }

    /// Storage indices of the `2 dim` neighbours of `(x, y, z)` (the last two
    /// are meaningless in 2D).
    #[inline]
    pub fn neighbours(&self, x: usize, y: usize, z: usize) -> [usize; 6] {
        let xp = if x + 1 == self.lx { 0 } else { x + 1 };
        let xm = if x == 0 { self.lx - 1 } else { x - 1 };
        let yp = if y + 1 == self.ly { 0 } else { y + 1 };
        let ym = if y == 0 { self.ly - 1 } else { y - 1 };
        let zp = if z + 1 == self.lz { 0 } else { z + 1 };
        let zm = if z == 0 { self.lz - 1 } else { z - 1 };
        [
            self.index(xp, y, z),
            self.index(xm, y, z),
            self.index(x, yp, z),
            self.index(x, ym, z),
            self.index(x, y, zp),
            self.index(x, y, zm),
        ]
    }

    /// Philox blocks one checkerboard sweep uses.
    fn blocks_per_sweep(&self) -> u64 {
        2 * self.rows as u64 * self.blocks_per_row
    }
}

/// Checks a lattice's dimension (2 or 3) and sides (at least 2, and even
/// when `checkerboard` requires it; `lz` is ignored in 2D) and returns the
/// effective `lz` (1 in 2D) and the site count ([`site_count`]).
pub(crate) fn lattice_extent(
    dim: usize,
    [lx, ly, lz]: [usize; 3],
    checkerboard: bool,
) -> Result<(usize, usize)> {
    if dim != 2 && dim != 3 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("dim = {dim}: must be 2 or 3"),
        ));
    }
    let lz = if dim == 2 { 1 } else { lz };
    for (name, l) in [("lx", lx), ("ly", ly), ("lz", lz)] {
        if name == "lz" && dim == 2 {
            continue;
        }
        if checkerboard && (l < 2 || !l.is_multiple_of(2)) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("{name} = {l}: every side must be even and at least 2 (checkerboard)"),
            ));
        }
        if l < 2 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("{name} = {l}: every side must be at least 2"),
            ));
        }
    }
    Ok((lz, site_count(lx, ly, lz)?))
}

/// `lx ly lz`, which must fit the 32-bit site indices of the kernels.
pub(crate) fn site_count(lx: usize, ly: usize, lz: usize) -> Result<usize> {
    lx.checked_mul(ly)
        .and_then(|v| v.checked_mul(lz))
        .filter(|&n| n <= u32::MAX as usize)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidSize,
                format!("lattice {lx} x {ly} x {lz} has more than 2^32 - 1 sites"),
            )
        })
}

/// Threshold `t` with `P(w <= t) = max(ceil(p 2^32), 1) / 2^32` for a uniform
/// 32-bit word `w` (see the module docs).
pub(crate) fn acceptance_threshold(p: f64) -> u32 {
    if p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return u32::MAX;
    }
    let t = (p * 4_294_967_296.0).ceil();
    (t.clamp(1.0, 4_294_967_296.0) - 1.0) as u32
}

/// Energy and magnetisation of a configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IsingObservables {
    /// `sum_i sum_d s_i s_{i + e_d}` (exact).
    pub bond_sum: i64,
    /// `sum_i s_i` (exact).
    pub spin_sum: i64,
    /// `H / N = (-J bond_sum - h spin_sum) / N`.
    pub energy_per_spin: f64,
    /// `spin_sum / N`.
    pub magnetisation_per_spin: f64,
}

/// A periodic Ising lattice with its spins, couplings, temperature, random
/// keys, sweep counter and the Wolff workspace (all allocated at creation).
#[derive(Clone, Debug)]
pub struct IsingLattice {
    pub(crate) geom: Geometry,
    pub(crate) spins: Vec<i8>,
    pub(crate) coupling: f64,
    pub(crate) field: f64,
    pub(crate) temperature: f64,
    seed: u64,
    stream: u64,
    sweeps: u64,
    pub(crate) wolff: WolffState,
}

fn check_finite(name: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::NonFinite,
            format!("{name} = {v}: must be finite"),
        ))
    }
}

/// `T` finite and `> 0`.
pub(crate) fn check_temperature(t: f64) -> Result<()> {
    check_finite("temperature", t)?;
    if t <= 0.0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("temperature = {t}: must be > 0"),
        ));
    }
    Ok(())
}

/// Checks optional per-update observable series: each empty or `n` long.
pub(crate) fn check_series(
    n: usize,
    energy: &[f64],
    magnetisation: &[f64],
    updates: &str,
) -> Result<()> {
    for (name, len) in [
        ("energy", energy.len()),
        ("magnetisation", magnetisation.len()),
    ] {
        if len != 0 && len != n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("{name} has {len} elements for n = {n} {updates} (need n, or none)"),
            ));
        }
    }
    Ok(())
}

/// Writes entry `i` of the requested series (computing the observables only
/// if one is requested).
#[inline]
pub(crate) fn record_observables(
    energy: &mut [f64],
    magnetisation: &mut [f64],
    i: usize,
    observe: impl FnOnce() -> IsingObservables,
) {
    if energy.is_empty() && magnetisation.is_empty() {
        return;
    }
    let o = observe();
    if let Some(e) = energy.get_mut(i) {
        *e = o.energy_per_spin;
    }
    if let Some(m) = magnetisation.get_mut(i) {
        *m = o.magnetisation_per_spin;
    }
}

impl IsingLattice {
    /// Validates `p`, allocates the lattice (and the Wolff stack) and sets the
    /// initial spins.
    pub fn new(p: &IsingParams) -> Result<Self> {
        let geom = Geometry::new(p)?;
        check_finite("coupling", p.coupling)?;
        check_finite("field", p.field)?;
        check_temperature(p.temperature)?;
        let mut spins = Vec::new();
        spins.try_reserve_exact(geom.n).map_err(|_| {
            Error::new(
                ErrorKind::OutOfMemory,
                format!("cannot allocate {} spins", geom.n),
            )
        })?;
        spins.resize(geom.n, 1i8);
        let wolff = WolffState::new(geom.n, p.seed, p.stream)?;
        let mut lattice = Self {
            geom,
            spins,
            coupling: p.coupling,
            field: p.field,
            temperature: p.temperature,
            seed: p.seed,
            stream: p.stream,
            sweeps: 0,
            wolff,
        };
        if p.hot_start {
            let g = Philox::new(p.seed, Stream::IsingHotStart.with_sub(p.stream));
            for s in 0..geom.n {
                let (x, y, z) = geom.coords(s);
                let w = g.block(s as u64 / 4)[s % 4];
                lattice.spins[geom.index(x, y, z)] = if w >> 31 == 0 { 1 } else { -1 };
            }
        }
        Ok(lattice)
    }

    pub fn dim(&self) -> usize {
        self.geom.dim
    }

    /// `(lx, ly, lz)`; `lz = 1` in 2D.
    pub fn sides(&self) -> (usize, usize, usize) {
        (self.geom.lx, self.geom.ly, self.geom.lz)
    }

    pub fn n_sites(&self) -> usize {
        self.geom.n
    }

    /// Whether checkerboard sweeps are available (every side even).
    pub fn supports_checkerboard(&self) -> bool {
        self.geom.checkerboard
    }

    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    pub fn coupling(&self) -> f64 {
        self.coupling
    }

    pub fn field(&self) -> f64 {
        self.field
    }

    /// Sets `T > 0` for the following sweeps.
    pub fn set_temperature(&mut self, t: f64) -> Result<()> {
        check_temperature(t)?;
        self.temperature = t;
        Ok(())
    }

    /// Sweeps done so far (the counter the next sweep's random numbers use).
    pub fn sweeps_done(&self) -> u64 {
        self.sweeps
    }

    /// Sets the sweep counter (restore a checkpoint).
    pub fn set_sweeps_done(&mut self, sweeps: u64) {
        self.sweeps = sweeps;
    }

    /// Copies the spins out, row-major (`out.len() == n_sites()`).
    pub fn spins_into(&self, out: &mut [i8]) -> Result<()> {
        self.check_len("spins", out.len())?;
        let g = &self.geom;
        if !g.checkerboard {
            out.copy_from_slice(&self.spins);
            return Ok(());
        }
        for (s, o) in out.iter_mut().enumerate() {
            let (x, y, z) = g.coords(s);
            *o = self.spins[g.index(x, y, z)];
        }
        Ok(())
    }

    /// Replaces the spins (row-major, every value `+1` or `-1`). Nothing
    /// changes on error.
    pub fn set_spins(&mut self, spins: &[i8]) -> Result<()> {
        self.check_len("spins", spins.len())?;
        if let Some(i) = spins.iter().position(|&s| s != 1 && s != -1) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("spins[{i}] = {}: every spin must be +1 or -1", spins[i]),
            ));
        }
        let g = self.geom;
        for (s, &v) in spins.iter().enumerate() {
            let (x, y, z) = g.coords(s);
            self.spins[g.index(x, y, z)] = v;
        }
        Ok(())
    }

    fn check_len(&self, name: &str, len: usize) -> Result<()> {
        if len != self.geom.n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "{name} has {len} elements, the lattice has {} sites",
                    self.geom.n
                ),
            ));
        }
        Ok(())
    }

    /// Runs `n` sweeps of `update`. If `energy` / `magnetisation` are
    /// non-empty they must hold `n` elements and receive the energy and
    /// magnetisation per spin after each sweep. Allocates nothing. On error
    /// nothing changed.
    pub fn sweep(
        &mut self,
        update: IsingUpdate,
        n: usize,
        energy: &mut [f64],
        magnetisation: &mut [f64],
    ) -> Result<()> {
        check_series(n, energy, magnetisation, "sweeps")?;
        let checkerboard = matches!(update, IsingUpdate::Metropolis | IsingUpdate::HeatBath);
        if checkerboard && !self.geom.checkerboard {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "checkerboard {update:?} needs every side even (lattice {} x {} x {}); \
                     use the sequential update for odd sides",
                    self.geom.lx, self.geom.ly, self.geom.lz
                ),
            ));
        }
        let per_sweep = if checkerboard {
            self.geom.blocks_per_sweep()
        } else {
            (self.geom.n as u64).div_ceil(4)
        };
        let last = self
            .sweeps
            .checked_add(n as u64)
            .and_then(|s| s.checked_mul(per_sweep))
            .filter(|&b| !checkerboard || b < REFINE_BLOCK);
        if last.is_none() {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "sweep counter {} + n = {n} would pass the 64-bit Philox block counter",
                    self.sweeps
                ),
            ));
        }
        let table = self.threshold_table(update);
        for i in 0..n {
            match update {
                IsingUpdate::Metropolis => self.checkerboard_sweep::<false>(&table),
                IsingUpdate::HeatBath => self.checkerboard_sweep::<true>(&table),
                IsingUpdate::MetropolisSequential => self.sequential_sweep::<false>(&table),
                IsingUpdate::HeatBathSequential => self.sequential_sweep::<true>(&table),
            }
            self.sweeps += 1;
            record_observables(energy, magnetisation, i, || self.observables());
        }
        Ok(())
    }

    /// The 16-entry acceptance table indexed by
    /// `key = nb + 2 dim + (s == -1)`.
    fn threshold_table(&self, update: IsingUpdate) -> [u32; 16] {
        let two_d = 2 * self.geom.dim as i32;
        let beta = 1.0 / self.temperature;
        let mut table = [0u32; 16];
        for (key, t) in table.iter_mut().enumerate().take(2 * two_d as usize + 2) {
            let nb = f64::from((key as i32 & !1) - two_d);
            let s = if key & 1 == 1 { -1.0 } else { 1.0 };
            let local = self.coupling * nb + self.field;
            let p = match update {
                IsingUpdate::Metropolis | IsingUpdate::MetropolisSequential => {
                    (-beta * 2.0 * s * local).exp().min(1.0)
                }
                IsingUpdate::HeatBath | IsingUpdate::HeatBathSequential => {
                    1.0 / (1.0 + (-2.0 * beta * local).exp())
                }
            };
            *t = acceptance_threshold(p);
        }
        table
    }

    fn checkerboard_sweep<const HEAT_BATH: bool>(&mut self, table: &[u32; 16]) {
        let tag = if HEAT_BATH {
            Stream::IsingHeatBath
        } else {
            Stream::IsingMetropolis
        };
        let philox = Philox::new(self.seed, tag.with_sub(self.stream));
        let g = self.geom;
        let thresholds = SplitThresholds::new(table);
        for color in 0..2 {
            let first_block = (2 * self.sweeps + color as u64) * g.rows as u64 * g.blocks_per_row;
            let (c0, c1) = self.spins.split_at_mut(g.n / 2);
            let (own, other): (&mut [i8], &[i8]) = if color == 0 { (c0, &*c1) } else { (c1, &*c0) };
            let w = g.half_width;
            for_each_chunk_mut(own, g.rows_per_task * w, &|task, part| {
                let r0 = task * g.rows_per_task;
                for (i, row) in part.chunks_exact_mut(w).enumerate() {
                    let r = r0 + i;
                    let base = first_block + r as u64 * g.blocks_per_row;
                    if g.dim == 2 {
                        update_row::<HEAT_BATH, 4>(
                            &g,
                            row,
                            other,
                            r,
                            color,
                            &thresholds,
                            &philox,
                            base,
                        );
                    } else {
                        update_row::<HEAT_BATH, 6>(
                            &g,
                            row,
                            other,
                            r,
                            color,
                            &thresholds,
                            &philox,
                            base,
                        );
                    }
                }
            });
        }
    }

    fn sequential_sweep<const HEAT_BATH: bool>(&mut self, table: &[u32; 16]) {
        let tag = if HEAT_BATH {
            Stream::IsingHeatBathSequential
        } else {
            Stream::IsingMetropolisSequential
        };
        let philox = Philox::new(self.seed, tag.with_sub(self.stream));
        let g = self.geom;
        let two_d = 2 * g.dim;
        let first = self.sweeps * g.n as u64;
        let mut block_id = u64::MAX;
        let mut words = [0u32; 4];
        let mut s = 0usize;
        for z in 0..g.lz {
            for y in 0..g.ly {
                for x in 0..g.lx {
                    let e = first + s as u64;
                    if e / 4 != block_id {
                        block_id = e / 4;
                        words = philox.block(block_id);
                    }
                    let w = words[(e % 4) as usize];
                    let nbrs = g.neighbours(x, y, z);
                    let nb: i32 = nbrs[..two_d]
                        .iter()
                        .map(|&j| i32::from(self.spins[j]))
                        .sum();
                    let i = g.index(x, y, z);
                    let spin = self.spins[i];
                    let key = (nb + two_d as i32) as usize + usize::from(spin < 0);
                    if w <= table[key] {
                        self.spins[i] = if HEAT_BATH { 1 } else { -spin };
                    } else if HEAT_BATH {
                        self.spins[i] = -1;
                    }
                    s += 1;
                }
            }
        }
    }

    /// Energy and magnetisation of the current configuration (exact integer
    /// sums, so identical for any thread count).
    pub fn observables(&self) -> IsingObservables {
        let (bond_sum, spin_sum) = if self.geom.checkerboard {
            checkerboard_sums(&self.geom, &self.spins)
        } else {
            self.row_major_sums()
        };
        let n = self.geom.n as f64;
        IsingObservables {
            bond_sum,
            spin_sum,
            energy_per_spin: (-self.coupling * bond_sum as f64 - self.field * spin_sum as f64) / n,
            magnetisation_per_spin: spin_sum as f64 / n,
        }
    }

    fn row_major_sums(&self) -> (i64, i64) {
        let g = &self.geom;
        let mut bonds = 0i64;
        for z in 0..g.lz {
            for y in 0..g.ly {
                for x in 0..g.lx {
                    let nbrs = g.neighbours(x, y, z);
                    // Positive directions: +x, +y, +z (indices 0, 2, 4).
                    let s = i64::from(self.spins[g.index(x, y, z)]);
                    let up: i64 = (0..g.dim).map(|d| i64::from(self.spins[nbrs[2 * d]])).sum();
                    bonds += s * up;
                }
            }
        }
        let spins = self.spins.iter().map(|&s| i64::from(s)).sum();
        (bonds, spins)
    }
}

/// Rows of colour `1 - colour` neighbouring row `r`: same row, `y +- 1`, and
/// in 3D `z +- 1` (the 3D pair equals the same row in 2D and is unused).
#[inline]
fn neighbour_rows(g: &Geometry, r: usize) -> [usize; 5] {
    checkerboard_neighbour_rows(g.ly, g.lz, r)
}

/// [`neighbour_rows`] for rows `r = y + ly z` of an `ly x lz` stack of rows
/// (shared with the replica kernel).
#[inline]
pub(crate) fn checkerboard_neighbour_rows(ly: usize, lz: usize, r: usize) -> [usize; 5] {
    let (y, z) = (r % ly, r / ly);
    let yp = if y + 1 == ly { 0 } else { y + 1 };
    let ym = if y == 0 { ly - 1 } else { y - 1 };
    let zp = if z + 1 == lz { 0 } else { z + 1 };
    let zm = if z == 0 { lz - 1 } else { z - 1 };
    [r, yp + ly * z, ym + ly * z, y + ly * zp, y + ly * zm]
}

/// A threshold table (accept iff the 32-bit word `w <= t`, see
/// [`acceptance_threshold`]) split for 16-bit draws: `w = (r << 16) | v` is
/// accepted iff `r < hi`, or `r == hi` and `v <= lo`, with `hi = (t + 1) >> 16`
/// and `lo = (t + 1) mod 2^16 - 1` (wrapping), i.e. `w < t + 1` in two halves.
struct SplitThresholds {
    /// `hi` per key (32 entries: the kernel indexes `key mod 32`).
    hi: [u16; 32],
    /// Whether `r == hi` with refinement `v` accepts: `v < (t + 1) mod 2^16`.
    lo: [u32; 32],
}

impl SplitThresholds {
    fn new(table: &[u32; 16]) -> Self {
        let mut hi = [u16::MAX; 32];
        let mut lo = [0u32; 32];
        for (key, &t) in table.iter().enumerate() {
            let bound = u64::from(t) + 1; // accept iff w < bound, bound in 1..=2^32
            if bound == 1 << 32 {
                // Always accepted: r < 2^16 holds for every r, except that
                // r == 0xFFFF needs `v < 2^16`, which always holds.
                hi[key] = u16::MAX;
                lo[key] = 1 << 16;
            } else {
                hi[key] = (bound >> 16) as u16;
                lo[key] = (bound & 0xFFFF) as u32;
            }
        }
        Self { hi, lo }
    }

    /// The decision for a lane with `r == hi[key]`, from its refinement `v`.
    #[inline]
    fn refined_accept(&self, key: usize, v: u16) -> bool {
        u32::from(v) < self.lo[key & 31]
    }
}

/// Sixty-four spins `row[k0 + shift ..]` (`shift` in -1..=1) with periodic
/// wrap; lanes past the row end are 0 (computed and discarded).
#[inline]
fn load64(row: &[i8], k0: usize, shift: isize) -> [i8; 64] {
    let w = row.len();
    let lanes = (w - k0).min(64);
    let mut out = [0i8; 64];
    let start = k0 as isize + shift;
    if start >= 0 && start as usize + lanes <= w {
        out[..lanes].copy_from_slice(&row[start as usize..start as usize + lanes]);
        return out;
    }
    for (l, v) in out[..lanes].iter_mut().enumerate() {
        let k = (k0 + l) as isize + shift;
        let k = if k < 0 {
            k + w as isize
        } else if k >= w as isize {
            k - w as isize
        } else {
            k
        };
        *v = row[k as usize];
    }
    out
}

#[inline]
fn chunk(row: &[i8], k: usize) -> &[i8; 64] {
    row[k..k + 64].try_into().expect("64-site chunk")
}

/// Updates one checkerboard row of colour `color`, 128 sites per Philox batch
/// (the block/word/half mapping is in the module docs).
#[allow(clippy::too_many_arguments)]
#[inline]
fn update_row<const HEAT_BATH: bool, const D: usize>(
    g: &Geometry,
    row: &mut [i8],
    other: &[i8],
    r: usize,
    color: usize,
    thresholds: &SplitThresholds,
    philox: &Philox,
    base: u64,
) {
    let w = g.half_width;
    let rows = neighbour_rows(g, r);
    let orow = |rr: usize| &other[rr * w..(rr + 1) * w];
    let (same, yp, ym) = (orow(rows[0]), orow(rows[1]), orow(rows[2]));
    let (zp, zm) = (orow(rows[3]), orow(rows[4]));
    let parity = (r % g.ly + r / g.ly) & 1;
    // Colour-c sites of this row sit at x = 2k + o; their side neighbour other
    // than half-index k is k - 1 (o = 0) or k + 1 (o = 1).
    let shift: isize = if (color + parity) & 1 == 0 { -1 } else { 1 };
    let dims = D;
    let offset = D as i8;
    for batch_index in 0..w.div_ceil(SITES_PER_BATCH) {
        let batch = philox.blocks16(base + 16 * batch_index as u64);
        for half in 0..2 {
            let k0 = SITES_PER_BATCH * batch_index + 64 * half;
            if k0 >= w {
                break;
            }
            let words = [&batch[2 * half], &batch[2 * half + 1]];
            let refine = if k0 + 64 <= w {
                // Full chunk: plain 64-byte loads, except the side neighbours
                // of a chunk at the row's wrap-around edge.
                let side = k0 as isize + shift;
                let staged;
                let side_nb = if side >= 0 && side as usize + 64 <= w {
                    chunk(same, side as usize)
                } else {
                    staged = load64(same, k0, shift);
                    &staged
                };
                let all = [
                    chunk(same, k0),
                    side_nb,
                    chunk(yp, k0),
                    chunk(ym, k0),
                    chunk(zp, k0),
                    chunk(zm, k0),
                ];
                let nbs: [&[i8; 64]; D] = core::array::from_fn(|i| all[i]);
                let spins: &mut [i8; 64] = (&mut row[k0..k0 + 64]).try_into().expect("64 sites");
                update64::<HEAT_BATH, D>(spins, &nbs, offset, words, &thresholds.hi)
            } else {
                let nbs = [
                    load64(same, k0, 0),
                    load64(same, k0, shift),
                    load64(yp, k0, 0),
                    load64(ym, k0, 0),
                    load64(zp, k0, 0),
                    load64(zm, k0, 0),
                ];
                let refs: [&[i8; 64]; D] = core::array::from_fn(|i| &nbs[i]);
                let mut spins = load64(row, k0, 0);
                let lanes = (w - k0).min(64);
                let refine =
                    update64::<HEAT_BATH, D>(&mut spins, &refs, offset, words, &thresholds.hi);
                row[k0..k0 + lanes].copy_from_slice(&spins[..lanes]);
                refine & (u64::MAX >> (64 - lanes))
            };
            if refine != 0 {
                refine_lanes::<HEAT_BATH>(
                    row,
                    [same, yp, ym, zp, zm],
                    shift,
                    dims,
                    k0,
                    refine,
                    thresholds,
                    philox,
                    base + 16 * batch_index as u64,
                );
            }
        }
    }
}

/// Completes the lanes whose 16-bit draw equalled their threshold (about one
/// site in 65536): their decision uses the refinement half-word `v` at the same
/// (word, half) position of block `REFINE_BLOCK | b`, where `b` is the site's
/// primary block. The kernel left those lanes rejected; the spin there is the
/// old spin (Metropolis) or `-1` (heat bath), and the key is recomputed from
/// the neighbours (the heat-bath table does not depend on the spin).
#[allow(clippy::too_many_arguments)]
#[cold]
fn refine_lanes<const HEAT_BATH: bool>(
    row: &mut [i8],
    [same, yp, ym, zp, zm]: [&[i8]; 5],
    shift: isize,
    dims: usize,
    k0: usize,
    mut refine: u64,
    thresholds: &SplitThresholds,
    philox: &Philox,
    batch_block: u64,
) {
    let w = row.len();
    while refine != 0 {
        let lane = refine.trailing_zeros() as usize;
        refine &= refine - 1;
        let k = k0 + lane;
        let side = (k as isize + shift).rem_euclid(w as isize) as usize;
        let mut nb =
            i32::from(same[k]) + i32::from(same[side]) + i32::from(yp[k]) + i32::from(ym[k]);
        if dims == 6 {
            nb += i32::from(zp[k]) + i32::from(zm[k]);
        }
        let key = (nb + dims as i32 + i32::from(row[k] < 0)) as usize;
        let (block, word, high) = site_draw(k);
        let v = (philox.block(REFINE_BLOCK | (batch_block + block))[word] >> (16 * high)) as u16;
        if thresholds.refined_accept(key, v) {
            row[k] = if HEAT_BATH { 1 } else { -row[k] };
        }
    }
}

/// `(block within the site's 16-block batch, word, half)` of the 16-bit draw
/// of half-index `k` (module docs).
#[inline]
fn site_draw(k: usize) -> (u64, usize, usize) {
    let within = k % SITES_PER_BATCH;
    (((within % 32) / 2) as u64, within / 32, within % 2)
}

/// `(bond sum, spin sum)` in checkerboard storage: every bond has exactly one
/// colour-0 end, so the bond sum is `sum over colour 0 of s * (sum of its
/// neighbours)`. Integer sums: the result does not depend on the task order.
fn checkerboard_sums(g: &Geometry, spins: &[i8]) -> (i64, i64) {
    let w = g.half_width;
    let (c0, c1) = spins.split_at(g.n / 2);
    let bonds = AtomicI64::new(0);
    let total = AtomicI64::new(0);
    let n_tasks = g.rows.div_ceil(g.rows_per_task);
    run(n_tasks, &|task| {
        let r0 = task * g.rows_per_task;
        let r1 = (r0 + g.rows_per_task).min(g.rows);
        let (mut b, mut m) = (0i64, 0i64);
        for r in r0..r1 {
            let rows = neighbour_rows(g, r);
            let orow = |rr: usize| &c1[rr * w..(rr + 1) * w];
            let own = &c0[r * w..(r + 1) * w];
            let (same, yp, ym) = (orow(rows[0]), orow(rows[1]), orow(rows[2]));
            let parity = (r % g.ly + r / g.ly) & 1;
            // Colour-0 sites of this row pair with half-index k and k - 1
            // (even parity) or k + 1 (odd parity) of the same colour-1 row.
            let mut acc: i32 = (0..w)
                .map(|k| {
                    i32::from(own[k]) * (i32::from(same[k]) + i32::from(yp[k]) + i32::from(ym[k]))
                })
                .sum();
            if g.dim == 3 {
                let (zp, zm) = (orow(rows[3]), orow(rows[4]));
                acc += (0..w)
                    .map(|k| i32::from(own[k]) * (i32::from(zp[k]) + i32::from(zm[k])))
                    .sum::<i32>();
            }
            acc += if parity == 0 {
                i32::from(own[0]) * i32::from(same[w - 1])
                    + own[1..]
                        .iter()
                        .zip(&same[..w - 1])
                        .map(|(&a, &b)| i32::from(a) * i32::from(b))
                        .sum::<i32>()
            } else {
                i32::from(own[w - 1]) * i32::from(same[0])
                    + own[..w - 1]
                        .iter()
                        .zip(&same[1..])
                        .map(|(&a, &b)| i32::from(a) * i32::from(b))
                        .sum::<i32>()
            };
            b += i64::from(acc);
            let row_m: i32 = own.iter().map(|&s| i32::from(s)).sum::<i32>()
                + c1[r * w..(r + 1) * w]
                    .iter()
                    .map(|&s| i32::from(s))
                    .sum::<i32>();
            m += i64::from(row_m);
        }
        bonds.fetch_add(b, Ordering::Relaxed);
        total.fetch_add(m, Ordering::Relaxed);
    });
    (bonds.into_inner(), total.into_inner())
}

/// Binder cumulant `U = 1 - <m^4> / (3 <m^2>^2)` of a magnetisation series
/// (Binder 1981): `2/3` in an ordered phase, `0` for Gaussian fluctuations.
pub fn binder_cumulant(m: &[f64]) -> Result<f64> {
    if m.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            "magnetisation series is empty",
        ));
    }
    if let Some(i) = m.iter().position(|v| !v.is_finite()) {
        return Err(Error::new(
            ErrorKind::NonFinite,
            format!("m[{i}] = {}: must be finite", m[i]),
        ));
    }
    let n = m.len() as f64;
    let m2 = m.iter().map(|v| v * v).sum::<f64>() / n;
    let m4 = m.iter().map(|v| (v * v) * (v * v)).sum::<f64>() / n;
    if m2 == 0.0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            "every magnetisation is 0: the Binder cumulant is undefined",
        ));
    }
    Ok(1.0 - m4 / (3.0 * m2 * m2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_rounds_probabilities_up_to_multiples_of_two_to_minus_32() {
        assert_eq!(acceptance_threshold(1.0), u32::MAX);
        assert_eq!(acceptance_threshold(0.5), (1u32 << 31) - 1);
        assert_eq!(acceptance_threshold(1e-300), 0);
        assert_eq!(acceptance_threshold(0.0), 0);
    }

    #[test]
    fn checkerboard_storage_round_trips_row_major_spins() {
        for (dim, lx, ly, lz) in [(2, 6, 4, 1), (3, 4, 6, 2), (2, 5, 3, 1)] {
            let p = IsingParams {
                dim,
                lx,
                ly,
                lz,
                ..IsingParams::default()
            };
            let mut lat = IsingLattice::new(&p).unwrap();
            let n = lat.n_sites();
            let spins: Vec<i8> = (0..n)
                .map(|i| if (i * 7) % 3 == 0 { 1 } else { -1 })
                .collect();
            lat.set_spins(&spins).unwrap();
            let mut back = vec![0i8; n];
            lat.spins_into(&mut back).unwrap();
            assert_eq!(back, spins);
        }
    }

    #[test]
    fn fast_division_is_exact_for_32_bit_numerators() {
        for d in [
            1usize,
            2,
            3,
            7,
            64,
            1000,
            2048,
            4095,
            65_537,
            u32::MAX as usize,
        ] {
            let f = FastDiv::new(d);
            for n in [
                0usize,
                1,
                d - 1,
                d,
                d + 1,
                12_345_678,
                u32::MAX as usize - 1,
                u32::MAX as usize,
            ] {
                assert_eq!(f.div(n), n / d, "{n} / {d}");
            }
        }
    }

    #[test]
    fn storage_space_neighbours_equal_coordinate_neighbours() {
        for (dim, lx, ly, lz) in [(2, 6, 4, 1), (3, 4, 6, 2), (2, 5, 3, 1), (3, 2, 2, 4)] {
            let p = IsingParams {
                dim,
                lx,
                ly,
                lz,
                ..IsingParams::default()
            };
            let g = Geometry::new(&p).unwrap();
            for s in 0..g.n {
                let (x, y, z) = g.coords(s);
                let mut a = g.neighbours(x, y, z)[..2 * dim].to_vec();
                let mut b = g.neighbours_of_storage(g.index(x, y, z))[..2 * dim].to_vec();
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{dim}D {lx}x{ly}x{lz}, site {s}");
            }
        }
    }

    #[test]
    fn observables_agree_between_storage_layouts() {
        // The same configuration in a 3D 4x4x4 (checkerboard) lattice, checked
        // against a direct row-major bond count.
        let p = IsingParams {
            dim: 3,
            lx: 4,
            ly: 4,
            lz: 4,
            hot_start: true,
            seed: 3,
            ..IsingParams::default()
        };
        let lat = IsingLattice::new(&p).unwrap();
        let mut s = vec![0i8; 64];
        lat.spins_into(&mut s).unwrap();
        let at = |x: usize, y: usize, z: usize| i64::from(s[x % 4 + 4 * (y % 4) + 16 * (z % 4)]);
        let mut bonds = 0;
        for z in 0..4 {
            for y in 0..4 {
                for x in 0..4 {
                    bonds += at(x, y, z) * (at(x + 1, y, z) + at(x, y + 1, z) + at(x, y, z + 1));
                }
            }
        }
        let o = lat.observables();
        assert_eq!(o.bond_sum, bonds);
        assert_eq!(o.spin_sum, s.iter().map(|&v| i64::from(v)).sum::<i64>());
    }
}
