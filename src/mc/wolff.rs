//! Wolff single-cluster update (Wolff 1989, PRL 62, 361) on an
//! [`super::ising::IsingLattice`].
//!
//! One update: pick a uniform seed site, grow the cluster of parallel spins by
//! adding each aligned neighbour bond with probability
//! `p_add = 1 - exp(-2 J / T)` (`J >= 0`), and flip it. With a field `h != 0`
//! the flip is then accepted with probability `min(1, exp(-2 h s0 |C| / T))`
//! (`s0` the cluster's spin, `|C|` its size) and undone otherwise, which keeps
//! detailed balance for the field term; with `h = 0` no acceptance number is
//! drawn.
//!
//! Random numbers come from a sequential PCG64 stream ([`SeqRng`]) keyed by
//! `(seed, Stream::IsingWolff.with_sub(stream))` and kept in the lattice; its
//! state can be saved and restored, so a checkpointed run resumes bitwise.
//! Per update: one `below(N)` for the seed (row-major site index), one 32-bit
//! word per bond test (`w <= threshold(p_add)` adds, as in the single-spin
//! updates), and with `h != 0` one `next_f64` for the acceptance.
//! The cluster queue (`N` site indices) is allocated at creation, so updates
//! never allocate.

use super::ising::{acceptance_threshold, check_series, record_observables, IsingLattice};
use crate::error::{Error, ErrorKind, Result};
use crate::rng::pcg::{SeqRng, SeqRngState};
use crate::rng::stream::Stream;

/// The Wolff update's random stream and cluster queue.
#[derive(Clone, Debug)]
pub struct WolffState {
    rng: SeqRng,
    cluster: Vec<u32>,
}

impl WolffState {
    pub(crate) fn new(n: usize, seed: u64, stream: u64) -> Result<Self> {
        let mut cluster = Vec::new();
        cluster.try_reserve_exact(n).map_err(|_| {
            Error::new(
                ErrorKind::OutOfMemory,
                format!("cannot allocate the Wolff cluster queue ({n} sites)"),
            )
        })?;
        Ok(Self {
            rng: SeqRng::new(seed, Stream::IsingWolff.with_sub(stream)),
            cluster,
        })
    }
}

impl IsingLattice {
    /// Runs `n` Wolff cluster updates; returns the number of spins flipped.
    /// `energy` / `magnetisation`, when non-empty, must hold `n` elements and
    /// receive the energy and magnetisation per spin after each update.
    /// Requires `J >= 0`. Allocates nothing; on error nothing changed.
    pub fn wolff(
        &mut self,
        n: usize,
        energy: &mut [f64],
        magnetisation: &mut [f64],
    ) -> Result<u64> {
        check_series(n, energy, magnetisation, "cluster updates")?;
        if self.coupling < 0.0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "coupling = {}: the Wolff update needs a ferromagnetic coupling (J >= 0)",
                    self.coupling
                ),
            ));
        }
        let p_add = 1.0 - (-2.0 * self.coupling / self.temperature).exp();
        let threshold = if p_add > 0.0 {
            Some(acceptance_threshold(p_add))
        } else {
            None
        };
        let mut flipped = 0u64;
        for i in 0..n {
            flipped += self.wolff_cluster(threshold) as u64;
            record_observables(energy, magnetisation, i, || self.observables());
        }
        Ok(flipped)
    }

    /// One cluster update; returns how many spins it flipped.
    fn wolff_cluster(&mut self, threshold: Option<u32>) -> usize {
        let field = self.field;
        let temperature = self.temperature;
        let geom = self.geom;
        let two_d = 2 * geom.dim;
        let WolffState { rng, cluster } = &mut self.wolff;
        let spins = &mut self.spins;
        let seed = rng.below(geom.n as u64) as usize;
        let (x, y, z) = geom.coords(seed);
        let start = geom.index(x, y, z);
        let s0 = spins[start];
        spins[start] = -s0;
        cluster.clear();
        cluster.push(start as u32);
        if let Some(threshold) = threshold {
            let mut head = 0;
            while head < cluster.len() {
                let site = cluster[head] as usize;
                head += 1;
                for &j in &geom.neighbours_of_storage(site)[..two_d] {
                    if spins[j] == s0 && rng.next_u32() <= threshold {
                        spins[j] = -s0;
                        cluster.push(j as u32);
                    }
                }
            }
        }
        if field != 0.0 {
            let size = cluster.len() as f64;
            let p = (-2.0 * field * f64::from(s0) * size / temperature).exp();
            if p < 1.0 && rng.next_f64() >= p {
                for &site in cluster.iter() {
                    spins[site as usize] = s0;
                }
                return 0;
            }
        }
        cluster.len()
    }

    /// The Wolff stream's state as four words (state lo, state hi, increment
    /// lo, increment hi).
    pub fn wolff_rng_state(&self) -> [u64; 4] {
        self.wolff.rng.save().to_words()
    }

    /// Restores a state saved by [`Self::wolff_rng_state`].
    pub fn set_wolff_rng_state(&mut self, words: [u64; 4]) {
        self.wolff.rng = SeqRng::restore(SeqRngState::from_words(words));
    }
}
