//! Prokof'ev-Svistunov worm algorithm for the 2D Ising model (Prokof'ev &
//! Svistunov 2001, PRL 87, 160601) on the high-temperature expansion.
//!
//! With `t = tanh(J / T)` (`J > 0`, `h = 0`), on the periodic `lx x ly`
//! lattice `Z = 2^N cosh(J/T)^(2N) sum_{B even} t^|B|`, the sum running over
//! bond sets `B` in which every site has even degree (closed loops, winding
//! ones included, so the expansion is exact on the torus). The worm samples
//! the extended ensemble of bond sets whose only odd sites are its two ends
//! `I` (ira) and `M` (masha), weight `t^|B|`; `I = M` is a closed ("Z")
//! configuration.
//!
//! One worm step: if `I = M`, move both to a uniform random site; then pick
//! one of the 4 bonds of `M` uniformly and propose to flip its occupation,
//! moving `M` across it: accepted with probability `t` when the bond is
//! empty, always when it is occupied.
//!
//! Estimators (exact integer accumulators in the worm, reset on demand):
//! * energy per spin, measured in Z configurations:
//!   `u = -J (2 t + (<|B|>_Z / N) (1 - t^2) / t)` (`-d ln Z / d(J/T) / N`);
//! * susceptibility `chi = sum_r <s_0 s_r> = N <m^2>` = (worm steps) / (steps
//!   taken from a Z configuration).
//!
//! Link occupations are `u8` 0/1 in two planes: `links[s]` is the bond from
//! site `s = x + lx y` to `(x + 1, y)`, `links[N + s]` the bond to `(x, y + 1)`.
//!
//! Random numbers: a sequential PCG64 stream ([`SeqRng`]) keyed by
//! `(seed, Stream::IsingWorm.with_sub(stream))`, state saveable; per step one
//! `below(N)` when relocating, then one `next_u64`: bits 0-1 the direction
//! (+x, -x, +y, -y), bits 32-63 the acceptance word (`w <= threshold(t)`).

use super::ising::{acceptance_threshold, check_temperature};
use crate::error::{Error, ErrorKind, Result};
use crate::rng::pcg::{SeqRng, SeqRngState};
use crate::rng::stream::Stream;

/// Worm-algorithm state: links, worm ends, random stream, estimator sums.
#[derive(Clone, Debug)]
pub struct IsingWorm {
    lx: usize,
    ly: usize,
    links: Vec<u8>,
    ira: usize,
    masha: usize,
    /// Coordinates of `masha`, kept alongside its index (no division per step).
    masha_x: usize,
    masha_y: usize,
    coupling: f64,
    temperature: f64,
    threshold: u32,
    rng: SeqRng,
    /// Occupied bonds, kept current.
    n_bonds: u64,
    steps: u64,
    z_steps: u64,
    z_bond_sum: u64,
}

/// Worm parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WormParams {
    pub lx: usize,
    pub ly: usize,
    pub coupling: f64,
    pub temperature: f64,
    pub seed: u64,
    pub stream: u64,
}

/// Estimates from the worm's accumulators.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WormEstimates {
    /// Energy per spin (J units included).
    pub energy_per_spin: f64,
    /// `sum_r <s_0 s_r>`.
    pub susceptibility: f64,
    /// Worm steps accumulated.
    pub steps: u64,
    /// Of which taken from a Z (closed) configuration.
    pub z_steps: u64,
}

