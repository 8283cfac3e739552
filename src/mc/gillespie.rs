//! Markov jump processes on a finite state space, simulated exactly by the
//! Gillespie (1977) direct method and observed on a time grid.
//!
//! The process is given by its rate matrix `Q` (`n x n`, row-major): `Q_ij >= 0`
//! is the rate of jumps `i -> j` (`i != j`, in inverse time units) and each row
//! sums to zero, `Q_ii = -sum_{j != i} Q_ij`. In state `i` the walker waits an
//! exponential time of rate `q_i = sum_{j != i} Q_ij`, then jumps to `j` with
//! probability `Q_ij / q_i`; `p(t) = p(0) exp(t Q)`.
//!
//! A [`GillespieBatch`] holds `m` independent trajectories. Trajectory `k`
//! draws its `j`-th jump from Philox block `k * 2^36 + j` of the stream
//! `Stream::Gillespie.with_sub(stream)` (word pair 0-1: the waiting time
//! `-ln u / q_i`; pair 2-3: the destination; `j < 2^36` since the last
//! `set_states`, after which the sequence would repeat), so trajectories are independent
//! of how they are split over threads, and a run continued across calls is
//! bitwise identical to one call over the whole grid. Optional Gaussian
//! observation noise for trajectory `k`'s `o`-th observation comes from block
//! `k * 2^36 + o / 2` of `Stream::GillespieNoise.with_sub(stream)` (Box-Muller,
//! cosine branch for even `o`, sine for odd).

use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};
use crate::parallel::for_each_chunk_mut;
use crate::rng::philox::Philox;
use crate::rng::stream::Stream;
use crate::rng::uniform::u01_f64;

/// Trajectories per parallel task (a problem constant, not a thread count).
pub const TASK_TRAJECTORIES: usize = 256;

/// Largest number of trajectories (trajectory index in the top 28 bits of the
/// Philox block counter).
pub const MAX_TRAJECTORIES: usize = 1 << 28;

/// Jumps (Philox blocks) available to one trajectory.
const BLOCKS_PER_TRAJECTORY: u64 = 1 << 36;

/// A validated rate matrix with its per-row exit rates.
#[derive(Clone, Debug)]
pub struct RateMatrix {
    n: usize,
    /// `q_i`, the total rate out of state `i`.
    exit: Vec<f64>,
    /// Row-major cumulative off-diagonal rates: `cum[i*n + j] = sum_{l <= j, l != i} Q_il`.
    cum: Vec<f64>,
}

impl RateMatrix {
    /// Validates `q` (`n x n`, row-major): all entries finite, off-diagonals
    /// `>= 0`, every row summing to 0 within `tolerance` times the row's
    /// largest magnitude.
    pub fn new(q: &[f64], n: usize, tolerance: f64) -> Result<Self> {
        if n == 0 || n > u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("n_states = {n} must be in 1..=2^32-1"),
            ));
        }
        if n.checked_mul(n) != Some(q.len()) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "rate matrix has {} entries, n_states^2 = {n}^2 needed",
                    q.len()
                ),
            ));
        }
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("row-sum tolerance = {tolerance} must be finite and >= 0"),
            ));
        }
        if let Some(k) = q.iter().position(|x| !x.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("rates[{k}] (row {}, column {}) = {}", k / n, k % n, q[k]),
            ));
        }
        let mut exit = vec![0.0; n];
        let mut cum = vec![0.0; n * n];
        for i in 0..n {
            let row = &q[i * n..(i + 1) * n];
            let mut sum = 0.0;
            let mut scale = row[i].abs();
            for (j, &r) in row.iter().enumerate() {
                if j != i {
                    if r < 0.0 {
                        return Err(Error::new(
                            ErrorKind::OutOfRange,
                            format!(
                                "rates[{}] = Q[{i}][{j}] = {r} is a negative off-diagonal rate",
                                i * n + j
                            ),
                        ));
                    }
                    sum += r;
                    scale = scale.max(r);
                }
                cum[i * n + j] = sum;
            }
            let row_sum = sum + row[i];
            if row_sum.abs() > tolerance * scale {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "row {i} of the rate matrix sums to {row_sum:e}, not 0 (tolerance {tolerance:e} x {scale:e}); Q[{i}][{i}] must be -{sum:e}"
                    ),
                ));
            }
            exit[i] = sum;
        }
        Ok(Self { n, exit, cum })
    }

    pub fn states(&self) -> usize {
        self.n
    }

    /// Total rate out of state `i`.
    pub fn exit_rate(&self, i: usize) -> f64 {
        self.exit[i]
    }

    /// Destination of a jump out of `i` for `u` uniform in (0, 1).
    #[inline]
    fn destination(&self, i: usize, u: f64) -> usize {
        let row = &self.cum[i * self.n..(i + 1) * self.n];
        let target = u * self.exit[i];
        // The first j with cum[j] > target has positive width, so it is never
        // `i` (cum[i] = cum[i-1]) nor a zero rate. Linear for small chains,
        // binary search for large ones.
        let j = if self.n <= 16 {
            row.iter().position(|&c| c > target).unwrap_or(self.n)
        } else {
            row.partition_point(|&c| c <= target)
        };
        if j < self.n {
            return j;
        }
        // Round-off put target at or past the row total: take the last
        // destination with positive width.
        (0..self.n)
            .rev()
            .find(|&j| row[j] > if j == 0 { 0.0 } else { row[j - 1] })
            .unwrap_or(i)
    }
}

