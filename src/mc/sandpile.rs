//! The Abelian (Bak-Tang-Wiesenfeld) sandpile on an `L x L` square lattice with
//! open boundaries (Bak, Tang & Wiesenfeld, PRL 59, 381 (1987); Dhar, PRL 64,
//! 1613 (1990)).
//!
//! Heights `z_i` are stable in `0..=3`. A site with `z_i >= 4` topples:
//! `z_i -= 4` and each of its (up to four) nearest neighbours gains one grain;
//! grains pushed across the edge leave the system. Relaxation is a parallel
//! (synchronous) update: in each generation every site unstable at the start of
//! the generation topples once. By the Abelian property the final stable state
//! and the number of topplings of each site do not depend on the order.
//!
//! Per avalanche (one added grain and its relaxation):
//! * `size`: number of topplings;
//! * `area`: number of distinct sites that toppled at least once;
//! * `duration`: number of parallel-update generations with at least one
//!   toppling (0 when the grain causes no toppling).
//!
//! Site activity: `activity[i]` counts
//! the avalanches in which site `i` toppled at least once, accumulated over
//! every grain added since the last [`Sandpile::reset_activity`].
//!
//! Site activity summed over all sources (Ganguly, arXiv:2510.09631):
//! [`Sandpile::site_activity_all_sources`] gives, for the current
//! configuration, `A(R) = sum_{R'} N(R, R')` (topplings of `R` when one grain
//! is added at `R'`, every source starting from the same configuration).
//!
//! All storage (heights, two generation stacks of capacity `L^2` each, the
//! toppled-in-this-avalanche bits and touched-site list, activity counters,
//! the configuration copy of the all-sources activity) is allocated at
//! creation, and the scratch of extra all-sources workers by
//! [`Sandpile::reserve_activity_workers`]; adding grains, relaxing and the
//! all-sources activity never allocate. Each site appears at most once per generation stack, so
//! capacity `L^2` always suffices.

use crate::error::{zeros, Error, ErrorKind, Result};
use crate::rng::pcg::{SeqRng, SeqRngState};

/// Height at which a site topples.
pub const THRESHOLD: u8 = 4;

/// Extra stack slots for speculative (branch-free) writes.
const STACK_SLACK: usize = 5;

/// Largest side length: site coordinates are packed as two 16-bit halves.
pub const MAX_SIDE: usize = 1 << 16;

/// Statistics of one avalanche.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Avalanche {
    /// Topplings.
    pub size: u64,
    /// Distinct sites toppled.
    pub area: u64,
    /// Parallel-update generations.
    pub duration: u64,
}

/// Heights plus the scratch of one relaxation: two generation stacks of
/// capacity `L^2` (+ slack), the toppled-in-this-avalanche bits and the
/// touched-site list.
#[derive(Clone, Debug)]
struct Relaxation {
    heights: Vec<u8>,
    /// Unstable sites of the current generation, packed `(y << 16) | x`.
    current: Vec<u32>,
    /// Sites that became unstable during the current generation.
    next: Vec<u32>,
    /// One bit per site: toppled in the current avalanche (cleared from
    /// `touched` when the avalanche ends). 1 bit, not a per-site stamp, so
    /// the random accesses stay in cache at L = 1024.
    toppled: Vec<u64>,
    /// Sites toppled in the current avalanche, each listed once.
    touched: Vec<u32>,
}

/// Scratch of one worker of the parallel all-sources activity: its
/// own copy of the configuration and relaxation buffers, and its own
/// toppling counts (summed into the caller's array at the end: integer
/// sums, so the result does not depend on how sources are shared out).
#[derive(Clone, Debug)]
struct ActivityWorker {
    relax: Relaxation,
    counts: Vec<u64>,
    total: u64,
}

/// A BTW sandpile with its sequential random stream for random drives.
#[derive(Clone, Debug)]
pub struct Sandpile {
    side: usize,
    relax: Relaxation,
    activity: Vec<u64>,
    /// Copy of the configuration for [`Sandpile::site_activity_all_sources`].
    saved: Vec<u8>,
    /// Scratch for the parallel all-sources activity
    /// ([`Sandpile::reserve_activity_workers`]); empty: one thread.
    workers: Vec<ActivityWorker>,
    rng: SeqRng,
}

