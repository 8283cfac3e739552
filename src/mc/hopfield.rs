//! Dense associative (Hebbian) networks with p-body interactions (Krotov &
//! Hopfield 2016; the pairwise Hopfield network is p = 2):
//! `E(s) = -(N / p) sum_mu m_mu^p`, `m_mu = (1/N) sum_i xi_i^mu s_i`,
//! neurons `s_i = +-1`, patterns `xi^mu` (`mu < K`). For p = 2 this is the
//! Hopfield energy with Hebbian couplings `J_ij = (1/N) sum_mu xi_i^mu xi_j^mu`
//! (self-couplings included, a constant). The couplings are never formed:
//! the network keeps the integer overlaps `M_mu = N m_mu`, so a flip of neuron
//! `i` costs O(K): `dE = -(N/p) sum_mu [((M_mu - 2 xi_i^mu s_i)/N)^p - (M_mu/N)^p]`
//! (for p = 2 exactly, in integers: `dE = (2/N) (s_i sum_mu xi_i^mu M_mu - K)`;
//! for p > 2 the bracket is summed exactly in i64 while `2 K N^p < 2^62`,
//! in i128 while `< 2^125`, in f64 beyond), so zero-temperature ties `dE = 0`
//! are decided exactly.
//!
//! Sweeps visit neurons in index order (asynchronous dynamics). At `T > 0` a
//! flip is accepted with the Glauber probability `1 / (1 + exp(dE / T))` or the
//! Metropolis probability `min(1, exp(-dE / T))`; at `T = 0` iff `dE < 0`.
//! Both leave the Boltzmann distribution invariant, but a fixed-order sweep
//! of Metropolis flips is not ergodic when many flips are accepted with
//! probability 1: those with `dE <= 0` at any T, and nearly all at T large
//! against the energy scale. A 9-neuron p = 3 network, where 22% of all
//! single flips cost exactly 0, visits 383 of its 512 states at T = 0.8 and
//! 384 at T = 2; prefer Glauber there (it accepts a zero-cost flip with
//! probability 1/2).
//! Neuron `i` in sweep `n` uses word `e mod 4` of block `e / 4`,
//! `e = n N + i`, of Philox `(seed, Stream::HopfieldGlauber.with_sub(stream))`
//! (accept iff `w <= threshold(p)`, as the Ising kernels), so runs split into
//! calls are bitwise identical to unsplit ones.
//!
//! Generated patterns: `xi_i^mu = +1` iff the top bit of word `e mod 4` of
//! block `e / 4`, `e = mu N + i`, of `(seed, Stream::HopfieldPatterns
//! .with_sub(stream))` is 0.

use super::ising::acceptance_threshold;
use crate::error::{Error, ErrorKind, Result};
use crate::rng::philox::Philox;
use crate::rng::stream::Stream;

/// Acceptance rule of a Hopfield sweep at `T > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HopfieldUpdate {
    Glauber,
    Metropolis,
}

/// Network parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HopfieldParams {
    /// Interaction order p >= 2.
    pub order: u32,
    pub n_neurons: usize,
    pub n_patterns: usize,
    /// `T >= 0` (0: zero-temperature dynamics).
    pub temperature: f64,
    pub update: HopfieldUpdate,
    pub seed: u64,
    pub stream: u64,
}

/// A dense Hopfield network: patterns (stored neuron-major, `[N][K]`), state,
/// integer overlaps and the sweep counter.
#[derive(Clone, Debug)]
pub struct Hopfield {
    p: HopfieldParams,
    /// `xi[i * K + mu]`.
    xi: Vec<i8>,
    state: Vec<i8>,
    /// `M_mu = sum_i xi_i^mu s_i`.
    overlap: Vec<i64>,
    sweeps: u64,
    /// Integer width in which flip costs are exact (p > 2).
    exact_bits: ExactBits,
}

/// Exact integer arithmetic available for `sum_mu (M_mu +- 2)^p - M_mu^p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExactBits {
    /// `2 K N^p < 2^62`.
    I64,
    /// `2 K N^p < 2^125`.
    I128,
    /// Too large: f64.
    None,
}

