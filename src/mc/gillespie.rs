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
//! `Stream::Gillespie.with_sub(stream)` (`j < 2^36` since the last
//! `set_states`, after which the sequence would repeat): word pair 0-1 gives
//! `u1` and the waiting time `-ln(u1) / q_i`; pair 2-3 gives `u2` and the
//! destination by Walker's alias method (Walker, ACM TOMS 3, 253 (1977);
//! Vose's construction): column `c = floor(n u2)`, destination `c` if
//! `n u2 - c < prob[i][c]`, else `alias[i][c]`. Trajectories are independent
//! of how they are split over threads, and a run continued across calls is
//! bitwise identical to one call over the whole grid. The state observed at
//! grid time `t` includes every jump at a time `<= t` (a jump computed to
//! land exactly on `t` counts; with rates so large that `-ln(u1) / q_i` is
//! below half an ulp of the current time, a jump lands on the current time).
//!
//! Eight trajectories advance in lockstep, one per SIMD lane (Philox rounds
//! and the logarithm in vector form, the same elementwise function in every
//! lane); a lane whose trajectory has passed the last observation time takes
//! the next trajectory of its task, so lanes stay busy. Optional Gaussian
//! observation noise for trajectory `k`'s `o`-th observation comes from block
//! `k * 2^36 + o / 2` of `Stream::GillespieNoise.with_sub(stream)` (Box-Muller,
//! cosine branch for even `o`, sine for odd).

use std::sync::Mutex;

use crate::error::{Error, ErrorKind, Result};
use crate::parallel::for_each_chunk_mut;
use crate::rng::normal::box_muller;
use crate::rng::philox::Philox;
use crate::rng::stream::Stream;
use crate::rng::uniform::u01_f64x8;
use crate::simd::f64x8;

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
    /// Alias tables, row-major: column `c` of row `i` is kept with
    /// probability `prob[i*n + c]`, else replaced by `alias[i*n + c]`.
    prob: Vec<f64>,
    alias: Vec<u32>,
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
        let mut prob = vec![0.0; n * n];
        let mut alias = vec![0u32; n * n];
        for i in 0..n {
            let row = i * n..(i + 1) * n;
            build_alias_row(
                &q[row.clone()],
                i,
                exit[i],
                &mut prob[row.clone()],
                &mut alias[row],
            );
        }
        Ok(Self {
            n,
            exit,
            prob,
            alias,
        })
    }

    pub fn states(&self) -> usize {
        self.n
    }

    /// Total rate out of state `i`.
    pub fn exit_rate(&self, i: usize) -> f64 {
        self.exit[i]
    }
}

/// Vose's alias table for row `i` (rates `q_row`, total `exit`): column `c`
/// carries weight `n Q_ic / exit` (0 for `c = i`); each small column is
/// topped up from a large one. Columns left at the end (weight 1 up to
/// round-off) keep themselves; a zero-rate column is never a destination.
/// An absorbing row (`exit = 0`) maps every column to `i`.
fn build_alias_row(q_row: &[f64], i: usize, exit: f64, prob: &mut [f64], alias: &mut [u32]) {
    let n = q_row.len();
    if exit == 0.0 {
        prob.fill(0.0);
        alias.fill(i as u32);
        return;
    }
    let mut weight: Vec<f64> = (0..n)
        .map(|c| {
            if c == i {
                0.0
            } else {
                q_row[c] * n as f64 / exit
            }
        })
        .collect();
    let mut small: Vec<usize> = (0..n).filter(|&c| weight[c] < 1.0).collect();
    let mut large: Vec<usize> = (0..n).filter(|&c| weight[c] >= 1.0).collect();
    while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
        small.pop();
        large.pop();
        prob[s] = weight[s];
        alias[s] = l as u32;
        weight[l] = (weight[l] + weight[s]) - 1.0;
        if weight[l] < 1.0 {
            small.push(l);
        } else {
            large.push(l);
        }
    }
    let heaviest = (0..n)
        .max_by(|&a, &b| q_row_rate(q_row, i, a).total_cmp(&q_row_rate(q_row, i, b)))
        .unwrap_or(i);
    for c in small.into_iter().chain(large) {
        if q_row_rate(q_row, i, c) > 0.0 {
            prob[c] = 1.0;
            alias[c] = c as u32;
        } else {
            prob[c] = 0.0;
            alias[c] = heaviest as u32;
        }
    }
}

