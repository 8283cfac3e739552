//! Multi-spin-coded (MSC) checkerboard Metropolis for the 2D Ising model
//! (`h = 0`, `J > 0`): 64 spins per `u64`, updated with bitwise logic.
//!
//! ## Packing (a sublattice scheme, one lattice, no replicas)
//! An `lx x ly` torus (`lx` a multiple of 32, `ly` a multiple of 128) is cut
//! into 64 horizontal strips of height `hs = ly / 64`. Word `(y', x)`,
//! `y' < hs`, holds the spins `(x, y' + k hs)` of the 64 strips: bit `k` is 1
//! for spin `-1`. Since `hs` is even, all 64 sites of a word have the same
//! checkerboard colour `(x + y') mod 2`; words are stored by colour,
//! `[colour][y' (lx/2) + x/2]`. Neighbours of a word are the words left and
//! right, above and below; across a strip edge (`y' = hs - 1` up, `y' = 0`
//! down) the neighbour word is rotated by one bit (the next strip).
//!
//! ## Update
//! With `a_i = S xor N_i` (antiparallel neighbours), sites with two or more
//! antiparallel neighbours (`dE <= 0`) always flip; sites with exactly one
//! (`dE = 4J`) flip iff `U < max(ceil(e^(-4J/T) 2^32), 1)`, with none
//! (`dE = 8J`) iff `U < max(ceil(e^(-8J/T) 2^32), 1)` (at least one word
//! accepts), exactly the rule and precision of the int8 checkerboard
//! Metropolis ([`super::ising`]).
//!
//! ## Random numbers: one independent 32-bit uniform per site visit
//! Each site's uniform `U` is generated bit-sliced, most significant bit first,
//! and only as far as needed: level `l` (bit `31 - l` of `U`) of the 64 sites
//! of word `q` is one 64-bit random word `R_l`, bit `k` for strip `k`. The
//! comparison stops as soon as every undecided site is decided (usually after
//! a few levels), but the value of every bit is fixed in advance: for
//! half-sweep `(sweep n, colour c)`, word `q = y' (lx/2) + x/2` and level pair
//! `g = l / 2`, Philox `(seed, Stream::IsingMultiSpin.with_sub(stream))` block
//! `(2 n + c) (Q / 16) 256 + (q / 16) 256 + 16 g + q mod 16` (with
//! `Q = lx ly / 128` words per colour) gives `R_{2g} = w0 | w1 << 32`,
//! `R_{2g+1} = w2 | w3 << 32`. So the sites' uniforms are independent (no
//! sharing between sites, strips or sweeps), and results are bitwise identical
//! for any thread count and any split of the sweeps.

use crate::error::{Error, ErrorKind, Result};
use crate::parallel::for_each_chunk_mut;
use crate::rng::philox::Philox;
use crate::rng::stream::Stream;

use super::ising::{
    check_series, check_temperature, record_observables, IsingObservables, IsingParams,
};

/// Words per random-number batch (one 16-block Philox call per level pair).
const BATCH: usize = 16;

/// A multi-spin-coded 2D Ising lattice (Metropolis, `h = 0`, `J > 0`).
#[derive(Clone, Debug)]
pub struct IsingMsc {
    lx: usize,
    ly: usize,
    /// Strip height `ly / 64`.
    hs: usize,
    /// Words per colour per row, `lx / 2`.
    wr: usize,
    /// `[colour 0 words | colour 1 words]`, each `hs * wr`.
    words: Vec<u64>,
    coupling: f64,
    temperature: f64,
    seed: u64,
    stream: u64,
    sweeps: u64,
    rows_per_task: usize,
}

/// Threshold `T = ceil(p 2^32)` (as u64, at least 1): `U < T` has probability
/// `T / 2^32`, the same as the int8 kernels' `w <= T - 1`.
fn msc_threshold(p: f64) -> u64 {
    u64::from(super::ising::acceptance_threshold(p)) + 1
}

