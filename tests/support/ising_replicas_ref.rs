//! The replica multi-spin-coded Ising update (`src/mc/ising_replicas.rs`)
//! written literally from its module documentation, site by site and
//! replica by replica, on row-major site words (`x + lx (y + ly z)`, bit `b`
//! = replica `b`, 1 = up): the reference of the replica kernel's tests.

use fieldkern::mc::ising_replicas::{IsingReplicasParams, REPLICAS};
use fieldkern::rng::philox::Philox;
use fieldkern::rng::stream::Stream;

/// `ceil(p 2^32) - 1`, at least 0: the documented 32-bit threshold.
pub fn threshold(p: f64) -> u32 {
    if p >= 1.0 {
        return u32::MAX;
    }
    let t = (p * 4_294_967_296.0).ceil();
    (t.clamp(1.0, 4_294_967_296.0) - 1.0) as u32
}

/// The documented flip probability `min(1, exp(-(1/T) 2 s (J nb + h)))`,
/// in the documented order of f64 operations.
pub fn flip_probability(t: f64, s: f64, local: f64) -> f64 {
    let beta = 1.0 / t;
    (-beta * 2.0 * s * local).exp().min(1.0)
}

pub fn extent(p: &IsingReplicasParams) -> (usize, usize, usize) {
    (p.lx, p.ly, if p.dim == 2 { 1 } else { p.lz })
}

/// Philox word of site `(x, y, z)` in sweep `sweep` (module docs: block
/// `((2 n + c) rows + r) B + 16 (k / 64) + k mod 16`, word `(k mod 64) / 16`,
/// `B = 16 ceil((lx/2) / 64)`).
pub fn site_word_of_philox(
    p: &IsingReplicasParams,
    sweep: u64,
    x: usize,
    y: usize,
    z: usize,
) -> u32 {
    let (lx, ly, lz) = extent(p);
    let rows = (ly * lz) as u64;
    let blocks_per_row = 16 * (lx / 2).div_ceil(64) as u64;
    let c = ((x + y + z) % 2) as u64;
    let (r, k) = ((y + ly * z) as u64, (x / 2) as u64);
    let block = ((2 * sweep + c) * rows + r) * blocks_per_row + 16 * (k / 64) + k % 16;
    Philox::new(p.seed, Stream::IsingReplicas.with_sub(p.stream)).block(block)
        [((k % 64) / 16) as usize]
}

/// `n` sweeps of the documented update on row-major site words: colour 0
/// then colour 1; replica `b` at `temps[b % temps.len()]` flips iff
/// `w + b 2^26 <= ceil(p 2^32) - 1`.
pub fn reference_sweeps(
    p: &IsingReplicasParams,
    temps: &[f64],
    words: &mut [u64],
    first_sweep: u64,
    n: u64,
) {
    let (lx, ly, lz) = extent(p);
    let at = |x: usize, y: usize, z: usize| x + lx * (y + ly * z);
    for sweep in first_sweep..first_sweep + n {
        for c in 0..2 {
            for z in 0..lz {
                for y in 0..ly {
                    for x in 0..lx {
                        if (x + y + z) % 2 != c {
                            continue;
                        }
                        let w = site_word_of_philox(p, sweep, x, y, z);
                        let nbrs = [
                            at((x + 1) % lx, y, z),
                            at((x + lx - 1) % lx, y, z),
                            at(x, (y + 1) % ly, z),
                            at(x, (y + ly - 1) % ly, z),
                            at(x, y, (z + 1) % lz),
                            at(x, y, (z + lz - 1) % lz),
                        ];
                        let i = at(x, y, z);
                        let mut new = words[i];
                        for b in 0..REPLICAS {
                            let t = temps[b % temps.len()];
                            let spin = |j: usize| if words[j] >> b & 1 == 1 { 1.0 } else { -1.0 };
                            let s = spin(i);
                            let nb: f64 = nbrs[..2 * p.dim].iter().map(|&j| spin(j)).sum();
                            let local = p.coupling * nb + p.field;
                            let wb = w.wrapping_add((b as u32) << 26);
                            if wb <= threshold(flip_probability(t, s, local)) {
                                new ^= 1 << b;
                            }
                        }
                        words[i] = new;
                    }
                }
            }
        }
    }
}