impl Hopfield {
    /// Validates and builds the network. `patterns` is `[K][N]` row-major
    /// (each `+-1`), or `None` to generate them from the seed. The state
    /// starts at pattern 0.
    pub fn new(p: &HopfieldParams, patterns: Option<&[i8]>) -> Result<Self> {
        if p.order < 2 || p.order > 64 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("order p = {}: must be in 2..=64", p.order),
            ));
        }
        if p.n_neurons == 0 || p.n_patterns == 0 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "n_neurons = {}, n_patterns = {}: both must be > 0",
                    p.n_neurons, p.n_patterns
                ),
            ));
        }
        let (n, k) = (p.n_neurons, p.n_patterns);
        let nk = n
            .checked_mul(k)
            .filter(|&v| v <= isize::MAX as usize / 8)
            .ok_or_else(|| {
                Error::new(ErrorKind::InvalidSize, "n_neurons * n_patterns too large")
            })?;
        check_temperature(p.temperature)?;
        if let Some(pat) = patterns {
            if pat.len() != nk {
                return Err(Error::new(
                    ErrorKind::InvalidSize,
                    format!(
                        "patterns has {} elements, need n_patterns * n_neurons = {nk}",
                        pat.len()
                    ),
                ));
            }
            if let Some(i) = pat.iter().position(|&v| v != 1 && v != -1) {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "patterns[{i}] = {} (pattern {}, neuron {}): must be +1 or -1",
                        pat[i],
                        i / n,
                        i % n
                    ),
                ));
            }
        }
        let mut xi = Vec::new();
        xi.try_reserve_exact(nk)
            .map_err(|_| Error::new(ErrorKind::OutOfMemory, "cannot allocate the patterns"))?;
        xi.resize(nk, 0i8);
        let g = Philox::new(p.seed, Stream::HopfieldPatterns.with_sub(p.stream));
        for mu in 0..k {
            for i in 0..n {
                xi[i * k + mu] = match patterns {
                    Some(pat) => pat[mu * n + i],
                    None => {
                        let e = (mu * n + i) as u64;
                        if g.block(e / 4)[(e % 4) as usize] >> 31 == 0 {
                            1
                        } else {
                            -1
                        }
                    }
                };
            }
        }
        let state: Vec<i8> = (0..n).map(|i| xi[i * k]).collect();
        let mut net = Self {
            p: *p,
            xi,
            state,
            overlap: vec![0; k],
            sweeps: 0,
            exact_bits: {
                let bits = f64::from(p.order) * (n as f64).log2() + (2.0 * k as f64).log2();
                if bits < 62.0 {
                    ExactBits::I64
                } else if bits < 125.0 {
                    ExactBits::I128
                } else {
                    ExactBits::None
                }
            },
        };
        net.recompute_overlaps();
        Ok(net)
    }

    fn recompute_overlaps(&mut self) {
        let k = self.p.n_patterns;
        self.overlap.iter_mut().for_each(|m| *m = 0);
        for (i, &s) in self.state.iter().enumerate() {
            for (m, &x) in self.overlap.iter_mut().zip(&self.xi[i * k..(i + 1) * k]) {
                *m += i64::from(x) * i64::from(s);
            }
        }
    }

    pub fn n_neurons(&self) -> usize {
        self.p.n_neurons
    }

    pub fn n_patterns(&self) -> usize {
        self.p.n_patterns
    }

    pub fn sweeps_done(&self) -> u64 {
        self.sweeps
    }

    pub fn set_sweeps_done(&mut self, s: u64) {
        self.sweeps = s;
    }

    pub fn set_temperature(&mut self, t: f64) -> Result<()> {
        check_temperature(t)?;
        self.p.temperature = t;
        Ok(())
    }

    /// Pattern `mu` (`[N]`, +-1).
    pub fn pattern_into(&self, mu: usize, out: &mut [i8]) -> Result<()> {
        let (n, k) = (self.p.n_neurons, self.p.n_patterns);
        if mu >= k || out.len() != n {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("pattern {mu} of {k} into {} elements (need {n})", out.len()),
            ));
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.xi[i * k + mu];
        }
        Ok(())
    }

    pub fn state(&self) -> &[i8] {
        &self.state
    }

    /// Replaces the state (each `+-1`, length N); unchanged on error.
    pub fn set_state(&mut self, s: &[i8]) -> Result<()> {
        if s.len() != self.p.n_neurons {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "state has {} elements, need n_neurons = {}",
                    s.len(),
                    self.p.n_neurons
                ),
            ));
        }
        if let Some(i) = s.iter().position(|&v| v != 1 && v != -1) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("state[{i}] = {}: must be +1 or -1", s[i]),
            ));
        }
        self.state.copy_from_slice(s);
        self.recompute_overlaps();
        Ok(())
    }

    /// Overlaps `m_mu = M_mu / N` (`out.len() == K`).
    pub fn overlaps_into(&self, out: &mut [f64]) -> Result<()> {
        if out.len() != self.p.n_patterns {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "overlaps has {} elements, need n_patterns = {}",
                    out.len(),
                    self.p.n_patterns
                ),
            ));
        }
        let n = self.p.n_neurons as f64;
        for (o, &m) in out.iter_mut().zip(&self.overlap) {
            *o = m as f64 / n;
        }
        Ok(())
    }

    /// `E = -(N/p) sum_mu m_mu^p`.
    pub fn energy(&self) -> f64 {
        let n = self.p.n_neurons as f64;
        let p = self.p.order as i32;
        -(n / f64::from(p))
            * self
                .overlap
                .iter()
                .map(|&m| (m as f64 / n).powi(p))
                .sum::<f64>()
    }

    /// Energy change of flipping neuron `i`.
    #[inline]
    fn flip_cost(&self, i: usize) -> f64 {
        let k = self.p.n_patterns;
        let n = self.p.n_neurons as f64;
        let p = self.p.order as i32;
        let s = i64::from(self.state[i]);
        let xi = &self.xi[i * k..(i + 1) * k];
        if p == 2 {
            // Exact: dE = (2/N) sum_mu xi_i^mu s_i M_mu - 2K/N.
            let dot: i64 = self
                .overlap
                .iter()
                .zip(xi)
                .map(|(&m, &x)| i64::from(x) * m)
                .sum();
            return (2 * (dot * s - k as i64)) as f64 / n;
        }
        match self.exact_bits {
            ExactBits::I64 => {
                // sum_mu [(M - 2 xi s)^p - M^p], exact in i64 (2 K N^p < 2^62).
                let ipow = |v: i64| (1..p).fold(v, |acc, _| acc * v);
                let sum: i64 = self
                    .overlap
                    .iter()
                    .zip(xi)
                    .map(|(&m, &x)| ipow(m - 2 * i64::from(x) * s) - ipow(m))
                    .sum();
                return -(sum as f64) / (f64::from(p) * n.powi(p - 1));
            }
            ExactBits::I128 => {
                let ipow = |v: i128| (1..p).fold(v, |acc, _| acc * v);
                let sum: i128 = self
                    .overlap
                    .iter()
                    .zip(xi)
                    .map(|(&m, &x)| {
                        ipow(i128::from(m - 2 * i64::from(x) * s)) - ipow(i128::from(m))
                    })
                    .sum();
                return -(sum as f64) / (f64::from(p) * n.powi(p - 1));
            }
            ExactBits::None => {}
        }
        let inv_n = 1.0 / n;
        let mut sum = 0.0;
        for (&m, &x) in self.overlap.iter().zip(xi) {
            let after = (m - 2 * i64::from(x) * s) as f64 * inv_n;
            sum += after.powi(p) - (m as f64 * inv_n).powi(p);
        }
        -(n / f64::from(p)) * sum
    }

    /// `n` sweeps; returns the number of accepted flips. Allocates nothing.
    pub fn sweep(&mut self, n_sweeps: usize) -> Result<u64> {
        let n = self.p.n_neurons as u64;
        if self
            .sweeps
            .checked_add(n_sweeps as u64)
            .and_then(|s| s.checked_mul(n))
            .is_none()
        {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "sweep counter would pass the 64-bit Philox counter",
            ));
        }
        let g = Philox::new(self.p.seed, Stream::HopfieldGlauber.with_sub(self.p.stream));
        let t = self.p.temperature;
        let k = self.p.n_patterns;
        let mut flips = 0u64;
        for _ in 0..n_sweeps {
            let first = self.sweeps * n;
            let mut block_id = u64::MAX;
            let mut words = [0u32; 4];
            for i in 0..self.p.n_neurons {
                let de = self.flip_cost(i);
                let accept = if t == 0.0 {
                    de < 0.0
                } else {
                    let e = first + i as u64;
                    if e / 4 != block_id {
                        block_id = e / 4;
                        words = g.block(block_id);
                    }
                    let prob = match self.p.update {
                        HopfieldUpdate::Glauber => 1.0 / (1.0 + (de / t).exp()),
                        HopfieldUpdate::Metropolis => (-de / t).exp().min(1.0),
                    };
                    words[(e % 4) as usize] <= acceptance_threshold(prob)
                };
                if accept {
                    let s = i64::from(self.state[i]);
                    for (m, &x) in self.overlap.iter_mut().zip(&self.xi[i * k..(i + 1) * k]) {
                        *m -= 2 * i64::from(x) * s;
                    }
                    self.state[i] = -self.state[i];
                    flips += 1;
                }
            }
            self.sweeps += 1;
        }
        Ok(flips)
    }
}

fn check_temperature(t: f64) -> Result<()> {
    if !t.is_finite() {
        return Err(Error::new(
            ErrorKind::NonFinite,
            format!("temperature = {t}: must be finite"),
        ));
    }
    if t < 0.0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("temperature = {t}: must be >= 0 (0: zero-temperature dynamics)"),
        ));
    }
    Ok(())
}