impl Relaxation {
    fn new(n: usize) -> Result<Self> {
        Ok(Self {
            heights: zeros(n, "sandpile heights")?,
            current: zeros(n + STACK_SLACK, "sandpile generation stack")?,
            next: zeros(n + STACK_SLACK, "sandpile generation stack")?,
            toppled: zeros(n.div_ceil(64), "sandpile toppled bits")?,
            touched: zeros(n + STACK_SLACK, "sandpile touched list")?,
        })
    }

    /// The relaxation loop shared by drives (`ALL = false`: `counts` unused)
    /// and the all-sources activity (`ALL = true`: `counts[i]` +1 per
    /// toppling). Each toppled site is listed once in `touched` and has its
    /// bit set in `toppled`; the caller clears the bits (whole words) from
    /// the list. Returns the avalanche and the number of entries written to
    /// `touched`.
    ///
    /// The generation stacks are fixed-length buffers with explicit lengths:
    /// every candidate is written unconditionally and the length advances only
    /// if it is really unstable (branch-free: the threshold tests are
    /// unpredictable). Each list holds each site at most once, so a list never
    /// exceeds `L^2` entries; the buffers have 5 slots of slack for the
    /// speculative writes of the last toppling.
    #[inline]
    fn relax<const ALL: bool>(
        &mut self,
        side: usize,
        site: usize,
        counts: &mut [u64],
    ) -> (Avalanche, usize) {
        let buffers = RelaxBuffers {
            heights: &mut self.heights,
            toppled: &mut self.toppled,
            touched: &mut self.touched,
            current: &mut self.current,
            next: &mut self.next,
        };
        if ALL {
            relax_slices::<true>(buffers, side, site, counts)
        } else {
            relax_drive(buffers, side, site)
        }
    }

    /// One source of the all-sources activity: a grain at `source` of the
    /// configuration `saved` (which `self.heights` holds on entry), relaxed
    /// with every toppling counted in `counts`, then only the toppled sites,
    /// their neighbours and the source restored from `saved`. Returns the
    /// topplings.
    fn one_source(&mut self, side: usize, source: usize, saved: &[u8], counts: &mut [u64]) -> u64 {
        if self.heights[source] + 1 < THRESHOLD {
            return 0;
        }
        self.heights[source] += 1;
        let (a, n_touched) = self.relax::<true>(side, source, counts);
        let heights = &mut self.heights;
        heights[source] = saved[source];
        for &p in &self.touched[..n_touched] {
            let (x, y) = unpack(p);
            let i = y * side + x;
            self.toppled[i / 64] = 0;
            heights[i] = saved[i];
            if x > 0 {
                heights[i - 1] = saved[i - 1];
            }
            if x + 1 < side {
                heights[i + 1] = saved[i + 1];
            }
            if y > 0 {
                heights[i - side] = saved[i - side];
            }
            if y + 1 < side {
                heights[i + side] = saved[i + side];
            }
        }
        a.size
    }
}