/// Off-diagonal rate `Q_ic` (0 on the diagonal).
fn q_row_rate(q_row: &[f64], i: usize, c: usize) -> f64 {
    if c == i {
        0.0
    } else {
        q_row[c]
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
            for (c, chunk) in walkers.chunks_mut(LANES).enumerate() {
                let first = gi * TASK_TRAJECTORIES + c * LANES;
                for (l, w) in chunk.iter_mut().enumerate() {
                    *w = Walker {
                        state: initial[first + l],
                        next_jump: time,
                        ..Walker::default()
                    };
                }
                draw_first_jumps(&self.rates, &g, first, chunk);
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
            advance_task(rates, &g, c * TASK_TRAJECTORIES, &mut walkers, times, out);
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
                        *slot = values[states[base + m] as usize];
                    }
                    if sd > 0.0 {
                        add_observation_noise(&noise, k, first, sd, row);
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

/// Trajectories advanced in lockstep, one per SIMD lane.
const LANES: usize = 8;

/// The random part of one jump per lane, from Philox blocks at `counters`:
/// the unit exponential `e = -ln u1` (the waiting time is `e / q_i`) and
/// `x = n u2` (the alias column and coin). `e` is kept at least the
/// smallest normal double, so an absorbing state's wait `e / 0` is `+inf`
/// even if `ln u1` rounded to 0 (it does not for `u1 <= 1 - 2^-53`).
#[inline]
fn jump_randoms(g: &Philox, counters: [u64; LANES], n: usize) -> (f64x8, f64x8) {
    let w = g.blocks8_at(counters);
    let (u1, u2) = (u01_f64x8(w[0], w[1]), u01_f64x8(w[2], w[3]));
    let e = (-u1.ln()).max(f64x8::splat(f64::MIN_POSITIVE));
    (e, u2 * f64x8::splat(n as f64))
}

/// Block counter of draw `draw` of trajectory `k`.
#[inline]
fn jump_counter(k: u64, draw: u64) -> u64 {
    k * BLOCKS_PER_TRAJECTORY + (draw & (BLOCKS_PER_TRAJECTORY - 1))
}

/// Per lane, the jump out of `state` entered at time `entered`, from the
/// randoms `(e, x)` of [`jump_randoms`]: returns `(next_jump, destination)`,
/// `next_jump = entered + e / q_i`. An absorbing state (`q_i = 0`) gets
/// `next_jump = +inf` and the destination `i` (its alias row).
#[inline]
fn jumps_from(
    rates: &RateMatrix,
    state: &[u32; LANES],
    entered: f64x8,
    e: f64x8,
    x: f64x8,
) -> (f64x8, [u32; LANES]) {
    let n = rates.n;
    let mut q = [0.0; LANES];
    for l in 0..LANES {
        q[l] = rates.exit[state[l] as usize];
    }
    let next = entered + e / f64x8::new(q);
    // Alias method (module doc): column floor(x), kept if the fractional
    // part is below prob, else its alias; x = n (rounded up) is clamped to
    // the last column, whose coin then always takes the alias.
    let column = x.floor().min(f64x8::splat((n - 1) as f64));
    let frac = (x - column).to_array();
    let column = column.trunc_int().to_array();
    let mut destination = [0u32; LANES];
    for l in 0..LANES {
        let at = state[l] as usize * n + column[l] as usize;
        // Branch-free (the coin is random): `frac - prob` is negative, sign
        // bit set, exactly when `frac < prob`; equal values give +0.
        let keep = 0u32.wrapping_sub(((frac[l] - rates.prob[at]).to_bits() >> 63) as u32);
        let alias = rates.alias[at];
        destination[l] = alias ^ ((column[l] as u32 ^ alias) & keep);
    }
    (next, destination)
}

/// Draws the first jump of up to eight walkers `ws` (state and entry time
/// set, `draws = 0`), global indices from `first`.
fn draw_first_jumps(rates: &RateMatrix, g: &Philox, first: usize, ws: &mut [Walker]) {
    let mut lanes = Lanes::default();
    for (l, w) in ws.iter().enumerate() {
        lanes.load(l, w, (first + l) as u64);
    }
    lanes.jump(rates, g);
    for (l, w) in ws.iter_mut().enumerate() {
        lanes.store(l, w);
    }
}

/// Eight walkers in lane form.
#[derive(Clone, Copy, Debug, Default)]
struct Lanes {
    /// Global trajectory index.
    k: [u64; LANES],
    state: [u32; LANES],
    pending: [u32; LANES],
    /// Time of the next jump; [`Lanes::jump`] reads it as the time the
    /// current state was entered.
    next_jump: [f64; LANES],
    draws: [u64; LANES],
}

impl Lanes {
    #[inline]
    fn load(&mut self, l: usize, w: &Walker, k: u64) {
        self.k[l] = k;
        self.state[l] = w.state;
        self.pending[l] = w.pending;
        self.next_jump[l] = w.next_jump;
        self.draws[l] = w.draws;
    }

    #[inline]
    fn store(&self, l: usize, w: &mut Walker) {
        *w = Walker {
            state: self.state[l],
            pending: self.pending[l],
            next_jump: self.next_jump[l],
            draws: self.draws[l],
        };
    }

    /// In every lane: the next jump out of `state`, entered at time
    /// `next_jump`, from the trajectory's next Philox block.
    #[inline]
    fn jump(&mut self, rates: &RateMatrix, g: &Philox) {
        let counters = core::array::from_fn(|l| jump_counter(self.k[l], self.draws[l]));
        let (e, x) = jump_randoms(g, counters, rates.n);
        let (next, destination) = jumps_from(rates, &self.state, f64x8::new(self.next_jump), e, x);
        self.next_jump = next.to_array();
        self.pending = destination;
        for d in &mut self.draws {
            *d += 1;
        }
    }
}

/// Advances the walkers of one task (global indices from `first`) through
/// `times`, writing walker `s`'s states to `out[s * nt..(s + 1) * nt]`.
///
/// Eight walkers at a time, one per lane: each lane records observations
/// until its walker's next jump is due, then all lanes jump together (Philox
/// rounds, logarithm and alias draw in SIMD). A lane whose walker is past the
/// last time stores it and takes the next walker of the task, so lanes stay
/// busy. Every walker's sequence of draws is its own, so results do not
/// depend on the lane a walker ran in.
fn advance_task(
    rates: &RateMatrix,
    g: &Philox,
    first: usize,
    walkers: &mut [Walker],
    times: &[f64],
    out: &mut [u32],
) {
    const IDLE: usize = usize::MAX;
    let nt = times.len();
    let mut lanes = Lanes::default();
    let mut walker = [IDLE; LANES];
    let mut obs = [0usize; LANES];
    let mut next_walker = 0;
    for l in 0..LANES.min(walkers.len()) {
        lanes.load(l, &walkers[l], (first + l) as u64);
        walker[l] = l;
        next_walker += 1;
    }
    loop {
        let mut busy = false;
        for l in 0..LANES {
            while walker[l] != IDLE {
                // Record the observations before the next jump (a tight loop
                // over the walker's row, with the lane's values in registers).
                let (next, state) = (lanes.next_jump[l], lanes.state[l]);
                let row = &mut out[walker[l] * nt..(walker[l] + 1) * nt];
                let mut o = obs[l];
                while o < nt && next > times[o] {
                    row[o] = state;
                    o += 1;
                }
                obs[l] = o;
                if o < nt {
                    break; // the jump comes first
                }
                // Past the last time: store the walker, take the next one.
                lanes.store(l, &mut walkers[walker[l]]);
                obs[l] = 0;
                walker[l] = IDLE;
                if next_walker < walkers.len() {
                    lanes.load(l, &walkers[next_walker], (first + next_walker) as u64);
                    walker[l] = next_walker;
                    next_walker += 1;
                }
            }
            busy |= walker[l] != IDLE;
        }
        if !busy {
            return;
        }
        // Every busy lane's jump is due: enter the pending state at its jump
        // time and draw the next jump (idle lanes compute and are ignored).
        lanes.state = lanes.pending;
        lanes.jump(rates, g);
    }
}

/// Adds `sd` times normal `first + m` of trajectory `k` to `row[m]`. Normal
/// `o` is the cosine (even `o`) or sine (odd `o`) branch of
/// [`box_muller`] (as the fills) on block `k * 2^36 + o / 2` (mod `2^36`) of
/// the noise stream; eight blocks per SIMD step.
fn add_observation_noise(g: &Philox, k: u64, first: u64, sd: f64, row: &mut [f64]) {
    let end = first + row.len() as u64;
    let mut block = first / 2;
    while 2 * block < end {
        let counters = core::array::from_fn(|l| {
            k * BLOCKS_PER_TRAJECTORY + ((block + l as u64) & (BLOCKS_PER_TRAJECTORY - 1))
        });
        let w = g.blocks8_at(counters);
        let (cos, sin) = box_muller(u01_f64x8(w[0], w[1]), u01_f64x8(w[2], w[3]));
        for (branch, z) in [cos.to_array(), sin.to_array()].into_iter().enumerate() {
            for (l, z) in z.into_iter().enumerate() {
                let o = 2 * (block + l as u64) + branch as u64;
                if (first..end).contains(&o) {
                    row[(o - first) as usize] += sd * z;
                }
            }
        }
        block += LANES as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The alias draw on a fine grid of `x = n u2`: never the current state
    /// or a zero rate, and each destination's share of the grid equals its
    /// rate share (up to one grid point per column).
    #[test]
    fn alias_destinations_follow_the_rates_and_skip_zero_rates() {
        // Row 1 has rates only to 0 and 3; row 2 is absorbing.
        let q = [
            -1.0, 1.0, 0.0, 0.0, //
            2.0, -5.0, 0.0, 3.0, //
            0.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 1.0, -1.0,
        ];
        let r = RateMatrix::new(&q, 4, 1e-12).unwrap();
        let points = 4000;
        for (row, expected) in [
            (1usize, [0.4, 0.0, 0.0, 0.6]),
            (0, [0.0, 1.0, 0.0, 0.0]),
            (2, [0.0, 0.0, 1.0, 0.0]),
        ] {
            let mut counts = [0usize; 4];
            for chunk in 0..points / LANES {
                let x: [f64; LANES] = core::array::from_fn(|l| {
                    4.0 * ((chunk * LANES + l) as f64 + 0.5) / points as f64
                });
                let (next, to) = jumps_from(
                    &r,
                    &[row as u32; LANES],
                    f64x8::splat(1.0),
                    f64x8::splat(1.0),
                    f64x8::new(x),
                );
                for (l, &j) in to.iter().enumerate() {
                    counts[j as usize] += 1;
                    let wait = if row == 2 {
                        f64::INFINITY
                    } else {
                        1.0 + 1.0 / r.exit_rate(row)
                    };
                    assert_eq!(next.to_array()[l], wait);
                }
            }
            for j in 0..4 {
                let share = expected[j] * points as f64;
                assert!(
                    (counts[j] as f64 - share).abs() <= 4.0,
                    "row {row}: {counts:?}"
                );
            }
        }
        // The largest u1 still has ln u1 < 0 (so an absorbing wait e / 0 is
        // +inf without the floor on e).
        let largest_u1 = 1.0 - f64::EPSILON / 2.0;
        assert!(f64x8::splat(largest_u1).ln().to_array()[0] < 0.0);
        // x = n (u2 * n rounded up to n) is clamped to the last column and
        // still lands on an allowed destination.
        let (_, to) = jumps_from(
            &r,
            &[1; LANES],
            f64x8::splat(0.0),
            f64x8::splat(1.0),
            f64x8::splat(4.0),
        );
        assert!(to.iter().all(|&j| j == 0 || j == 3), "{to:?}");
    }

    /// The lane bookkeeping (lockstep jumps, refills, records) and the SIMD
    /// observation noise equal a one-walker-at-a-time reference of the
    /// documented mapping, bit for bit: 301 walkers (two tasks, the second
    /// not a multiple of eight), repeated times, a run split at an odd
    /// observation count.
    #[test]
    fn batches_equal_a_one_walker_at_a_time_reference() {
        let n = 5;
        let mut q = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                if i != j && (i * 7 + j * 3) % 4 != 0 {
                    q[i * n + j] = 0.3 + ((i * n + j) % 7) as f64 * 0.45;
                    q[i * n + i] -= q[i * n + j];
                }
            }
        }
        // State 4 is absorbing.
        for j in 0..n {
            q[4 * n + j] = 0.0;
        }
        let r = RateMatrix::new(&q, n, 1e-12).unwrap();
        let (m, seed, stream, sd) = (301, 9, 3, 0.25);
        let mut b = GillespieBatch::new(r.clone(), m, seed, stream).unwrap();
        let initial: Vec<u32> = (0..m).map(|k| (k * 3 % n) as u32).collect();
        b.set_states(&initial, 0.5).unwrap();
        b.set_noise(sd).unwrap();
        let times = [0.5, 0.6, 0.6, 1.0, 2.5, 2.5, 2.6, 4.0, 9.0];
        let nt = times.len();
        let split = 5;
        let mut states = vec![0u32; m * nt];
        let mut obs = vec![0.0; m * nt];
        for (range, first) in [(0..split, 0), (split..nt, split)] {
            let w = range.len();
            let (mut s, mut o) = (vec![0u32; m * w], vec![0.0; m * w]);
            b.run(&times[range], &mut s, Some(&mut o)).unwrap();
            for k in 0..m {
                states[k * nt + first..k * nt + first + w].copy_from_slice(&s[k * w..(k + 1) * w]);
                obs[k * nt + first..k * nt + first + w].copy_from_slice(&o[k * w..(k + 1) * w]);
            }
        }
        let g = Philox::new(seed, Stream::Gillespie.with_sub(stream));
        let noise = Philox::new(seed, Stream::GillespieNoise.with_sub(stream));
        let one_jump = |k: u64, draw: u64, state: u32, entered: f64| {
            let (e, x) = jump_randoms(&g, [jump_counter(k, draw); LANES], n);
            let (next, to) = jumps_from(&r, &[state; LANES], f64x8::splat(entered), e, x);
            (next.to_array()[0], to[0])
        };
        let mut jumps = 0u64;
        for k in 0..m {
            let mut state = initial[k];
            let (mut next, mut pending) = one_jump(k as u64, 0, state, 0.5);
            let mut draws = 1;
            for (o, &t) in times.iter().enumerate() {
                while next <= t {
                    state = pending;
                    (next, pending) = one_jump(k as u64, draws, state, next);
                    draws += 1;
                }
                assert_eq!(states[k * nt + o], state, "walker {k}, observation {o}");
                let w = noise.blocks8_at([k as u64 * BLOCKS_PER_TRAJECTORY + o as u64 / 2; LANES]);
                let (c, s) = box_muller(u01_f64x8(w[0], w[1]), u01_f64x8(w[2], w[3]));
                let z = if o % 2 == 0 { c } else { s }.to_array()[0];
                let expected = state as f64 + sd * z;
                assert_eq!(
                    obs[k * nt + o].to_bits(),
                    expected.to_bits(),
                    "walker {k}, observation {o}"
                );
            }
            jumps += draws - 1;
        }
        assert_eq!(b.total_jumps(), jumps);
        assert!(
            jumps > 3 * m as u64,
            "the reference should exercise many jumps: {jumps}"
        );
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

    /// The row-sum tolerance is relative to the row's largest magnitude: row
    /// 1 of `[[-s, s], [s/2, -s/2 + off]]` has scale `s/2`, so at tolerance
    /// 1e-9 it passes with `|off| = 0.9e-9 s/2` and fails with `1.1e-9 s/2`,
    /// for rates ~1e6 and ~1e-6 alike. The message names the row.
    #[test]
    fn row_sum_tolerance_is_relative_to_the_row_scale() {
        for (scale, tol) in [(1e6, 1e-9), (1e-6, 1e-9)] {
            let bound = tol * 0.5 * scale;
            let row = |off: f64| [-scale, scale, 0.5 * scale, -0.5 * scale + off];
            assert!(
                RateMatrix::new(&row(0.9 * bound), 2, tol).is_ok(),
                "scale {scale}"
            );
            assert!(
                RateMatrix::new(&row(-0.9 * bound), 2, tol).is_ok(),
                "scale {scale}"
            );
            for off in [1.1 * bound, -1.1 * bound] {
                let e = RateMatrix::new(&row(off), 2, tol).unwrap_err();
                assert_eq!(e.kind, ErrorKind::OutOfRange, "scale {scale}, off {off}");
                assert!(e.message.contains("row 1"), "{}", e.message);
            }
        }
    }
}
