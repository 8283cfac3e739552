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
//! All storage (heights, two generation stacks of capacity `L^2` each, area
//! stamps, activity counters) is allocated at creation; adding grains and
//! relaxing never allocate. Each site appears at most once per generation
//! stack, so capacity `L^2` always suffices.

use crate::error::{Error, ErrorKind, Result};
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

/// A BTW sandpile with its sequential random stream for random drives.
#[derive(Clone, Debug)]
pub struct Sandpile {
    side: usize,
    heights: Vec<u8>,
    /// Unstable sites of the current generation, packed `(y << 16) | x`.
    current: Vec<u32>,
    /// Sites that became unstable during the current generation.
    next: Vec<u32>,
    /// Avalanche stamp of the last avalanche in which each site toppled.
    last_toppled: Vec<u32>,
    stamp: u32,
    activity: Vec<u64>,
    rng: SeqRng,
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
            heights: vec![0; n],
            current: vec![0; n + STACK_SLACK],
            next: vec![0; n + STACK_SLACK],
            last_toppled: vec![0; n],
            stamp: 0,
            activity: vec![0; n],
            rng: SeqRng::new(seed, stream),
        })
    }

    pub fn side(&self) -> usize {
        self.side
    }

    /// Number of sites, `L^2`.
    pub fn sites(&self) -> usize {
        self.heights.len()
    }

    /// Heights, row-major (`site = y * L + x`).
    pub fn heights(&self) -> &[u8] {
        &self.heights
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
        self.heights.copy_from_slice(heights);
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
        self.heights[site] += 1;
        if self.heights[site] < THRESHOLD {
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

    fn next_stamp(&mut self) -> u32 {
        if self.stamp == u32::MAX {
            self.last_toppled.fill(0);
            self.stamp = 0;
        }
        self.stamp += 1;
        self.stamp
    }

    /// Relaxes the avalanche started by the unstable site `site`.
    ///
    /// The generation stacks are fixed-length buffers with explicit lengths:
    /// every candidate is written unconditionally and the length advances only
    /// if it is really unstable (branch-free: the threshold tests are
    /// unpredictable). Each list holds each site at most once, so a list never
    /// exceeds `L^2` entries; the buffers have 5 slots of slack for the
    /// speculative writes of the last toppling.
    fn relax_from(&mut self, site: usize) -> Avalanche {
        let stamp = self.next_stamp();
        let side = self.side;
        let last = side - 1;
        let heights = &mut self.heights[..];
        let last_toppled = &mut self.last_toppled[..];
        let activity = &mut self.activity[..];
        let mut current = std::mem::take(&mut self.current);
        let mut next = std::mem::take(&mut self.next);
        current[0] = pack(site % side, site / side);
        let mut n_current = 1usize;
        let mut a = Avalanche::default();
        while n_current > 0 {
            a.duration += 1;
            a.size += n_current as u64;
            let mut n_next = 0usize;
            for k in 0..n_current {
                let packed = current[k];
                let (x, y) = unpack(packed);
                let i = y * side + x;
                heights[i] -= THRESHOLD;
                let first = u64::from(last_toppled[i] != stamp);
                last_toppled[i] = stamp;
                a.area += first;
                activity[i] += first;
                next[n_next] = packed;
                n_next += usize::from(heights[i] >= THRESHOLD);
                // Each neighbour gains a grain; it joins the next generation
                // when it reaches the threshold exactly (so at most once).
                if x > 0 {
                    let j = i - 1;
                    heights[j] += 1;
                    next[n_next] = packed - 1;
                    n_next += usize::from(heights[j] == THRESHOLD);
                }
                if x < last {
                    let j = i + 1;
                    heights[j] += 1;
                    next[n_next] = packed + 1;
                    n_next += usize::from(heights[j] == THRESHOLD);
                }
                if y > 0 {
                    let j = i - side;
                    heights[j] += 1;
                    next[n_next] = packed - (1 << 16);
                    n_next += usize::from(heights[j] == THRESHOLD);
                }
                if y < last {
                    let j = i + side;
                    heights[j] += 1;
                    next[n_next] = packed + (1 << 16);
                    n_next += usize::from(heights[j] == THRESHOLD);
                }
            }
            std::mem::swap(&mut current, &mut next);
            n_current = n_next;
        }
        self.current = current;
        self.next = next;
        a
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