/// Bit-sliced `U < T` for the sites in `care`, given random levels; returns
/// the mask of sites with `U < T`. `eq` holds the sites still equal to `T`'s
/// prefix.
#[inline(always)]
fn compare_level(threshold: u64, level: usize, r: u64, lt: &mut u64, eq: &mut u64) {
    if threshold >> (31 - level) & 1 == 1 {
        *lt |= *eq & !r;
        *eq &= r;
    } else {
        *eq &= !r;
    }
}

impl IsingMsc {
    /// Validates (dim 2, `lx % 32 == 0`, `ly % 128 == 0`, `h = 0`, `J > 0`,
    /// `T > 0`) and allocates the packed lattice.
    pub fn new(p: &IsingParams) -> Result<Self> {
        if p.dim != 2 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("dim = {}: multi-spin coding is 2D only", p.dim),
            ));
        }
        if p.lx == 0 || !p.lx.is_multiple_of(32) || p.ly == 0 || !p.ly.is_multiple_of(128) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "lattice {} x {}: multi-spin coding needs lx a multiple of 32 and ly a multiple of 128",
                    p.lx, p.ly
                ),
            ));
        }
        if p.lx.checked_mul(p.ly).is_none_or(|n| n > u32::MAX as usize) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                "more than 2^32 - 1 sites",
            ));
        }
        for (name, v) in [
            ("coupling", p.coupling),
            ("field", p.field),
            ("temperature", p.temperature),
        ] {
            if !v.is_finite() {
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("{name} = {v}: must be finite"),
                ));
            }
        }
        if p.field != 0.0 || p.coupling <= 0.0 || p.temperature <= 0.0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "multi-spin coding needs h = 0, J > 0, T > 0 (got h = {}, J = {}, T = {})",
                    p.field, p.coupling, p.temperature
                ),
            ));
        }
        let (hs, wr) = (p.ly / 64, p.lx / 2);
        let mut words = Vec::new();
        words.try_reserve_exact(2 * hs * wr).map_err(|_| {
            Error::new(ErrorKind::OutOfMemory, "cannot allocate the packed lattice")
        })?;
        words.resize(2 * hs * wr, 0u64);
        let mut lat = Self {
            lx: p.lx,
            ly: p.ly,
            hs,
            wr,
            words,
            coupling: p.coupling,
            temperature: p.temperature,
            seed: p.seed,
            stream: p.stream,
            sweeps: 0,
            rows_per_task: (2048 / wr).max(1),
        };
        if p.hot_start {
            // Same hot start as IsingLattice: site s is +1 iff the top bit of
            // word s mod 4 of block s / 4 of Stream::IsingHotStart is 0.
            let g = Philox::new(p.seed, Stream::IsingHotStart.with_sub(p.stream));
            for s in 0..p.lx * p.ly {
                if g.block(s as u64 / 4)[s % 4] >> 31 == 1 {
                    let (i, bit) = lat.locate(s % p.lx, s / p.lx);
                    lat.words[i] |= 1 << bit;
                }
            }
        }
        Ok(lat)
    }

    pub fn n_sites(&self) -> usize {
        self.lx * self.ly
    }

    pub fn sweeps_done(&self) -> u64 {
        self.sweeps
    }

    pub fn set_sweeps_done(&mut self, sweeps: u64) {
        self.sweeps = sweeps;
    }

    pub fn set_temperature(&mut self, t: f64) -> Result<()> {
        check_temperature(t)?;
        self.temperature = t;
        Ok(())
    }

    /// (word index, bit) of site `(x, y)`.
    #[inline]
    fn locate(&self, x: usize, y: usize) -> (usize, usize) {
        let (yp, k) = (y % self.hs, y / self.hs);
        let c = (x + yp) & 1;
        (c * self.hs * self.wr + yp * self.wr + x / 2, k)
    }

    /// Spins out, row-major int8 (`+1` / `-1`).
    pub fn spins_into(&self, out: &mut [i8]) -> Result<()> {
        self.check_len(out.len())?;
        for (s, o) in out.iter_mut().enumerate() {
            let (i, bit) = self.locate(s % self.lx, s / self.lx);
            *o = if self.words[i] >> bit & 1 == 1 { -1 } else { 1 };
        }
        Ok(())
    }

    /// Spins in, row-major int8, each `+1` or `-1`; unchanged on error.
    pub fn set_spins(&mut self, spins: &[i8]) -> Result<()> {
        self.check_len(spins.len())?;
        if let Some(i) = spins.iter().position(|&s| s != 1 && s != -1) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("spins[{i}] = {}: every spin must be +1 or -1", spins[i]),
            ));
        }
        self.words.iter_mut().for_each(|w| *w = 0);
        for (s, &v) in spins.iter().enumerate() {
            if v < 0 {
                let (i, bit) = self.locate(s % self.lx, s / self.lx);
                self.words[i] |= 1 << bit;
            }
        }
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len != self.n_sites() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "spins has {len} elements, the lattice has {} sites",
                    self.n_sites()
                ),
            ));
        }
        Ok(())
    }

    /// Exact energy and magnetisation (`bond_sum = 2N - 2 * antiparallel bonds`).
    pub fn observables(&self) -> IsingObservables {
        let (hs, wr) = (self.hs, self.wr);
        let half = hs * wr;
        let mut anti = 0u64;
        let mut down = 0u64;
        // Bonds to the right and upwards of every colour-0 word, plus those of
        // every colour-1 word: each bond counted once.
        for c in 0..2 {
            let (own, other) = if c == 0 {
                (&self.words[..half], &self.words[half..])
            } else {
                (&self.words[half..], &self.words[..half])
            };
            for yp in 0..hs {
                let o = (c + yp) & 1;
                let up_row = if yp + 1 == hs { 0 } else { yp + 1 };
                for j in 0..wr {
                    let s = own[yp * wr + j];
                    down += u64::from(s.count_ones());
                    // Right neighbour x + 1: half-index j (o = 0) or j + 1 (o = 1).
                    let jr = if o == 0 {
                        j
                    } else if j + 1 == wr {
                        0
                    } else {
                        j + 1
                    };
                    let right = other[yp * wr + jr];
                    let mut up = other[up_row * wr + j];
                    if yp + 1 == hs {
                        up = up.rotate_right(1);
                    }
                    anti += u64::from((s ^ right).count_ones() + (s ^ up).count_ones());
                }
            }
        }
        let n = self.n_sites() as i64;
        let bond_sum = 2 * n - 2 * anti as i64;
        let spin_sum = n - 2 * down as i64;
        IsingObservables {
            bond_sum,
            spin_sum,
            energy_per_spin: -self.coupling * bond_sum as f64 / n as f64,
            magnetisation_per_spin: spin_sum as f64 / n as f64,
        }
    }

    /// `n` checkerboard Metropolis sweeps; optional per-sweep observables as
    /// in `IsingLattice::sweep`. Allocates nothing; parallel over rows.
    pub fn sweep(&mut self, n: usize, energy: &mut [f64], magnetisation: &mut [f64]) -> Result<()> {
        check_series(n, energy, magnetisation, "sweeps")?;
        let per_sweep = (self.n_sites() / 4) as u64;
        if self
            .sweeps
            .checked_add(n as u64)
            .and_then(|s| s.checked_mul(per_sweep))
            .is_none()
        {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "sweep counter would pass the 64-bit Philox block counter",
            ));
        }
        let beta_j = self.coupling / self.temperature;
        let t1 = msc_threshold((-4.0 * beta_j).exp());
        let t2 = msc_threshold((-8.0 * beta_j).exp());
        for i in 0..n {
            for c in 0..2 {
                self.half_sweep(c, t1, t2);
            }
            self.sweeps += 1;
            record_observables(energy, magnetisation, i, || self.observables());
        }
        Ok(())
    }

    fn half_sweep(&mut self, c: usize, t1: u64, t2: u64) {
        let (hs, wr) = (self.hs, self.wr);
        let half = hs * wr;
        let philox = Philox::new(self.seed, Stream::IsingMultiSpin.with_sub(self.stream));
        let first_block = (2 * self.sweeps + c as u64) * (half / BATCH) as u64 * 256;
        let (c0, c1) = self.words.split_at_mut(half);
        let (own, other): (&mut [u64], &[u64]) = if c == 0 { (c0, &*c1) } else { (c1, &*c0) };
        let rows_per_task = self.rows_per_task;
        for_each_chunk_mut(own, rows_per_task * wr, &|task, part| {
            for (i, row) in part.chunks_exact_mut(wr).enumerate() {
                let yp = task * rows_per_task + i;
                msc_row(row, other, yp, c, hs, wr, t1, t2, &philox, first_block);
            }
        });
    }
}

