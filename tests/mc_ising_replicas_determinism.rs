//! Replica multi-spin coding (`src/mc/ising_replicas.rs`): the kernel equals
//! a slow per-replica, per-site implementation written from the module
//! documentation, bit for bit; results are bitwise identical for 1 and 2
//! threads and for a run split into calls; sweeps allocate nothing.
//!
//! Every test holds `support::alloc::exclusive()`: the thread count is global
//! and allocation counting sees all threads.

mod support;

use fieldkern::mc::ising_replicas::{IsingReplicas, IsingReplicasParams, REPLICAS};
use fieldkern::parallel::set_num_threads;
use fieldkern::rng::philox::Philox;
use fieldkern::rng::stream::Stream;
use support::alloc::{count_allocations, exclusive};

/// `ceil(p 2^32) - 1`, at least 0: the documented 32-bit threshold.
fn threshold(p: f64) -> u32 {
    if p >= 1.0 {
        return u32::MAX;
    }
    let t = (p * 4_294_967_296.0).ceil();
    (t.clamp(1.0, 4_294_967_296.0) - 1.0) as u32
}

/// The documented sweep, literally: for each colour, every site of that
/// colour reads its Philox word (block
/// `((2 n + c) rows + r) B + 16 (k / 64) + k mod 16`, word `(k mod 64) / 16`)
/// and each replica `b` flips iff `w + b 2^26 <= ceil(p 2^32) - 1` with
/// `p = min(1, exp(-(1/T_b) 2 s (J nb + h)))`.
fn reference_sweeps(
    p: &IsingReplicasParams,
    temps: &[f64; REPLICAS],
    words: &mut [u64],
    first_sweep: u64,
    n: u64,
) {
    let (lx, ly) = (p.lx, p.ly);
    let lz = if p.dim == 2 { 1 } else { p.lz };
    let rows = (ly * lz) as u64;
    let blocks_per_row = 16 * (lx / 2).div_ceil(64) as u64;
    let g = Philox::new(p.seed, Stream::IsingReplicas.with_sub(p.stream));
    let at = |x: usize, y: usize, z: usize| x + lx * (y + ly * z);
    for sweep in first_sweep..first_sweep + n {
        for c in 0..2 {
            for z in 0..lz {
                for y in 0..ly {
                    for x in 0..lx {
                        if (x + y + z) % 2 != c {
                            continue;
                        }
                        let (r, k) = ((y + ly * z) as u64, (x / 2) as u64);
                        let block = ((2 * sweep + c as u64) * rows + r) * blocks_per_row
                            + 16 * (k / 64)
                            + k % 16;
                        let w = g.block(block)[((k % 64) / 16) as usize];
                        let mut nbrs = vec![
                            at((x + 1) % lx, y, z),
                            at((x + lx - 1) % lx, y, z),
                            at(x, (y + 1) % ly, z),
                            at(x, (y + ly - 1) % ly, z),
                        ];
                        if p.dim == 3 {
                            nbrs.push(at(x, y, (z + 1) % lz));
                            nbrs.push(at(x, y, (z + lz - 1) % lz));
                        }
                        let i = at(x, y, z);
                        let mut new = words[i];
                        for (b, &t) in temps.iter().enumerate() {
                            let spin = |j: usize| if words[j] >> b & 1 == 1 { 1.0 } else { -1.0 };
                            let s = spin(i);
                            let nb: f64 = nbrs.iter().map(|&j| spin(j)).sum();
                            let local = p.coupling * nb + p.field;
                            let beta = 1.0 / t;
                            let prob = (-beta * 2.0 * s * local).exp().min(1.0);
                            let wb = w.wrapping_add((b as u32) << 26);
                            if wb <= threshold(prob) {
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

fn site_words(lat: &IsingReplicas) -> Vec<u64> {
    (0..lat.n_sites()).map(|s| lat.site_word(s)).collect()
}

#[test]
fn replica_kernel_equals_the_documented_per_replica_per_site_metropolis() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let mut state = 0x1234_5678u64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // (dim, lx, ly, lz, J, h, number of temperatures): the h = 0, J > 0
    // fast path, fields, antiferromagnets, widths that are not multiples of
    // 8 or 64 (row-end wrap), 3D; one temperature for all replicas (the
    // rotated-mask path of h = 0, J > 0) in 2D, with row-end wrap, and 3D.
    let cases = [
        (2, 16, 6, 1, 1.0, 0.0, 1),
        (2, 136, 4, 1, 1.0, 0.0, 1),
        (3, 6, 4, 4, 1.0, 0.0, 1),
        (2, 16, 6, 1, 1.0, 0.0, 64),
        (2, 136, 4, 1, 1.0, 0.0, 4),
        (2, 10, 6, 1, 0.8, 0.35, 7),
        (2, 4, 2, 1, -1.0, 0.2, 1),
        (2, 2, 2, 1, 1.0, -2.5, 64),
        (3, 6, 4, 4, 1.0, 0.0, 16),
        (3, 4, 4, 2, 0.5, 0.7, 5),
    ];
    for (case, &(dim, lx, ly, lz, j, h, nt)) in cases.iter().enumerate() {
        let temps: Vec<f64> = (0..nt).map(|_| 0.2 + 6.0 * uniform()).collect();
        let p = IsingReplicasParams {
            dim,
            lx,
            ly,
            lz,
            coupling: j,
            field: h,
            seed: 17 + case as u64,
            stream: 5,
            hot_start: true,
        };
        let mut lat = IsingReplicas::new(&p, &temps).unwrap();
        lat.set_sweeps_done(3);
        let mut words = site_words(&lat);
        lat.sweep(4, &mut [], &mut []).unwrap();
        reference_sweeps(&p, lat.temperatures(), &mut words, 3, 4);
        assert_eq!(site_words(&lat), words, "case {case}");
        let flipped = words.iter().any(|&w| w != 0 && w != u64::MAX);
        assert!(flipped, "case {case}: degenerate configuration");
    }
}

fn replicas(l: usize, seed: u64, field: f64) -> IsingReplicas {
    let temps: Vec<f64> = (0..64).map(|b| 1.5 + 0.03 * b as f64).collect();
    IsingReplicas::new(
        &IsingReplicasParams {
            lx: l,
            ly: l,
            field,
            seed,
            stream: 2,
            hot_start: true,
            ..IsingReplicasParams::default()
        },
        &temps,
    )
    .unwrap()
}

fn run(mut lat: IsingReplicas, sweeps: usize) -> (Vec<u64>, Vec<u64>) {
    let (mut e, mut m) = (vec![0.0; 64 * sweeps], vec![0.0; 64 * sweeps]);
    lat.sweep(sweeps, &mut e, &mut m).unwrap();
    let bits = e.iter().chain(&m).map(|v| v.to_bits()).collect();
    (lat.words().to_vec(), bits)
}

#[test]
fn replica_sweeps_are_bitwise_identical_for_one_and_two_threads() {
    let _g = exclusive();
    // 512^2: 16 row tasks per colour; 3D 32^3: several tasks as well.
    for field in [0.0, 0.1] {
        set_num_threads(1).unwrap();
        let one = run(replicas(512, 5, field), 4);
        set_num_threads(2).unwrap();
        let two = run(replicas(512, 5, field), 4);
        assert!(one == two, "h = {field}: 1 and 2 threads differ");
    }
    let make3 = || {
        IsingReplicas::new(
            &IsingReplicasParams {
                dim: 3,
                lx: 32,
                ly: 32,
                lz: 32,
                seed: 8,
                hot_start: true,
                ..IsingReplicasParams::default()
            },
            &[4.0, 4.5, 5.0],
        )
        .unwrap()
    };
    set_num_threads(1).unwrap();
    let one = run(make3(), 4);
    set_num_threads(2).unwrap();
    let two = run(make3(), 4);
    assert!(one == two, "3D: 1 and 2 threads differ");
}

#[test]
fn split_replica_runs_resumed_from_a_checkpoint_equal_unsplit_runs() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let (whole, _) = run(replicas(128, 9, 0.0), 10);
    let mut first = replicas(128, 9, 0.0);
    first.sweep(4, &mut [], &mut []).unwrap();
    let mut spins = vec![0i8; 64 * first.n_sites()];
    first.spins_into(&mut spins).unwrap();
    let count = first.sweeps_done();
    // Resume in a fresh handle (different start) from spins + sweep counter.
    let mut second = replicas(128, 9, 0.0);
    second.sweep(1, &mut [], &mut []).unwrap();
    second.set_spins(&spins).unwrap();
    second.set_sweeps_done(count);
    second.sweep(6, &mut [], &mut []).unwrap();
    assert!(second.words() == whole.as_slice());
}

#[test]
fn replica_sweeps_and_temperature_changes_allocate_nothing() {
    let _g = exclusive();
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        let mut lat = replicas(256, 3, 0.2);
        let (mut e, mut m) = (vec![0.0; 64 * 3], vec![0.0; 64 * 3]);
        lat.sweep(1, &mut [], &mut []).unwrap();
        let (r, n) = count_allocations(|| {
            lat.sweep(3, &mut e, &mut m).unwrap();
            lat.set_temperatures(&[2.0, 2.5]).unwrap();
            lat.sweep(2, &mut [], &mut []).unwrap();
            lat.observables()
        });
        assert_eq!(n, 0, "{threads} threads: {n} allocations");
        assert!(r.energy_per_spin.iter().all(|e| e.is_finite()));
    }
}

#[test]
fn replica_observables_equal_direct_sums_over_the_replica_spins() {
    let _g = exclusive();
    for (dim, l, lz) in [(2, 10, 1), (3, 4, 6)] {
        let p = IsingReplicasParams {
            dim,
            lx: l,
            ly: l,
            lz,
            coupling: 0.7,
            field: 0.3,
            seed: 4,
            hot_start: true,
            ..IsingReplicasParams::default()
        };
        let mut lat = IsingReplicas::new(&p, &[2.0, 3.0]).unwrap();
        lat.sweep(2, &mut [], &mut []).unwrap();
        let o = lat.observables();
        let n = lat.n_sites();
        let (lx, ly) = (l, l);
        let lz = if dim == 2 { 1 } else { lz };
        let mut spins = vec![0i8; n];
        for b in [0, 1, 31, 63] {
            lat.replica_spins_into(b, &mut spins).unwrap();
            let s = |x: usize, y: usize, z: usize| {
                i64::from(spins[x % lx + lx * (y % ly + ly * (z % lz))])
            };
            let mut bonds = 0;
            for z in 0..lz {
                for y in 0..ly {
                    for x in 0..lx {
                        bonds += s(x, y, z) * (s(x + 1, y, z) + s(x, y + 1, z));
                        if dim == 3 {
                            bonds += s(x, y, z) * s(x, y, z + 1);
                        }
                    }
                }
            }
            let total: i64 = spins.iter().map(|&v| i64::from(v)).sum();
            assert_eq!(o.bond_sum[b], bonds, "dim {dim} replica {b}");
            assert_eq!(o.spin_sum[b], total, "dim {dim} replica {b}");
            let e = (-0.7 * bonds as f64 - 0.3 * total as f64) / n as f64;
            assert!((o.energy_per_spin[b] - e).abs() < 1e-12);
        }
    }
}