impl Sandpile {
    /// An empty (all heights 0) `side x side` sandpile whose random drives
    /// draw from the PCG64 stream `(seed, stream)`.
    pub fn new(side: usize, seed: u64, stream: u64) -> Result<Self> {
        if side == 0 || side > MAX_SIDE {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("side = {side} must be in 1..={MAX_SIDE}"),
            ));
        }
        let n = side * side;
        Ok(Self {
            side,
            relax: Relaxation::new(n)?,
            activity: zeros(n, "sandpile activity counters")?,
            saved: zeros(n, "sandpile configuration copy")?,
            workers: Vec::new(),
            rng: SeqRng::new(seed, stream),
        })
    }

    pub fn side(&self) -> usize {
        self.side
    }

    /// Number of sites, `L^2`.
    pub fn sites(&self) -> usize {
        self.relax.heights.len()
    }

    /// Heights, row-major (`site = y * L + x`).
    pub fn heights(&self) -> &[u8] {
        &self.relax.heights
    }

    /// Checks that `heights` is a stable configuration of this lattice.
    pub fn check_heights(&self, heights: &[u8]) -> Result<()> {
        if heights.len() != self.sites() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "heights has {} elements, the lattice has L^2 = {}",
                    heights.len(),
                    self.sites()
                ),
            ));
        }
        if let Some(i) = heights.iter().position(|&h| h >= THRESHOLD) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "heights[{i}] = {} is not stable (must be 0..=3)",
                    heights[i]
                ),
            ));
        }
        Ok(())
    }

    /// Replaces the configuration by a stable one (validated first).
    pub fn set_heights(&mut self, heights: &[u8]) -> Result<()> {
        self.check_heights(heights)?;
        self.relax.heights.copy_from_slice(heights);
        Ok(())
    }

    /// Activity counters: avalanches in which each site toppled.
    pub fn activity(&self) -> &[u64] {
        &self.activity
    }

    pub fn reset_activity(&mut self) {
        self.activity.fill(0);
    }

    pub fn rng_state(&self) -> SeqRngState {
        self.rng.save()
    }

    pub fn set_rng_state(&mut self, state: SeqRngState) {
        self.rng = SeqRng::restore(state);
    }

    /// Checks a site index.
    pub fn check_site(&self, site: usize) -> Result<()> {
        if site >= self.sites() {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("site = {site} is outside 0..{}", self.sites()),
            ));
        }
        Ok(())
    }

    /// Adds one grain at `site` (must be `< L^2`) and relaxes.
    pub fn add_grain(&mut self, site: usize) -> Avalanche {
        assert!(site < self.sites(), "site {site} out of range");
        self.relax.heights[site] += 1;
        if self.relax.heights[site] < THRESHOLD {
            return Avalanche::default();
        }
        self.relax_from(site)
    }

    /// Adds one grain at a uniformly random site (from the handle's stream)
    /// and relaxes; returns the site and the avalanche.
    pub fn add_random_grain(&mut self) -> (usize, Avalanche) {
        let site = self.rng.below(self.sites() as u64) as usize;
        (site, self.add_grain(site))
    }

    /// Adds `grains` grains at random sites; `record(k, avalanche)` sees the
    /// statistics of grain `k`.
    pub fn drive_random(&mut self, grains: usize, mut record: impl FnMut(usize, Avalanche)) {
        for k in 0..grains {
            let (_, a) = self.add_random_grain();
            record(k, a);
        }
    }

    /// Relaxes the avalanche started by the unstable site `site`, counting
    /// in the per-site activity counters (once per toppled site, from the
    /// touched list after the avalanche).
    fn relax_from(&mut self, site: usize) -> Avalanche {
        let side = self.side;
        let (a, n_touched) = self.relax.relax::<false>(side, site, &mut []);
        count_and_clear(
            &self.relax.touched[..n_touched],
            side,
            &mut self.activity,
            &mut self.relax.toppled,
        );
        a
    }

    /// Reserves scratch so that [`Self::site_activity_all_sources`] runs on
    /// up to `workers` threads of the library's pool (it uses
    /// `min(workers, pool threads)`); 0 or 1 frees it (one thread, the
    /// default). Each worker keeps its own copy of the configuration, its
    /// relaxation buffers and toppling counts: about `21 L^2` bytes (0.5 MB
    /// at L = 160, 22 MB at L = 1024). The result does not depend on the
    /// number of workers. Errors: `OutOfRange` for `workers` above the
    /// pool's limit (`parallel::MAX_THREADS`), `OutOfMemory` (workers
    /// allocated before the failure are kept: see [`Self::activity_workers`]).
    pub fn reserve_activity_workers(&mut self, workers: usize) -> Result<()> {
        if workers > crate::parallel::MAX_THREADS {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "workers = {workers} exceeds the thread limit {}",
                    crate::parallel::MAX_THREADS
                ),
            ));
        }
        let n = self.sites();
        let want = if workers < 2 { 0 } else { workers };
        self.workers.truncate(want);
        self.workers.shrink_to_fit();
        if self
            .workers
            .try_reserve_exact(want - self.workers.len())
            .is_err()
        {
            return Err(Error::new(
                ErrorKind::OutOfMemory,
                format!("cannot allocate {want} all-sources workers"),
            ));
        }
        while self.workers.len() < want {
            let worker = ActivityWorker {
                relax: Relaxation::new(n)?,
                counts: zeros(n, "sandpile worker counts")?,
                total: 0,
            };
            self.workers.push(worker);
        }
        Ok(())
    }

    /// Workers reserved by [`Self::reserve_activity_workers`] (1: serial).
    pub fn activity_workers(&self) -> usize {
        self.workers.len().max(1)
    }

    /// Site activity summed over all sources (Ganguly, arXiv:2510.09631):
    /// for the current configuration `C`,
    ///
    /// `A(R) = sum_{R'} N(R, R')`,
    ///
    /// where `N(R, R')` is the number of topplings of site `R` when one grain
    /// is added at `R'` to `C` and relaxed (each source starting again from
    /// the same `C`). `out[R]` (length `L^2`, row-major) receives `A(R)`
    /// (dimensionless toppling counts). Averaged over recurrent
    /// configurations, `E[N(R, R')]` is the toppling Green's function
    /// `G = Delta^-1` (Dhar 1990), so `E[A(R)] = sum_{R'} G(R, R')`.
    ///
    /// The configuration, the activity counters and the random stream are
    /// unchanged afterwards; returns the total number of topplings
    /// `sum_R A(R)`. No allocation: after each avalanche only the toppled
    /// sites, their neighbours and the source are restored from a copy of
    /// `C` reserved at creation. Cost: `L^2` avalanches, shared out by rows
    /// (row `y` to worker `y mod W`) over `W = min(reserved workers, pool
    /// threads)` workers ([`Self::reserve_activity_workers`]); the counts
    /// are integer sums, so every `W` gives the same result.
    pub fn site_activity_all_sources(&mut self, out: &mut [u64]) -> Result<u64> {
        if out.len() != self.sites() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "activity has {} elements, the lattice has L^2 = {}",
                    out.len(),
                    self.sites()
                ),
            ));
        }
        out.fill(0);
        let side = self.side;
        self.saved.copy_from_slice(&self.relax.heights);
        let w = self.workers.len().min(crate::parallel::num_threads());
        if w < 2 {
            let mut total = 0u64;
            for source in 0..self.sites() {
                total += self.relax.one_source(side, source, &self.saved, out);
            }
            debug_assert_eq!(self.relax.heights, self.saved);
            return Ok(total);
        }
        let saved = &self.saved[..];
        crate::parallel::for_each_chunk_mut(&mut self.workers[..w], 1, &|k, worker| {
            let ws = &mut worker[0];
            ws.relax.heights.copy_from_slice(saved);
            ws.counts.fill(0);
            ws.total = 0;
            for y in (k..side).step_by(w) {
                for x in 0..side {
                    ws.total += ws
                        .relax
                        .one_source(side, y * side + x, saved, &mut ws.counts);
                }
            }
            debug_assert_eq!(ws.relax.heights, saved);
        });
        let mut total = 0u64;
        for ws in &self.workers[..w] {
            total += ws.total;
            for (o, c) in out.iter_mut().zip(&ws.counts) {
                *o += c;
            }
        }
        Ok(total)
    }
}

