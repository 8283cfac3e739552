//! Neighbour search: cell lists plus a Verlet skin (Allen & Tildesley, 2nd
//! ed., sec. 5.3). Each particle keeps a full list (both `i -> j` and
//! `j -> i`) of neighbours within `r_c + skin`, sorted by particle index, so
//! forces are gathered per particle without write races and the summation
//! order does not depend on when the list was rebuilt (a restart at any step
//! is bitwise exact). The list is rebuilt when the largest displacement since
//! the last build exceeds `skin / 2`.
//!
//! **Cell order.** Each build also sorts the particles by cell (counting
//! sort; within a cell by index): slot `s` holds particle `order[s]`. The
//! force field keeps its packed positions in slot order and loops over
//! slots, so a particle's neighbours lie in a few contiguous runs of memory
//! whatever order the caller keeps its particles in (LAMMPS' and HOOMD's
//! spatial sort, without touching the caller's arrays). Rows hold slots but
//! stay sorted by particle index, so the force sums are the same numbers in
//! the same order as without sorting.
//!
//! Capacity is reserved at construction: at most `capacity` particles and
//! `max_neighbors` neighbours per particle. A build that would exceed
//! `max_neighbors` (density higher than planned) fails with
//! `ErrorKind::Capacity`; the list is then marked stale and the caller's
//! state is left as it was, so the caller can recreate the handle with a larger
//! reservation.

use crate::error::{zeros, Error, ErrorKind, Result};
use crate::integrate::split::for_each_segment;
use crate::integrate::state::{wrap_into, Positions, SimBox};
use crate::parallel;
use crate::simd::neighbour_scan::{append_within, ScanCentre};
use crate::simd::prefetch::prefetch;

/// Particles per parallel task when building rows.
const BUILD_TASK: usize = 256;

/// A Verlet neighbour list built with cell lists.
#[derive(Debug)]
pub struct NeighbourList {
    sbox: SimBox,
    /// List radius `r_c + skin`.
    r_list: f64,
    skin: f64,
    capacity: usize,
    max_neighbors: usize,
    /// Built as `capacity` rows of `2 + max_neighbors` words (count, sorted
    /// indices, and one scratch slot that lets the build append without
    /// branching), then compacted in place: the neighbours of `i` are
    /// `rows[start[i]..start[i + 1]]`, so the force loop streams only the
    /// entries, not the reserved capacity.
    rows: Vec<u32>,
    start: Vec<usize>,
    /// Positions at the last build, in slot order.
    x0: Vec<f64>,
    y0: Vec<f64>,
    z0: Vec<f64>,
    /// Counting-sort cell table: `cell_start[c]..cell_start[c + 1]` indexes
    /// `cell_members`.
    cell_start: Vec<u32>,
    /// Slot -> particle (the cell order).
    cell_members: Vec<u32>,
    /// Particle -> slot.
    slot_of: Vec<u32>,
    cell_of: Vec<u32>,
    ncell: [usize; 3],
    origin: [f64; 3],
    cell_len: [f64; 3],
    /// Number of particles at the last build; `None` = stale.
    built_n: Option<usize>,
    builds: u64,
    /// What the `Capacity` error tells the caller to do.
    capacity_hint: &'static str,
}