/// One trajectory's state between calls.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Walker {
    state: u32,
    /// State entered at `next_jump`.
    pending: u32,
    /// Absolute time of the next jump (`+inf` in an absorbing state).
    next_jump: f64,
    /// Philox blocks used so far.
    draws: u64,
}

/// A batch of independent trajectories of one Markov jump process.
#[derive(Debug)]
pub struct GillespieBatch {
    rates: RateMatrix,
    seed: u64,
    stream: u64,
    time: f64,
    observations_made: u64,
    /// Walkers grouped by parallel task (one lock per task, never contended:
    /// each task locks only its own group).
    groups: Vec<Mutex<Vec<Walker>>>,
    trajectories: usize,
    /// Value observed in each state (default: the state index).
    observable: Vec<f64>,
    noise_sd: f64,
}

impl GillespieBatch {
    /// `trajectories` walkers, all in state 0 at time 0.
    pub fn new(rates: RateMatrix, trajectories: usize, seed: u64, stream: u64) -> Result<Self> {
        if trajectories == 0 || trajectories > MAX_TRAJECTORIES {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("trajectories = {trajectories} must be in 1..={MAX_TRAJECTORIES}"),
            ));
        }
        let groups = (0..trajectories.div_ceil(TASK_TRAJECTORIES))
            .map(|g| {
                let len = (trajectories - g * TASK_TRAJECTORIES).min(TASK_TRAJECTORIES);
                Mutex::new(vec![Walker::default(); len])
            })
            .collect();
        let observable = (0..rates.states()).map(|i| i as f64).collect();
        let mut b = Self {
            rates,
            seed,
            stream: stream & ((1 << 48) - 1),
            time: 0.0,
            observations_made: 0,
            groups,
            trajectories,
            observable,
            noise_sd: 0.0,
        };
        let zeros = vec![0u32; trajectories];
        b.set_states(&zeros, 0.0)?;
        Ok(b)
    }

    pub fn trajectories(&self) -> usize {
        self.trajectories
    }

    pub fn states(&self) -> usize {
        self.rates.states()
    }

    /// Time of the last observation (or of the last `set_states`).
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Restarts every trajectory at `time` in `initial[k]`, with fresh jump
    /// counters (the random sequence starts over).
    pub fn set_states(&mut self, initial: &[u32], time: f64) -> Result<()> {
        if initial.len() != self.trajectories {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "initial states: {} given, {} trajectories",
                    initial.len(),
                    self.trajectories
                ),
            ));
        }
        if !time.is_finite() {
            return Err(Error::new(ErrorKind::NonFinite, format!("time = {time}")));
        }
        if let Some(k) = initial.iter().position(|&s| s as usize >= self.states()) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "initial[{k}] = {} is not a state (n_states = {})",
                    initial[k],
                    self.states()
                ),
            ));
        }
        let g = self.jump_rng();
        for (gi, group) in self.groups.iter_mut().enumerate() {
            let walkers = group.get_mut().unwrap_or_else(|p| p.into_inner());
            for (w_i, w) in walkers.iter_mut().enumerate() {
                let k = (gi * TASK_TRAJECTORIES + w_i) as u64;
                *w = Walker {
                    state: initial[k as usize],
                    ..Walker::default()
                };
                draw_jump(&self.rates, &g, k, w, time);
            }
        }
        self.time = time;
        self.observations_made = 0;
        Ok(())
    }

    /// Value reported for each state in observations (`values.len() == n`).
    pub fn set_observable(&mut self, values: &[f64]) -> Result<()> {
        if values.len() != self.states() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "observable has {} values, n_states = {}",
                    values.len(),
                    self.states()
                ),
            ));
        }
        if let Some(k) = values.iter().position(|x| !x.is_finite()) {
            return Err(Error::new(
                ErrorKind::NonFinite,
                format!("observable[{k}] = {}", values[k]),
            ));
        }
        self.observable.copy_from_slice(values);
        Ok(())
    }

    /// Standard deviation of the Gaussian noise added to observations (0: none).
    pub fn set_noise(&mut self, sd: f64) -> Result<()> {
        if !sd.is_finite() {
            return Err(Error::new(ErrorKind::NonFinite, format!("noise sd = {sd}")));
        }
        if sd < 0.0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("noise sd = {sd} must be >= 0"),
            ));
        }
        self.noise_sd = sd;
        Ok(())
    }

    fn jump_rng(&self) -> Philox {
        Philox::new(self.seed, Stream::Gillespie.with_sub(self.stream))
    }

    /// Checks a time grid: finite, non-decreasing, not before the current time.
    pub fn check_times(&self, times: &[f64]) -> Result<()> {
        let mut prev = self.time;
        for (m, &t) in times.iter().enumerate() {
            if !t.is_finite() {
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("times[{m}] = {t}"),
                ));
            }
            if t < prev {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("times[{m}] = {t} is before {prev} (the grid must not decrease and must start at or after the current time)"),
                ));
            }
            prev = t;
        }
        Ok(())
    }

    /// Advances every trajectory through `times` and writes the state of
    /// trajectory `k` at `times[m]` to `states[k * times.len() + m]`, and, if
    /// `observations` is given (same layout), `observable[state] + sd * N(0,1)`.
    /// Parallel over trajectories; bitwise identical for any thread count;
    /// allocates nothing.
    pub fn run(
        &mut self,
        times: &[f64],
        states: &mut [u32],
        observations: Option<&mut [f64]>,
    ) -> Result<()> {
        self.check_times(times)?;
        let nt = times.len();
        let want = self.trajectories * nt;
        if states.len() != want || observations.as_ref().is_some_and(|o| o.len() != want) {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "outputs must hold trajectories x times = {} x {nt} = {want} elements (states: {}, observations: {:?})",
                    self.trajectories,
                    states.len(),
                    observations.as_ref().map(|o| o.len())
                ),
            ));
        }
        if nt == 0 {
            return Ok(());
        }
        let rates = &self.rates;
        let groups = &self.groups;
        let g = self.jump_rng();
        for_each_chunk_mut(states, TASK_TRAJECTORIES * nt, &|c, out| {
            let mut walkers = groups[c].lock().unwrap_or_else(|p| p.into_inner());
            for (w_i, (w, row)) in walkers.iter_mut().zip(out.chunks_exact_mut(nt)).enumerate() {
                let k = (c * TASK_TRAJECTORIES + w_i) as u64;
                for (slot, &t) in row.iter_mut().zip(times) {
                    while w.next_jump <= t {
                        let at = w.next_jump;
                        w.state = w.pending;
                        draw_jump(rates, &g, k, w, at);
                    }
                    *slot = w.state;
                }
            }
        });
        if let Some(obs) = observations {
            let noise = Philox::new(self.seed, Stream::GillespieNoise.with_sub(self.stream));
            let (sd, first, values, states) = (
                self.noise_sd,
                self.observations_made,
                &self.observable,
                &*states,
            );
            for_each_chunk_mut(obs, TASK_TRAJECTORIES * nt, &|c, out| {
                for (r, row) in out.chunks_exact_mut(nt).enumerate() {
                    let k = (c * TASK_TRAJECTORIES + r) as u64;
                    let base = (c * TASK_TRAJECTORIES + r) * nt;
                    for (m, slot) in row.iter_mut().enumerate() {
                        let v = values[states[base + m] as usize];
                        *slot = if sd > 0.0 {
                            v + sd * observation_normal(&noise, k, first + m as u64)
                        } else {
                            v
                        };
                    }
                }
            });
        }
        self.time = times[nt - 1];
        self.observations_made += nt as u64;
        Ok(())
    }

    /// Current state of every trajectory.
    pub fn current_states(&self, out: &mut [u32]) -> Result<()> {
        if out.len() != self.trajectories {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "states: {} given, {} trajectories",
                    out.len(),
                    self.trajectories
                ),
            ));
        }
        for (gi, group) in self.groups.iter().enumerate() {
            let walkers = group.lock().unwrap_or_else(|p| p.into_inner());
            for (i, w) in walkers.iter().enumerate() {
                out[gi * TASK_TRAJECTORIES + i] = w.state;
            }
        }
        Ok(())
    }

    /// Total jumps made by all trajectories since the last `set_states`.
    pub fn total_jumps(&self) -> u64 {
        self.groups
            .iter()
            .map(|g| {
                let w = g.lock().unwrap_or_else(|p| p.into_inner());
                w.iter().map(|w| w.draws - 1).sum::<u64>()
            })
            .sum()
    }
}