impl IsingWorm {
    /// Validates (`lx, ly >= 2`, `J > 0`, `T > 0`, finite) and starts from the
    /// empty bond set with `I = M = 0`.
    pub fn new(p: &WormParams) -> Result<Self> {
        if p.lx < 2 || p.ly < 2 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("lattice {} x {}: every side must be at least 2", p.lx, p.ly),
            ));
        }
        let n =
            p.lx.checked_mul(p.ly)
                .filter(|&n| n <= u32::MAX as usize / 2)
                .ok_or_else(|| Error::new(ErrorKind::InvalidSize, "lattice too large"))?;
        for (name, v) in [("coupling", p.coupling), ("temperature", p.temperature)] {
            if !v.is_finite() {
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("{name} = {v}: must be finite"),
                ));
            }
        }
        if p.coupling <= 0.0 || p.temperature <= 0.0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "the worm needs J > 0 and T > 0 (got J = {}, T = {})",
                    p.coupling, p.temperature
                ),
            ));
        }
        let mut links = Vec::new();
        links
            .try_reserve_exact(2 * n)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "cannot allocate the links"))?;
        links.resize(2 * n, 0u8);
        let mut worm = Self {
            lx: p.lx,
            ly: p.ly,
            links,
            ira: 0,
            masha: 0,
            masha_x: 0,
            masha_y: 0,
            coupling: p.coupling,
            temperature: p.temperature,
            threshold: 0,
            rng: SeqRng::new(p.seed, Stream::IsingWorm.with_sub(p.stream)),
            n_bonds: 0,
            steps: 0,
            z_steps: 0,
            z_bond_sum: 0,
        };
        worm.set_temperature(p.temperature)?;
        Ok(worm)
    }

    fn t(&self) -> f64 {
        (self.coupling / self.temperature).tanh()
    }

    pub fn n_sites(&self) -> usize {
        self.lx * self.ly
    }

    /// Sets T > 0 (also resets the estimators, which belong to one T).
    pub fn set_temperature(&mut self, t: f64) -> Result<()> {
        check_temperature(t)?;
        self.temperature = t;
        self.threshold = acceptance_threshold(self.t());
        self.reset_estimates();
        Ok(())
    }

    pub fn reset_estimates(&mut self) {
        self.steps = 0;
        self.z_steps = 0;
        self.z_bond_sum = 0;
    }

    /// Whether the configuration is closed (`I = M`).
    pub fn is_closed(&self) -> bool {
        self.ira == self.masha
    }

    /// `(I, M)` as row-major site indices.
    pub fn ends(&self) -> (usize, usize) {
        (self.ira, self.masha)
    }

    /// Runs exactly `n_steps` worm steps (the state may end open).
    /// Allocates nothing.
    pub fn run(&mut self, n_steps: u64) {
        for _ in 0..n_steps {
            self.step();
        }
    }

    /// Runs until the configuration has been closed (`I = M`) after `visits`
    /// more steps, and returns the steps done. The closed configurations seen
    /// at successive visits form the chain induced on the closed sector, whose
    /// stationary law is `t^|B|` (normalised over closed bond sets), so the
    /// links read afterwards are an unbiased sample. (Stopping instead at the
    /// first closed configuration after a fixed number of steps would weight
    /// configurations by how easily they are reached: biased.)
    pub fn run_closed(&mut self, visits: u64) -> u64 {
        let (mut seen, mut steps) = (0, 0);
        while seen < visits {
            self.step();
            steps += 1;
            if self.ira == self.masha {
                seen += 1;
            }
        }
        steps
    }

    #[inline]
    fn step(&mut self) {
        let n = self.lx * self.ly;
        self.steps += 1;
        if self.ira == self.masha {
            self.z_steps += 1;
            self.z_bond_sum += self.n_bonds;
            let site = self.rng.below(n as u64) as usize;
            self.ira = site;
            self.masha = site;
            self.masha_x = site % self.lx;
            self.masha_y = site / self.lx;
        }
        let r = self.rng.next_u64();
        let (lx, ly) = (self.lx, self.ly);
        let (x, y) = (self.masha_x, self.masha_y);
        let ((nx, ny), bond) = match r & 3 {
            0 => ((if x + 1 == lx { 0 } else { x + 1 }, y), y * lx + x),
            1 => {
                let xm = if x == 0 { lx - 1 } else { x - 1 };
                ((xm, y), y * lx + xm)
            }
            2 => ((x, if y + 1 == ly { 0 } else { y + 1 }), n + y * lx + x),
            _ => {
                let ym = if y == 0 { ly - 1 } else { y - 1 };
                ((x, ym), n + ym * lx + x)
            }
        };
        let occupied = self.links[bond] == 1;
        if occupied || (r >> 32) as u32 <= self.threshold {
            self.links[bond] ^= 1;
            if occupied {
                self.n_bonds -= 1;
            } else {
                self.n_bonds += 1;
            }
            self.masha = ny * lx + nx;
            self.masha_x = nx;
            self.masha_y = ny;
        }
    }

    /// Energy and susceptibility from the accumulators (NaN before any Z
    /// visit).
    pub fn estimates(&self) -> WormEstimates {
        let t = self.t();
        let n = self.n_sites() as f64;
        let z = self.z_steps as f64;
        let mean_bonds = self.z_bond_sum as f64 / z;
        WormEstimates {
            energy_per_spin: -self.coupling * (2.0 * t + mean_bonds / n * (1.0 - t * t) / t),
            susceptibility: self.steps as f64 / z,
            steps: self.steps,
            z_steps: self.z_steps,
        }
    }

    /// Copies the link occupations (`2 N` bytes, layout in the module docs).
    pub fn links_into(&self, out: &mut [u8]) -> Result<()> {
        if out.len() != self.links.len() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "links has {} elements, need 2 N = {}",
                    out.len(),
                    self.links.len()
                ),
            ));
        }
        out.copy_from_slice(&self.links);
        Ok(())
    }

    /// Restores a closed configuration (every value 0 or 1, every site of even
    /// degree) with `I = M = site 0`; unchanged on error.
    pub fn set_links(&mut self, links: &[u8]) -> Result<()> {
        if links.len() != self.links.len() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "links has {} elements, need 2 N = {}",
                    links.len(),
                    self.links.len()
                ),
            ));
        }
        if let Some(i) = links.iter().position(|&b| b > 1) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("links[{i}] = {}: must be 0 or 1", links[i]),
            ));
        }
        let n = self.n_sites();
        for s in 0..n {
            let (x, y) = (s % self.lx, s / self.lx);
            let left = y * self.lx + (x + self.lx - 1) % self.lx;
            let down = ((y + self.ly - 1) % self.ly) * self.lx + x;
            let degree = links[s] + links[n + s] + links[left] + links[n + down];
            if degree % 2 == 1 {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("site {s} has odd degree {degree}: links must form closed loops"),
                ));
            }
        }
        self.links.copy_from_slice(links);
        self.n_bonds = links.iter().map(|&b| u64::from(b)).sum();
        self.ira = 0;
        self.masha = 0;
        self.masha_x = 0;
        self.masha_y = 0;
        Ok(())
    }

    pub fn rng_state(&self) -> [u64; 4] {
        self.rng.save().to_words()
    }

    pub fn set_rng_state(&mut self, words: [u64; 4]) {
        self.rng = SeqRng::restore(SeqRngState::from_words(words));
    }
}