/// The buffers of one relaxation as separate borrows: passed as distinct
/// `&mut` slices, the compiler knows that stores to the stacks and the
/// touched list never change a height (with them borrowed from one `&mut
/// self`, each store forced the heights to be reloaded: 5% slower drives).
struct RelaxBuffers<'a> {
    heights: &'a mut [u8],
    toppled: &'a mut [u64],
    touched: &'a mut [u32],
    current: &'a mut [u32],
    next: &'a mut [u32],
}

/// The drive's relaxation as a function of its own: inlined into the
/// drive loop it ran 4% slower (measured at L = 160), while the
/// all-sources loop is faster with the relaxation inlined.
#[inline(never)]
fn relax_drive(b: RelaxBuffers<'_>, side: usize, site: usize) -> (Avalanche, usize) {
    relax_slices::<false>(b, side, site, &mut [])
}

/// [`Relaxation::relax`] on separately borrowed buffers.
#[inline(always)]
fn relax_slices<const ALL: bool>(
    b: RelaxBuffers<'_>,
    side: usize,
    site: usize,
    counts: &mut [u64],
) -> (Avalanche, usize) {
    let RelaxBuffers {
        heights,
        toppled,
        touched,
        mut current,
        mut next,
    } = b;
    let last = side - 1;
    current[0] = pack(site % side, site / side);
    let mut n_current = 1usize;
    let mut n_touched = 0usize;
    let mut a = Avalanche::default();
    while n_current > 0 {
        a.duration += 1;
        a.size += n_current as u64;
        let mut n_next = 0usize;
        for k in 0..n_current {
            let packed = current[k];
            let (x, y) = unpack(packed);
            let i = y * side + x;
            // Heights are updated through registers, not re-read after
            // the store: a re-read would put a store-to-load forwarding
            // delay on the `n_next` chain for every neighbour.
            let h = heights[i] - THRESHOLD;
            heights[i] = h;
            let bit = 1u64 << (i % 64);
            let first = u64::from(toppled[i / 64] & bit == 0);
            toppled[i / 64] |= bit;
            a.area += first;
            touched[n_touched] = packed;
            n_touched += first as usize;
            if ALL {
                counts[i] += 1;
            }
            // A toppling site never stays unstable: on the bipartite
            // square lattice the sites toppling in generation g all have
            // the parity of the source plus g - 1 (the source alone in
            // generation 1; each later generation holds neighbours of
            // the previous one), so a site receives grains only in the
            // generation before its own and topples with at most
            // 3 + 4 = 7 grains, leaving at most 3. (Every avalanche
            // here starts from a stable configuration plus one grain.)
            debug_assert!(h < THRESHOLD, "a site still unstable after toppling");
            // Each neighbour gains a grain; it joins the next generation
            // when it reaches the threshold exactly (so at most once).
            if x > 0 {
                let h = heights[i - 1] + 1;
                heights[i - 1] = h;
                next[n_next] = packed - 1;
                n_next += usize::from(h == THRESHOLD);
            }
            if x < last {
                let h = heights[i + 1] + 1;
                heights[i + 1] = h;
                next[n_next] = packed + 1;
                n_next += usize::from(h == THRESHOLD);
            }
            if y > 0 {
                let h = heights[i - side] + 1;
                heights[i - side] = h;
                next[n_next] = packed - (1 << 16);
                n_next += usize::from(h == THRESHOLD);
            }
            if y < last {
                let h = heights[i + side] + 1;
                heights[i + side] = h;
                next[n_next] = packed + (1 << 16);
                n_next += usize::from(h == THRESHOLD);
            }
        }
        std::mem::swap(&mut current, &mut next);
        n_current = n_next;
    }
    (a, n_touched)
}

