//! Replica multi-spin coding (`src/mc/ising_replicas.rs`): the kernel equals
//! a slow per-replica, per-site implementation written from the module
//! documentation (`support::ising_replicas_ref`), bit for bit; results are bitwise identical for 1 and 2
//! threads and for a run split into calls; sweeps allocate nothing.
//!
//! Every test holds `support::alloc::exclusive()`: the thread count is global
//! and allocation counting sees all threads.

mod support;

use fieldkern::mc::ising_replicas::{IsingReplicas, IsingReplicasParams};
use fieldkern::parallel::set_num_threads;
use support::alloc::{count_allocations, exclusive};
use support::ising_replicas_ref::reference_sweeps;

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