/// Draws the waiting time and destination of the walker's next jump out of
/// its current state, entered at time `now`.
#[inline]
fn draw_jump(rates: &RateMatrix, g: &Philox, k: u64, w: &mut Walker, now: f64) {
    let i = w.state as usize;
    let q = rates.exit_rate(i);
    let b = g.block(k * BLOCKS_PER_TRAJECTORY + (w.draws & (BLOCKS_PER_TRAJECTORY - 1)));
    w.draws += 1;
    if q > 0.0 {
        w.next_jump = now - u01_f64(b[0], b[1]).ln() / q;
        w.pending = rates.destination(i, u01_f64(b[2], b[3])) as u32;
    } else {
        w.next_jump = f64::INFINITY;
        w.pending = w.state;
    }
}

/// Standard normal number `o` of trajectory `k` (Box-Muller, as the fills).
#[inline]
fn observation_normal(g: &Philox, k: u64, o: u64) -> f64 {
    let b = g.block(k * BLOCKS_PER_TRAJECTORY + ((o / 2) & (BLOCKS_PER_TRAJECTORY - 1)));
    let u1 = u01_f64(b[0], b[1]);
    let u2 = u01_f64(b[2], b[3]);
    let r = (-2.0 * u1.ln()).sqrt();
    let phi = std::f64::consts::TAU * (u2 - 0.5);
    if o.is_multiple_of(2) {
        r * phi.cos()
    } else {
        r * phi.sin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_never_picks_the_current_state_or_a_zero_rate() {
        // Row 1 has rates only to 0 and 3.
        let q = [
            -1.0, 1.0, 0.0, 0.0, //
            2.0, -5.0, 0.0, 3.0, //
            0.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 1.0, -1.0,
        ];
        let r = RateMatrix::new(&q, 4, 1e-12).unwrap();
        for k in 0..1000 {
            let u = (k as f64 + 0.5) / 1000.0;
            let j = r.destination(1, u);
            assert!(j == 0 || j == 3, "u = {u}: {j}");
            assert_eq!(j == 0, u < 0.4, "u = {u}");
        }
        assert_eq!(r.destination(1, 1.0 - 1e-17), 3);
        assert_eq!(r.destination(0, 0.999), 1);
    }

    #[test]
    fn bad_rate_matrices_are_rejected_with_their_class() {
        let ok = [-1.0, 1.0, 2.0, -2.0];
        assert!(RateMatrix::new(&ok, 2, 1e-12).is_ok());
        let neg = [1.0, -1.0, 2.0, -2.0];
        assert_eq!(
            RateMatrix::new(&neg, 2, 1e-12).unwrap_err().kind,
            ErrorKind::OutOfRange
        );
        let sum = [-1.0, 1.5, 2.0, -2.0];
        assert_eq!(
            RateMatrix::new(&sum, 2, 1e-12).unwrap_err().kind,
            ErrorKind::OutOfRange
        );
        let nan = [-1.0, 1.0, f64::NAN, -2.0];
        assert_eq!(
            RateMatrix::new(&nan, 2, 1e-12).unwrap_err().kind,
            ErrorKind::NonFinite
        );
        assert_eq!(
            RateMatrix::new(&ok, 3, 1e-12).unwrap_err().kind,
            ErrorKind::InvalidSize
        );
    }
}