/// A periodic box must be at least `2 r_list` long on every axis, or the
/// minimum image would miss neighbours.
fn check_box(sbox: &SimBox, r_list: f64) -> Result<()> {
    if sbox.periodic {
        for a in 0..sbox.dim {
            if sbox.lengths[a] < 2.0 * r_list {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "box length {a} = {} is smaller than 2 (cutoff + skin) = {}: \
                         minimum image would miss neighbours",
                        sbox.lengths[a],
                        2.0 * r_list
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Largest number of cells an open-box grid may use (bounds `cell_start`).
fn max_cells(capacity: usize) -> usize {
    capacity.max(1) + 1
}

impl NeighbourList {
    /// Reserves everything for up to `capacity` particles with at most
    /// `max_neighbors` neighbours within `cutoff + skin`.
    pub fn new(
        sbox: SimBox,
        cutoff: f64,
        skin: f64,
        capacity: usize,
        max_neighbors: usize,
    ) -> Result<Self> {
        let r_list = cutoff + skin;
        if !(r_list > 0.0 && r_list.is_finite() && skin >= 0.0) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("cutoff + skin = {r_list} must be finite and > 0 (skin = {skin} >= 0)"),
            ));
        }
        check_box(&sbox, r_list)?;
        if max_neighbors == 0 || max_neighbors >= u32::MAX as usize || capacity >= u32::MAX as usize
        {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("max_neighbors = {max_neighbors} and capacity = {capacity} must be in 1..2^32-1"),
            ));
        }
        let words = capacity
            .checked_mul(max_neighbors + 2)
            .ok_or_else(|| Error::new(ErrorKind::OutOfMemory, "neighbour table size overflows"))?;
        let rows = zeros(words, "neighbour table")?;
        let z_cap = if sbox.dim == 3 { capacity } else { 0 };
        Ok(Self {
            sbox,
            r_list,
            skin,
            capacity,
            max_neighbors,
            rows,
            start: vec![0; capacity + 1],
            x0: vec![0.0; capacity],
            y0: vec![0.0; capacity],
            z0: vec![0.0; z_cap],
            cell_start: vec![0; max_cells(capacity) + 1],
            cell_members: vec![0; capacity],
            slot_of: vec![0; capacity],
            cell_of: vec![0; capacity],
            ncell: [1; 3],
            origin: [0.0; 3],
            cell_len: [1.0; 3],
            built_n: None,
            builds: 0,
            capacity_hint: "create the force field with a larger max_neighbors",
        })
    }

    /// Replaces the remedy the `Capacity` error names (default: "create the
    /// force field with a larger max_neighbors"), for lists owned elsewhere.
    pub fn set_capacity_hint(&mut self, hint: &'static str) {
        self.capacity_hint = hint;
    }

    /// Switches to box `sbox` (same dimension); the list is marked stale if
    /// the box changed. Errors: `OutOfRange` (a periodic box shorter than
    /// `2 (cutoff + skin)`; the list keeps its old box). Allocates nothing.
    pub fn set_box(&mut self, sbox: SimBox) -> Result<()> {
        if sbox != self.sbox {
            if sbox.dim != self.sbox.dim {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "a {}D box for a neighbour list reserved in {}D",
                        sbox.dim, self.sbox.dim
                    ),
                ));
            }
            check_box(&sbox, self.r_list)?;
            self.sbox = sbox;
            self.built_n = None;
        }
        Ok(())
    }

    /// Number of rebuilds so far.
    pub fn builds(&self) -> u64 {
        self.builds
    }

    /// Marks the list stale (rebuilt at the next update).
    pub fn invalidate(&mut self) {
        self.built_n = None;
    }

    /// Neighbour slots of slot `s` (sorted by particle index), valid after a
    /// build.
    #[inline(always)]
    pub fn neighbours(&self, s: usize) -> &[u32] {
        &self.rows[self.start[s]..self.start[s + 1]]
    }

    /// Slot -> particle of the last build (`n` entries).
    pub fn order(&self) -> &[u32] {
        &self.cell_members[..self.built_n.unwrap_or(0)]
    }

    /// Particle -> slot of the last build (`n` entries).
    pub fn slot_of(&self) -> &[u32] {
        &self.slot_of[..self.built_n.unwrap_or(0)]
    }

    /// Whether the list is valid for `n` particles (built, not stale).
    pub fn is_built_for(&self, n: usize) -> bool {
        self.built_n == Some(n)
    }

    /// Whether one of slots `first .. first + part.len()` (packed positions
    /// `[x, y, z, _]` in slot order) moved more than `skin / 2` since the
    /// last build. Read-only, so the force field runs it inside its parallel
    /// gather of the positions instead of as a separate pass.
    pub fn moved_beyond_half_skin(&self, dim: usize, first: usize, part: &[[f64; 4]]) -> bool {
        let lim2 = 0.25 * self.skin * self.skin;
        let b = &self.sbox;
        let z0: &[f64] = if dim == 3 { &self.z0[first..] } else { &[] };
        let (x0, y0) = (&self.x0[first..], &self.y0[first..]);
        let mut far = false;
        for (k, q) in part.iter().enumerate() {
            let dx = b.min_image(0, q[0] - x0[k]);
            let dy = b.min_image(1, q[1] - y0[k]);
            let dz = if dim == 3 {
                b.min_image(2, q[2] - z0[k])
            } else {
                0.0
            };
            far |= dx * dx + dy * dy + dz * dz > lim2;
        }
        far
    }

    /// Rebuilds the list at positions `p`: sorts the particles into cell
    /// order, gathers `packed[s] = [x, y, z, type]` of particle `order[s]`,
    /// and fills the rows. Errors: `Capacity` (more than `capacity`
    /// particles, or a particle with more than `max_neighbors` neighbours;
    /// the list is left stale).
    pub fn rebuild(&mut self, p: &Positions, packed: &mut [[f64; 4]]) -> Result<()> {
        if p.len() > self.capacity {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!(
                    "n = {} particles exceed the capacity {} reserved at create",
                    p.len(),
                    self.capacity
                ),
            ));
        }
        self.build(p, packed)
    }

    fn bin(&mut self, p: &Positions) {
        let n = p.len();
        let dim = p.dim;
        let b = self.sbox;
        if b.periodic {
            // Cells of at least r_list, and no more than max_cells in total
            // (a dilute system gets larger cells, never more memory).
            let limit = max_cells(self.capacity) as f64;
            let mut len = self.r_list;
            loop {
                let total: f64 = (0..dim)
                    .map(|a| (b.lengths[a] / len).floor().max(1.0))
                    .product();
                if total <= limit {
                    break;
                }
                len *= 1.25;
            }
            for a in 0..dim {
                let nc = ((b.lengths[a] / len).floor() as usize).max(1);
                self.ncell[a] = nc;
                self.origin[a] = 0.0;
                self.cell_len[a] = b.lengths[a] / nc as f64;
            }
        } else {
            let coords: [&[f64]; 3] = [p.x, p.y, p.z];
            let mut ext = [0.0f64; 3];
            for a in 0..dim {
                let c = &coords[a][..n];
                let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                self.origin[a] = lo;
                ext[a] = (hi - lo).max(self.r_list);
            }
            // Cells of at least r_list, and no more than max_cells in total.
            let limit = max_cells(self.capacity) as f64;
            let mut len = self.r_list;
            loop {
                let total: f64 = (0..dim).map(|a| (ext[a] / len).floor().max(1.0)).product();
                if total <= limit {
                    break;
                }
                len *= 1.25;
            }
            for a in 0..dim {
                let nc = (ext[a] / len).floor().max(1.0) as usize;
                self.ncell[a] = nc;
                self.cell_len[a] = ext[a] / nc as f64;
            }
        }
        for a in dim..3 {
            self.ncell[a] = 1;
        }
        let ncells = self.ncell[0] * self.ncell[1] * self.ncell[2];
        // Cell of every particle in parallel; the counting sort is serial.
        let mut cell_of = std::mem::take(&mut self.cell_of);
        {
            let this = &*self;
            const TASK: usize = 4096;
            parallel::for_each_chunk_mut(&mut cell_of[..n], TASK, &|k, part| {
                for (j, c) in part.iter_mut().enumerate() {
                    *c = this.cell_index(p, TASK * k + j) as u32;
                }
            });
        }
        self.cell_of = cell_of;
        self.cell_start[..=ncells].fill(0);
        for &c in &self.cell_of[..n] {
            self.cell_start[c as usize + 1] += 1;
        }
        for c in 0..ncells {
            self.cell_start[c + 1] += self.cell_start[c];
        }
        // Stable fill in index order: members of a cell ascend. The inverse
        // map (slot of each particle) in the same pass.
        let (start, members) = (&mut self.cell_start, &mut self.cell_members);
        for i in 0..n {
            let c = self.cell_of[i] as usize;
            members[start[c] as usize] = i as u32;
            self.slot_of[i] = start[c];
            start[c] += 1;
        }
        for c in (1..=ncells).rev() {
            start[c] = start[c - 1];
        }
        start[0] = 0;
    }

    #[inline]
    fn cell_coord(&self, a: usize, x: f64) -> usize {
        let nc = self.ncell[a];
        let rel = if self.sbox.periodic {
            wrap_into(x, self.sbox.lengths[a])
        } else {
            x - self.origin[a]
        };
        ((rel / self.cell_len[a]) as usize).min(nc - 1)
    }

    fn cell_index(&self, p: &Positions, i: usize) -> usize {
        let cx = self.cell_coord(0, p.x[i]);
        let cy = self.cell_coord(1, p.y[i]);
        let cz = if p.dim == 3 {
            self.cell_coord(2, p.z[i])
        } else {
            0
        };
        (cz * self.ncell[1] + cy) * self.ncell[0] + cx
    }

    fn build(&mut self, p: &Positions, packed: &mut [[f64; 4]]) -> Result<()> {
        self.built_n = None;
        let n = p.len();
        self.bin(p);
        gather_packed(p, &self.cell_members[..n], &mut packed[..n]);
        let packed = &*packed;
        let stride = self.max_neighbors + 2;
        let rl2 = self.r_list * self.r_list;
        let overflow = std::sync::atomic::AtomicUsize::new(usize::MAX);
        let mut rows = std::mem::take(&mut self.rows);
        {
            let this = &*self;
            parallel::for_each_chunk_mut(
                &mut rows[..n * stride],
                BUILD_TASK * stride,
                &|chunk, part| {
                    let first = chunk * BUILD_TASK;
                    let mut runs = SlotRuns::default();
                    for (k, row) in part.chunks_exact_mut(stride).enumerate() {
                        let i = first + k;
                        if !this.fill_row(packed, p.dim, i, rl2, row, &mut runs) {
                            overflow.fetch_min(i, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                },
            );
        }
        let bad = overflow.into_inner();
        if bad == usize::MAX {
            // Compact in place (row i moves down to start[i] <= i * stride + 1).
            let mut w = 0;
            for i in 0..n {
                let count = rows[i * stride] as usize;
                self.start[i] = w;
                rows.copy_within(i * stride + 1..i * stride + 1 + count, w);
                w += count;
            }
            self.start[n] = w;
        }
        self.rows = rows;
        if bad != usize::MAX {
            return Err(Error::new(
                ErrorKind::Capacity,
                format!(
                    "particle {bad} has more than max_neighbors = {} neighbours within \
                     cutoff + skin = {}; {}",
                    self.max_neighbors, self.r_list, self.capacity_hint
                ),
            ));
        }
        // Reference positions for the skin check, in parallel.
        let z0: &mut [f64] = if p.dim == 3 {
            &mut self.z0[..n]
        } else {
            &mut []
        };
        for_each_segment(
            [&mut self.x0[..n], &mut self.y0[..n], z0],
            n,
            4096,
            &|_, first, [x0, y0, z0]| {
                for (k, q) in packed[first..first + x0.len()].iter().enumerate() {
                    x0[k] = q[0];
                    y0[k] = q[1];
                    if !z0.is_empty() {
                        z0[k] = q[2];
                    }
                }
            },
        );
        self.built_n = Some(n);
        self.builds += 1;
        Ok(())
    }

    /// The runs of slots (ascending, in scan order) of the cells around
    /// cell `c`: per (y, z) cell row the x cells as one contiguous run when
    /// they do not wrap (cell order is x-fastest), else cell by cell.
    fn runs_around(&self, c: usize, runs: &mut SlotRuns) {
        let home = [
            c % self.ncell[0],
            (c / self.ncell[0]) % self.ncell[1],
            c / (self.ncell[0] * self.ncell[1]),
        ];
        // Neighbouring cell coordinates along each axis (distinct, up to 3).
        let mut span = [[0usize; 3]; 3];
        let mut span_len = [1usize; 3];
        for a in 0..3 {
            let nc = self.ncell[a];
            let h = home[a];
            let mut m = 0;
            let cand: [isize; 3] = [h as isize - 1, h as isize, h as isize + 1];
            for &v in &cand {
                // v is in -1..=nc: wrap by one box length (no division).
                let w = if self.sbox.periodic {
                    if v < 0 {
                        v + nc as isize
                    } else if v >= nc as isize {
                        v - nc as isize
                    } else {
                        v
                    }
                } else if v < 0 || v >= nc as isize {
                    continue;
                } else {
                    v
                } as usize;
                if !span[a][..m].contains(&w) {
                    span[a][m] = w;
                    m += 1;
                }
            }
            span_len[a] = m;
        }
        let xs = &span[0][..span_len[0]];
        let consecutive = xs.windows(2).all(|w| w[1] == w[0] + 1);
        let mut x_runs = [(0usize, 0usize); 3];
        let n_x_runs = if consecutive {
            x_runs[0] = (xs[0], xs[xs.len() - 1]);
            1
        } else {
            for (r, &cx) in x_runs.iter_mut().zip(xs) {
                *r = (cx, cx);
            }
            xs.len()
        };
        runs.cell = c;
        runs.len = 0;
        for &cz in &span[2][..span_len[2]] {
            for &cy in &span[1][..span_len[1]] {
                for &(cx_first, cx_last) in &x_runs[..n_x_runs] {
                    let row_cell = (cz * self.ncell[1] + cy) * self.ncell[0];
                    runs.runs[runs.len] = (
                        self.cell_start[row_cell + cx_first],
                        self.cell_start[row_cell + cx_last + 1],
                    );
                    runs.len += 1;
                }
            }
        }
    }

    /// Fills `row` with the neighbour slots of slot `i`, sorted by particle
    /// index; false on overflow. `runs` caches the slot runs of the last
    /// cell seen (consecutive slots mostly share a cell).
    fn fill_row(
        &self,
        packed: &[[f64; 4]],
        dim: usize,
        i: usize,
        rl2: f64,
        row: &mut [u32],
        runs: &mut SlotRuns,
    ) -> bool {
        let b = &self.sbox;
        let [xi, yi, zi, _] = packed[i];
        let centre = ScanCentre {
            r: [xi, yi, zi],
            lengths: b.lengths,
            inv_lengths: b.inv_lengths,
            periodic: b.periodic,
            three: dim == 3,
            r2: rl2,
            exclude: i,
        };
        let cap = self.max_neighbors;
        let mut count = 0usize;
        let c = self.cell_of[self.cell_members[i] as usize] as usize;
        if runs.cell != c {
            self.runs_around(c, runs);
        }
        for &(lo, hi) in &runs.runs[..runs.len] {
            count = append_within(packed, lo as usize..hi as usize, &centre, row, count, cap);
        }
        if count > cap {
            row[0] = 0;
            return false;
        }
        row[0] = count as u32;
        row[1..1 + count].sort_unstable_by_key(|&j| self.cell_members[j as usize]);
        true
    }
}

/// The slot runs `[lo, hi)` to scan for the particles of one cell.
struct SlotRuns {
    cell: usize,
    len: usize,
    runs: [(u32, u32); 27],
}

impl Default for SlotRuns {
    fn default() -> Self {
        Self {
            cell: usize::MAX,
            len: 0,
            runs: [(0, 0); 27],
        }
    }
}

/// `packed[s] = [x, y, z, type]` of particle `order[s]` (`z = 0` in 2D, type
/// 0 without types), in parallel.
pub fn gather_packed(p: &Positions, order: &[u32], packed: &mut [[f64; 4]]) {
    gather_packed_checked(p, order, packed, None);
}

/// [`gather_packed`] that also reports whether a slot moved more than half
/// the skin of `list` since its last build (in the same pass).
pub fn gather_packed_checked(
    p: &Positions,
    order: &[u32],
    packed: &mut [[f64; 4]],
    list: Option<&NeighbourList>,
) -> bool {
    // Up to 4096 particles per task; small systems still in 16 tasks of at
    // least 64, so that every thread gathers (a pure copy: any split gives
    // the same result).
    let task = packed.len().div_ceil(16).clamp(64, 4096);
    let three = p.dim == 3;
    let moved = std::sync::atomic::AtomicBool::new(false);
    parallel::for_each_chunk_mut(packed, task, &|c, part| {
        let first = c * task;
        // The reads go through the permutation: fetch a few particles ahead.
        const AHEAD: usize = 16;
        let ahead = &order[(first + AHEAD).min(order.len())..];
        for (k, q) in part.iter_mut().enumerate() {
            if let Some(&j) = ahead.get(k) {
                let j = j as usize;
                prefetch(&p.x[j]);
                prefetch(&p.y[j]);
                if three {
                    prefetch(&p.z[j]);
                }
            }
            let i = order[first + k] as usize;
            let t = if p.types.is_empty() { 0 } else { p.types[i] };
            *q = [
                p.x[i],
                p.y[i],
                if three { p.z[i] } else { 0.0 },
                f64::from(t),
            ];
        }
        if list.is_some_and(|l| l.moved_beyond_half_skin(p.dim, first, part)) {
            moved.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    moved.into_inner()
}