/// Updates one row `y'` of colour `c` words, 16 words per random batch.
#[allow(clippy::too_many_arguments)]
#[inline]
fn msc_row(
    row: &mut [u64],
    other: &[u64],
    yp: usize,
    c: usize,
    hs: usize,
    wr: usize,
    t1: u64,
    t2: u64,
    philox: &Philox,
    first_block: u64,
) {
    let o = (c + yp) & 1;
    let same = &other[yp * wr..(yp + 1) * wr];
    let up_row = if yp + 1 == hs { 0 } else { yp + 1 };
    let down_row = if yp == 0 { hs - 1 } else { yp - 1 };
    let up = &other[up_row * wr..(up_row + 1) * wr];
    let down = &other[down_row * wr..(down_row + 1) * wr];
    let (rot_up, rot_down) = (yp + 1 == hs, yp == 0);
    for b in 0..wr / BATCH {
        let j0 = b * BATCH;
        let mut flip = [0u64; BATCH];
        let (mut lt1, mut eq1, mut lt2, mut eq2) =
            ([0u64; BATCH], [0u64; BATCH], [0u64; BATCH], [0u64; BATCH]);
        for l in 0..BATCH {
            let j = j0 + l;
            let s = row[j];
            let side = if o == 0 {
                if j == 0 {
                    wr - 1
                } else {
                    j - 1
                }
            } else if j + 1 == wr {
                0
            } else {
                j + 1
            };
            let nu = if rot_up { up[j].rotate_right(1) } else { up[j] };
            let nd = if rot_down {
                down[j].rotate_left(1)
            } else {
                down[j]
            };
            let (a1, a2, a3, a4) = (s ^ same[j], s ^ same[side], s ^ nu, s ^ nd);
            let ge2 = (a1 & a2) | (a3 & a4) | ((a1 ^ a2) & (a3 ^ a4));
            let any = a1 | a2 | a3 | a4;
            flip[l] = ge2;
            eq1[l] = any & !ge2;
            eq2[l] = !any;
        }
        // A threshold of 2^32 (p rounds to 1) accepts without random bits.
        for l in 0..BATCH {
            if t1 >> 32 != 0 {
                lt1[l] = eq1[l];
                eq1[l] = 0;
            }
            if t2 >> 32 != 0 {
                lt2[l] = eq2[l];
                eq2[l] = 0;
            }
        }
        // Word q = yp * wr + j0 + lane; its batch is q / 16 (j0 is a multiple of 16).
        let q0 = (yp * wr + j0) as u64;
        let base = first_block + (q0 / BATCH as u64) * 256;
        for g in 0..16 {
            let pending = eq1.iter().chain(&eq2).fold(0, |a, &e| a | e);
            if pending == 0 {
                break;
            }
            let w = philox.blocks16(base + 16 * g as u64);
            for l in 0..BATCH {
                let r0 = u64::from(w[0][l]) | u64::from(w[1][l]) << 32;
                let r1 = u64::from(w[2][l]) | u64::from(w[3][l]) << 32;
                compare_level(t1, 2 * g, r0, &mut lt1[l], &mut eq1[l]);
                compare_level(t2, 2 * g, r0, &mut lt2[l], &mut eq2[l]);
                compare_level(t1, 2 * g + 1, r1, &mut lt1[l], &mut eq1[l]);
                compare_level(t2, 2 * g + 1, r1, &mut lt2[l], &mut eq2[l]);
            }
        }
        for l in 0..BATCH {
            row[j0 + l] ^= flip[l] | lt1[l] | lt2[l];
        }
    }
}