/// After a drive's avalanche: +1 activity for each touched site and its
/// toppled bit cleared (separate borrows, so the slice bounds stay in
/// registers across the stores).
#[inline]
fn count_and_clear(touched: &[u32], side: usize, activity: &mut [u64], toppled: &mut [u64]) {
    for &p in touched {
        let (x, y) = unpack(p);
        let i = y * side + x;
        activity[i] += 1;
        toppled[i / 64] = 0;
    }
}

#[inline]
fn pack(x: usize, y: usize) -> u32 {
    ((y as u32) << 16) | x as u32
}

#[inline]
fn unpack(p: u32) -> (usize, usize) {
    ((p & 0xFFFF) as usize, (p >> 16) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_sources_activity_matches_a_hand_checked_3x3_case_and_naive_relaxation() {
        // Centre at 3, the rest 0: only a grain at the centre topples (once,
        // at the centre), so A = 1 at the centre and 0 elsewhere.
        let mut s = Sandpile::new(3, 1, 0).unwrap();
        let h = [0, 0, 0, 0, 3, 0, 0, 0, 0];
        s.set_heights(&h).unwrap();
        let mut a = [9u64; 9];
        assert_eq!(s.site_activity_all_sources(&mut a).unwrap(), 1);
        assert_eq!(a, [0, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(s.heights(), &h);
        // Random stable configurations of a 5 x 5 lattice against a naive
        // sequential relaxation counting topplings per site.
        let mut rng = SeqRng::new(5, 0);
        let mut s = Sandpile::new(5, 1, 0).unwrap();
        for _ in 0..20 {
            let h: Vec<u8> = (0..25).map(|_| rng.below(4) as u8).collect();
            s.set_heights(&h).unwrap();
            let mut a = [0u64; 25];
            let total = s.site_activity_all_sources(&mut a).unwrap();
            assert_eq!(s.heights(), &h[..]);
            let mut want = [0u64; 25];
            for src in 0..25 {
                let mut z = h.clone();
                z[src] += 1;
                while let Some(i) = z.iter().position(|&v| v >= 4) {
                    z[i] -= 4;
                    want[i] += 1;
                    let (x, y) = (i % 5, i / 5);
                    if x > 0 {
                        z[i - 1] += 1;
                    }
                    if x < 4 {
                        z[i + 1] += 1;
                    }
                    if y > 0 {
                        z[i - 5] += 1;
                    }
                    if y < 4 {
                        z[i + 5] += 1;
                    }
                }
            }
            assert_eq!(a, want);
            assert_eq!(total, want.iter().sum::<u64>());
        }
        assert_eq!(
            s.site_activity_all_sources(&mut [0u64; 8])
                .unwrap_err()
                .kind,
            ErrorKind::InvalidSize
        );
    }

    /// Avalanche statistics and final heights against a naive synchronous
    /// relaxation of their definitions: every generation, all sites at 4 or
    /// more topple once together (size: topplings; area: distinct sites;
    /// duration: generations with a toppling). 600 grains at random sites of
    /// a 12 x 12 lattice started near its threshold, so avalanches are large
    /// (many generations, sites toppling repeatedly).
    #[test]
    fn avalanches_match_a_naive_synchronous_relaxation() {
        let side = 12;
        let n = side * side;
        let mut rng = SeqRng::new(31, 0);
        let mut s = Sandpile::new(side, 1, 0).unwrap();
        let mut z: Vec<u8> = (0..n).map(|_| 2 + rng.below(2) as u8).collect();
        s.set_heights(&z).unwrap();
        let (mut longest, mut repeats) = (0, 0);
        for _ in 0..600 {
            let src = rng.below(n as u64) as usize;
            z[src] += 1;
            let mut want = Avalanche::default();
            let mut toppled = vec![0u64; n];
            loop {
                let unstable: Vec<usize> = (0..n).filter(|&i| z[i] >= 4).collect();
                if unstable.is_empty() {
                    break;
                }
                want.duration += 1;
                for &i in &unstable {
                    z[i] -= 4;
                    toppled[i] += 1;
                    want.size += 1;
                    let (x, y) = (i % side, i / side);
                    for (ok, j) in [
                        (x > 0, i.wrapping_sub(1)),
                        (x + 1 < side, i + 1),
                        (y > 0, i.wrapping_sub(side)),
                        (y + 1 < side, i + side),
                    ] {
                        if ok {
                            z[j] += 1;
                        }
                    }
                }
            }
            want.area = toppled.iter().filter(|&&t| t > 0).count() as u64;
            repeats += toppled.iter().filter(|&&t| t > 1).count();
            longest = longest.max(want.duration);
            assert_eq!(s.add_grain(src), want, "grain at {src}");
            assert_eq!(s.heights(), &z[..]);
        }
        assert!(
            longest > 20 && repeats > 100,
            "avalanches too small: {longest}, {repeats}"
        );
    }

    #[test]
    fn a_single_toppling_in_the_centre_of_a_3x3_lattice() {
        let mut s = Sandpile::new(3, 1, 0).unwrap();
        s.set_heights(&[0, 0, 0, 0, 3, 0, 0, 0, 0]).unwrap();
        let a = s.add_grain(4);
        assert_eq!(
            a,
            Avalanche {
                size: 1,
                area: 1,
                duration: 1
            }
        );
        assert_eq!(s.heights(), &[0, 1, 0, 1, 0, 1, 0, 1, 0]);
    }

    #[test]
    fn corner_toppling_loses_two_grains_across_the_edge() {
        let mut s = Sandpile::new(2, 1, 0).unwrap();
        s.set_heights(&[3, 0, 0, 0]).unwrap();
        let a = s.add_grain(0);
        assert_eq!(a.size, 1);
        assert_eq!(s.heights(), &[0, 1, 1, 0]);
    }

    #[test]
    fn side_zero_and_sides_above_65536_are_rejected() {
        assert_eq!(
            Sandpile::new(0, 0, 0).unwrap_err().kind,
            ErrorKind::OutOfRange
        );
        assert_eq!(
            Sandpile::new(MAX_SIDE + 1, 0, 0).unwrap_err().kind,
            ErrorKind::OutOfRange
        );
    }
}
