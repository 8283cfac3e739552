//! Reproducibility and resource contracts of the particle integrators:
//! bitwise identical trajectories for 1 and 2 threads, a run split at step k
//! and resumed equals the unsplit run bitwise, no heap allocation per step
//! (neighbour rebuilds included), and a failing force evaluation leaves the
//! particles at the last completed step.

mod particles_util;
mod support;

use fieldkern::forces::{BatchField, ForceField, ForceFieldParams, PairKind, Trap};
use fieldkern::integrate::active::{ActiveBrownian, ActiveParams};
use fieldkern::integrate::brownian::{Brownian, BrownianParams};
use fieldkern::integrate::kuramoto::{Kuramoto, KuramotoParams};
use fieldkern::integrate::langevin::{Baoab, LangevinParams};
use fieldkern::integrate::noise::NoiseKind;
use fieldkern::integrate::verlet::VelocityVerlet;
use fieldkern::integrate::SimBox;
use fieldkern::parallel::set_num_threads;
use fieldkern::{Error, ErrorKind, Result};
use particles_util::{brownian, cube_or_open, langevin, lattice, open_field, State};
use support::alloc::{count_allocations, exclusive};

/// A WCA fluid at rho = 0.8 (2D or 3D) on a lattice with random velocities.
fn wca_fluid(dim: usize, per_side: usize) -> (State, ForceField) {
    let n = per_side.pow(dim as u32);
    let l = (n as f64 / 0.8).powf(1.0 / dim as f64);
    let mut s = lattice(dim, per_side, l);
    s.thermalise(1.0, 3);
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: SimBox::periodic(dim, [l; 3]),
        ntypes: 1,
        capacity: n,
        skin: 0.3,
        max_neighbors: 64,
    })
    .unwrap();
    ff.add_pair(PairKind::Wca, &[1.0], &[1.0], &[0.0]).unwrap();
    ff.add_trap(Trap::Harmonic {
        k: 1e-3,
        centre: [l / 2.0; 3],
    })
    .unwrap();
    (s, ff)
}

/// The WCA pair field of `wca_fluid(2, 20)` (400 particles, periodic box,
/// no trap) with `max_neighbors` entries per neighbour row.
fn wca_field_2d_400(max_neighbors: usize) -> ForceField {
    let l = (400.0f64 / 0.8).sqrt();
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: SimBox::periodic(2, [l; 3]),
        ntypes: 1,
        capacity: 400,
        skin: 0.3,
        max_neighbors,
    })
    .unwrap();
    ff.add_pair(PairKind::Wca, &[1.0], &[1.0], &[0.0]).unwrap();
    ff
}

fn bits(s: &State) -> Vec<u64> {
    [&s.x, &s.y, &s.z, &s.vx, &s.vy, &s.vz, &s.ox, &s.oy, &s.oz]
        .iter()
        .flat_map(|v| v.iter().map(|a| a.to_bits()))
        .collect()
}

#[test]
fn baoab_wca_trajectory_is_bitwise_identical_for_1_and_2_threads() {
    let _g = exclusive();
    for (dim, kind) in [
        (2, NoiseKind::Gaussian),
        (3, NoiseKind::Gaussian),
        (3, NoiseKind::Uniform),
    ] {
        let per_side = if dim == 3 { 14 } else { 48 }; // several force segments
        let mut results = Vec::new();
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            let (mut s, mut ff) = wca_fluid(dim, per_side);
            let mut lg = langevin(dim, s.n());
            lg.set_noise(kind);
            lg.step(Some(&mut ff), &mut s.view(), 0, 300).1.unwrap();
            assert!(ff.neighbour_builds() > 1);
            results.push(bits(&s));
        }
        assert!(
            results[0] == results[1],
            "dim {dim} {kind:?}: 1 and 2 threads differ"
        );
    }
    set_num_threads(2).unwrap();
}

/// Kuramoto with coupling, frequencies and noise: bitwise identical for 1
/// and 2 threads, with N not a multiple of 8 (phases in groups of eight and
/// a remainder) spanning several mean-field segments, with and without
/// noise.
#[test]
fn kuramoto_is_bitwise_identical_for_1_and_2_threads() {
    let _g = exclusive();
    let n = 10_003;
    for noise in [0.0, 0.3] {
        let mut results = Vec::new();
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            let mut th: Vec<f64> = (0..n).map(|i| (0.71 * i as f64) % 6.0).collect();
            let om: Vec<f64> = (0..n).map(|i| ((i % 97) as f64 - 48.0) * 0.01).collect();
            let mut ku = Kuramoto::new(
                n,
                KuramotoParams {
                    dt: 0.01,
                    coupling: 2.0,
                    noise,
                    seed: 5,
                    stream: 1,
                },
            )
            .unwrap();
            ku.step(&mut th, &om, 0, 50).unwrap();
            results.push(th.iter().map(|a| a.to_bits()).collect::<Vec<_>>());
        }
        assert!(
            results[0] == results[1],
            "noise {noise}: 1 and 2 threads differ"
        );
    }
    set_num_threads(2).unwrap();
}

/// Active particles with vision-cone steering and goal fixation (the O(N^2)
/// torque, eight partners at a time) and rotational noise: bitwise
/// identical for 1 and 2 threads, N = 1003 (not a multiple of 8) in a
/// periodic box, Gaussian and uniform noise.
#[test]
fn steered_abp_is_bitwise_identical_for_1_and_2_threads() {
    let _g = exclusive();
    let n = 1003;
    for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
        let mut results = Vec::new();
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            let mut s = particles_util::random_positions(2, n, 30.0, 8);
            s.ox = (0..n).map(|i| (0.9 * i as f64).cos()).collect();
            s.oy = (0..n).map(|i| (0.9 * i as f64).sin()).collect();
            let mut ff = ForceField::new(ForceFieldParams::without_neighbour_list(
                SimBox::periodic(2, [30.0, 30.0, 1.0]),
                n,
            ))
            .unwrap();
            let mut a = ActiveBrownian::new(
                2,
                n,
                ActiveParams {
                    dt: 1e-3,
                    dr: 0.5,
                    kt: 0.1,
                    seed: 4,
                    vision_omega: 2.0,
                    vision_range: 4.0,
                    vision_decay: 2.0,
                    goal_k: 0.3,
                    goal: [15.0, 15.0],
                    ..Default::default()
                },
            )
            .unwrap();
            a.set_noise(kind);
            a.step(Some(&mut ff), &mut s.view(), 0, 30).1.unwrap();
            results.push(bits(&s));
        }
        assert!(results[0] == results[1], "{kind:?}: 1 and 2 threads differ");
    }
    set_num_threads(2).unwrap();
}

/// The all-pairs kernel (softened gravity, one type and three types) gives
/// bitwise identical forces and energies for 1 and 2 threads, with n
/// spanning several force segments.
#[test]
fn all_pairs_forces_are_bitwise_identical_for_1_and_2_threads() {
    let _g = exclusive();
    let n = 3000;
    for ntypes in [1usize, 3] {
        let mut results = Vec::new();
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            let mut s = particles_util::random_positions(3, n, 5.0, 3);
            s.types = (0..n).map(|i| (i % ntypes) as u32).collect();
            let mut ff = ForceField::new(ForceFieldParams {
                sbox: SimBox::open(3),
                ntypes,
                capacity: n,
                skin: 0.0,
                max_neighbors: 1,
            })
            .unwrap();
            let nt2 = ntypes * ntypes;
            let strength: Vec<f64> = (0..nt2)
                .map(|p| 1.0 + ((p / ntypes) * (p % ntypes)) as f64)
                .collect();
            ff.add_pair(
                PairKind::Gravity,
                &strength,
                &vec![0.01; nt2],
                &vec![0.0; nt2],
            )
            .unwrap();
            let (mut fx, mut fy, mut fz) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            let p = s.view();
            ff.compute(&p.positions(), 0, &mut fx, &mut fy, &mut fz, true)
                .unwrap();
            let (u, w, _) = ff.totals();
            let mut b: Vec<u64> = [fx, fy, fz].iter().flatten().map(|v| v.to_bits()).collect();
            b.push(u.to_bits());
            b.push(w.to_bits());
            results.push(b);
        }
        assert!(
            results[0] == results[1],
            "ntypes {ntypes}: 1 and 2 threads differ"
        );
    }
    set_num_threads(2).unwrap();
}

#[test]
fn every_integrator_split_and_resumed_equals_the_unsplit_run() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let (total, k) = (200usize, 73usize);
    // BAOAB and Verlet on the WCA fluid; a fresh force field for the resumed
    // half shows that neighbour-list history does not matter either.
    for (verlet, kind) in [
        (false, NoiseKind::Gaussian),
        (false, NoiseKind::Uniform),
        (true, NoiseKind::Gaussian),
    ] {
        let run = |split: bool| {
            let (mut s, mut ff) = wca_fluid(3, 8);
            let n = s.n();
            if verlet {
                let mut v = VelocityVerlet::new(3, n, 0.003).unwrap();
                if split {
                    v.step(Some(&mut ff), &mut s.view(), 0, k).1.unwrap();
                    let (_, mut ff2) = wca_fluid(3, 8);
                    let mut v2 = VelocityVerlet::new(3, n, 0.003).unwrap();
                    v2.step(Some(&mut ff2), &mut s.view(), k as u64, total - k)
                        .1
                        .unwrap();
                } else {
                    v.step(Some(&mut ff), &mut s.view(), 0, total).1.unwrap();
                }
            } else {
                let mut lg = langevin(3, n);
                lg.set_noise(kind);
                if split {
                    lg.step(Some(&mut ff), &mut s.view(), 0, k).1.unwrap();
                    let (_, mut ff2) = wca_fluid(3, 8);
                    let mut lg2 = langevin(3, n);
                    lg2.set_noise(kind);
                    lg2.step(Some(&mut ff2), &mut s.view(), k as u64, total - k)
                        .1
                        .unwrap();
                } else {
                    lg.step(Some(&mut ff), &mut s.view(), 0, total).1.unwrap();
                }
            }
            bits(&s)
        };
        assert!(run(false) == run(true), "verlet = {verlet}, {kind:?}");
    }
    // Brownian, ABP (2D with vision cone and goal), Kuramoto with noise.
    let brown = |split: bool, kind: NoiseKind| {
        let mut s = particles_util::random_positions(2, 500, 10.0, 1);
        let mut b = brownian(2, 500);
        b.set_noise(kind);
        if split {
            b.step(None, &mut s.view(), 0, k).1.unwrap();
            b.step(None, &mut s.view(), k as u64, total - k).1.unwrap();
        } else {
            b.step(None, &mut s.view(), 0, total).1.unwrap();
        }
        bits(&s)
    };
    for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
        assert!(brown(false, kind) == brown(true, kind), "Brownian {kind:?}");
    }
    let active = |split: bool| {
        let mut s = particles_util::random_positions(2, 300, 10.0, 2);
        s.ox = vec![1.0; 300];
        s.oy = vec![0.0; 300];
        let prm = ActiveParams {
            dt: 1e-3,
            vision_omega: 2.0,
            vision_range: 3.0,
            goal_k: 0.5,
            goal: [5.0, 5.0],
            kt: 0.1,
            seed: 9,
            ..Default::default()
        };
        let mut a = ActiveBrownian::new(2, 300, prm).unwrap();
        if split {
            a.step(None, &mut s.view(), 0, k).1.unwrap();
            let mut a2 = ActiveBrownian::new(2, 300, prm).unwrap();
            a2.step(None, &mut s.view(), k as u64, total - k).1.unwrap();
        } else {
            a.step(None, &mut s.view(), 0, total).1.unwrap();
        }
        bits(&s)
    };
    assert!(active(false) == active(true));
    let kuramoto = |split: bool| {
        let mut th: Vec<f64> = (0..1000).map(|i| i as f64 * 0.01).collect();
        let om: Vec<f64> = (0..1000).map(|i| (i as f64 - 500.0) * 1e-3).collect();
        let prm = coupled_noisy_kuramoto();
        let mut ku = Kuramoto::new(1000, prm).unwrap();
        if split {
            ku.step(&mut th, &om, 0, k).unwrap();
            ku.step(&mut th, &om, k as u64, total - k).unwrap();
        } else {
            ku.step(&mut th, &om, 0, total).unwrap();
        }
        th.iter().map(|a| a.to_bits()).collect::<Vec<_>>()
    };
    assert!(kuramoto(false) == kuramoto(true));
}

/// Coupled Kuramoto oscillators with phase noise (K = 1.5, D = 0.2, dt = 0.01).
fn coupled_noisy_kuramoto() -> KuramotoParams {
    KuramotoParams {
        dt: 0.01,
        coupling: 1.5,
        noise: 0.2,
        seed: 3,
        stream: 0,
    }
}

/// The Kuramoto integrator keeps the sines and cosines of the phases from
/// step to step within a call; a caller that changes the phases (or the
/// number of oscillators) between calls must get what a fresh integrator
/// gives, bit for bit.
#[test]
fn kuramoto_phases_changed_between_calls_are_taken_as_given() {
    let _g = exclusive();
    let prm = coupled_noisy_kuramoto();
    let n = 1003;
    let om: Vec<f64> = (0..n).map(|i| (i as f64 - 500.0) * 1e-3).collect();
    let mut used = Kuramoto::new(n, prm).unwrap();
    let mut th: Vec<f64> = (0..n).map(|i| i as f64 * 0.01).collect();
    used.step(&mut th, &om, 0, 7).unwrap();
    for (round, m) in [(0u64, n), (1, 517)] {
        // New phases, then fewer oscillators.
        let mut a: Vec<f64> = (0..m)
            .map(|i| (2.0 + round as f64 + 0.37 * i as f64) % 6.0)
            .collect();
        let mut b = a.clone();
        used.step(&mut a, &om[..m], 7, 9).unwrap();
        Kuramoto::new(n, prm)
            .unwrap()
            .step(&mut b, &om[..m], 7, 9)
            .unwrap();
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "round {round}: a used integrator differs from a fresh one"
        );
    }
}

/// A batch field (as a user callback or neural field would be) that fails
/// at its `fail_at`-th evaluation.
struct Flaky {
    calls: usize,
    fail_at: usize,
}

impl BatchField for Flaky {
    fn eval(
        &mut self,
        x: &[f64],
        _y: &[f64],
        _z: &[f64],
        fx: &mut [f64],
        _fy: &mut [f64],
        _fz: &mut [f64],
    ) -> Result<f64> {
        self.calls += 1;
        if self.calls == self.fail_at {
            return Err(Error::new(ErrorKind::Callback, "deliberate failure"));
        }
        for (f, &xi) in fx.iter_mut().zip(x) {
            *f = -0.01 * (xi - 5.0);
        }
        Ok(0.0)
    }
}

/// A batch field that adds nothing.
struct Nothing;

impl BatchField for Nothing {
    fn eval(
        &mut self,
        _x: &[f64],
        _y: &[f64],
        _z: &[f64],
        _fx: &mut [f64],
        _fy: &mut [f64],
        _fz: &mut [f64],
    ) -> Result<f64> {
        Ok(0.0)
    }
}

/// BAOAB with only one-body fields runs a fused single-pass step; it must
/// give the same bits as the general path (forced here by adding a batch
/// field that contributes nothing).
#[test]
fn fused_local_field_baoab_equals_the_general_path() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    // 10003 particles: SIMD chunks of 8 plus a scalar remainder per segment.
    let run = |general: bool, periodic: bool, kind: NoiseKind| {
        let n = 10_003;
        let mut s = particles_util::random_positions(3, n, 4.0, 6);
        s.thermalise(1.0, 2);
        s.inv_mass = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
        let sbox = cube_or_open(3, periodic, 4.0);
        let mut ff = ForceField::new(ForceFieldParams::without_neighbour_list(sbox, n)).unwrap();
        ff.add_trap(Trap::Annular {
            k: 2.0,
            radius: 1.0,
            centre: [2.0; 3],
        })
        .unwrap();
        ff.add_uniform([0.1, 0.2, -0.3]).unwrap();
        ff.add_trap(Trap::Harmonic {
            k: 0.5,
            centre: [1.0; 3],
        })
        .unwrap();
        if general {
            ff.add_batch_field(Box::new(Nothing)).unwrap();
        }
        assert_eq!(ff.is_local(), !general);
        let mut lg = langevin(3, n);
        lg.set_noise(kind);
        lg.step(Some(&mut ff), &mut s.view(), 5, 40).1.unwrap();
        lg.step(Some(&mut ff), &mut s.view(), 45, 13).1.unwrap();
        bits(&s)
    };
    for periodic in [false, true] {
        for kind in [NoiseKind::Gaussian, NoiseKind::Uniform] {
            assert!(
                run(false, periodic, kind) == run(true, periodic, kind),
                "periodic = {periodic}, {kind:?}"
            );
        }
    }
}

#[test]
fn spatial_order_allocates_nothing() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let (mut s, mut ff) = wca_fluid(3, 10);
    let mut perm = vec![0u32; s.n()];
    // Warm up the pool (the first parallel call may start threads).
    ff.spatial_order(&s.view().positions(), &mut perm).unwrap();
    let builds_before = ff.neighbour_builds();
    let ((), allocs) = count_allocations(|| {
        ff.spatial_order(&s.view().positions(), &mut perm).unwrap();
    });
    assert_eq!(ff.neighbour_builds(), builds_before + 1);
    assert_eq!(allocs, 0, "allocations in spatial_order");
}

#[test]
fn spatial_order_is_the_same_for_1_and_2_threads() {
    let _g = exclusive();
    let (mut s, mut ff) = wca_fluid(3, 10);
    // Put the particles out of cell order first (reverse them).
    for a in [&mut s.x, &mut s.y, &mut s.z] {
        a.reverse();
    }
    let mut orders = Vec::new();
    for threads in [1, 2] {
        set_num_threads(threads).unwrap();
        let mut perm = vec![0u32; s.n()];
        ff.spatial_order(&s.view().positions(), &mut perm).unwrap();
        orders.push(perm);
    }
    assert!(orders[0].iter().enumerate().any(|(k, &p)| p as usize != k));
    assert_eq!(orders[0], orders[1]);
}

#[test]
fn zero_heap_allocations_per_step_including_neighbour_rebuilds() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let (mut s, mut ff) = wca_fluid(3, 10);
    ff.add_delayed_trap(
        Trap::Annular {
            k: 0.1,
            radius: 3.0,
            centre: [4.0; 3],
        },
        5,
    )
    .unwrap();
    ff.add_batch_field(Box::new(Flaky {
        calls: 0,
        fail_at: usize::MAX,
    }))
    .unwrap();
    let n = s.n();
    let mut lg = langevin(3, n);
    let mut vv = VelocityVerlet::new(3, n, 0.004).unwrap();
    // dt = 1e-4: the dense WCA fluid needs a smaller Brownian step than
    // the shared helper's 1e-3.
    let mut bd = Brownian::new(
        3,
        n,
        BrownianParams {
            dt: 1e-4,
            mobility: 1.0,
            kt: 1.0,
            seed: 1,
            stream: 0,
        },
    )
    .unwrap();
    // Warm up the pool and caches (the first call may start threads).
    lg.step(Some(&mut ff), &mut s.view(), 0, 10).1.unwrap();
    let builds_before = ff.neighbour_builds();
    let ((), allocs) = count_allocations(|| {
        lg.step(Some(&mut ff), &mut s.view(), 10, 200).1.unwrap();
        vv.step(Some(&mut ff), &mut s.view(), 210, 100).1.unwrap();
        bd.step(Some(&mut ff), &mut s.view(), 310, 50).1.unwrap();
    });
    assert!(
        ff.neighbour_builds() > builds_before + 2,
        "no rebuild happened"
    );
    assert_eq!(allocs, 0, "allocations during steps");

    let mut a = particles_util::random_positions(2, 400, 20.0, 4);
    a.ox = vec![0.0; 400];
    a.oy = vec![1.0; 400];
    let mut abp = ActiveBrownian::new(
        2,
        400,
        ActiveParams {
            vision_omega: 1.0,
            vision_range: 2.0,
            goal_k: 0.3,
            ..Default::default()
        },
    )
    .unwrap();
    let mut local =
        ForceField::new(ForceFieldParams::without_neighbour_list(SimBox::open(3), n)).unwrap();
    local
        .add_trap(Trap::Harmonic {
            k: 1.0,
            centre: [0.0; 3],
        })
        .unwrap();
    lg.step(Some(&mut local), &mut s.view(), 0, 1).1.unwrap();
    let ((), allocs) = count_allocations(|| {
        lg.step(Some(&mut local), &mut s.view(), 1, 20).1.unwrap();
    });
    assert_eq!(allocs, 0);
    // The opt-in uniform noise: fused and general BAOAB, Brownian, ABP.
    lg.set_noise(NoiseKind::Uniform);
    bd.set_noise(NoiseKind::Uniform);
    abp.set_noise(NoiseKind::Uniform);
    let ((), allocs) = count_allocations(|| {
        lg.step(Some(&mut local), &mut s.view(), 21, 20).1.unwrap();
        lg.step(Some(&mut ff), &mut s.view(), 41, 20).1.unwrap();
        bd.step(Some(&mut ff), &mut s.view(), 61, 20).1.unwrap();
        abp.step(None, &mut a.view(), 0, 20).1.unwrap();
    });
    assert_eq!(allocs, 0, "allocations with uniform noise");
    abp.set_noise(NoiseKind::Gaussian);
    let mut th = vec![0.5; 5000];
    let mut ku = Kuramoto::new(
        5000,
        KuramotoParams {
            dt: 0.01,
            coupling: 1.0,
            noise: 0.1,
            seed: 0,
            stream: 0,
        },
    )
    .unwrap();
    abp.step(None, &mut a.view(), 0, 2).1.unwrap();
    ku.step(&mut th, &[], 0, 2).unwrap();
    let ((), allocs) = count_allocations(|| {
        abp.step(None, &mut a.view(), 2, 50).1.unwrap();
        ku.step(&mut th, &[], 2, 50).unwrap();
        // The order-parameter query (fk_kuramoto_order) allocates nothing either.
        std::hint::black_box(fieldkern::integrate::kuramoto::order_parameter(&th));
    });
    assert_eq!(allocs, 0);
}

#[test]
fn failing_force_evaluation_leaves_particles_at_the_last_completed_step() {
    let _g = exclusive();
    let make = |fail_at| {
        let (s, mut ff) = wca_fluid(2, 20);
        ff.add_batch_field(Box::new(Flaky { calls: 0, fail_at }))
            .unwrap();
        (s, ff)
    };
    // BAOAB evaluates forces once at the start of a call and once per step:
    // failing at evaluation 31 means 29 completed steps.
    let (mut s, mut ff) = make(31);
    let n = s.n();
    let mut lg = langevin(2, n);
    let (done, r) = lg.step(Some(&mut ff), &mut s.view(), 0, 100);
    assert_eq!(r.unwrap_err().kind, ErrorKind::Callback);
    assert_eq!(done, 29);
    let (mut reference, mut ff_ok) = make(usize::MAX);
    let mut lg2 = langevin(2, n);
    lg2.step(Some(&mut ff_ok), &mut reference.view(), 0, 29)
        .1
        .unwrap();
    assert!(bits(&s) == bits(&reference));

    // Capacity: a neighbour table too small for the density fails on the
    // first evaluation and changes nothing.
    let (mut s, _) = wca_fluid(2, 20);
    let before = s.clone();
    let mut tight = wca_field_2d_400(2);
    let (done, r) = lg.step(Some(&mut tight), &mut s.view(), 0, 10);
    assert_eq!(done, 0);
    assert_eq!(r.unwrap_err().kind, ErrorKind::Capacity);
    assert!(bits(&s) == bits(&before));
}

/// A neighbour row that overflows in the middle of a call (a strong trap
/// compresses a 2D WCA fluid until some particle has more than
/// `max_neighbors` neighbours within the list radius): the call reports
/// `Capacity` and the steps completed, and the particles are bitwise those of
/// an unfailing run of that many steps. Covers the drift-first schemes
/// (BAOAB, Verlet: restored by replaying from the start of the call) and an
/// evaluate-first one (Brownian: nothing to restore).
#[test]
fn neighbour_overflow_mid_call_leaves_the_last_completed_step() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let make = |max_neighbors: usize| {
        let (s, _) = wca_fluid(2, 20);
        let mut ff = wca_field_2d_400(max_neighbors);
        ff.add_trap(Trap::Harmonic {
            k: 2.0,
            centre: [ff.sim_box().lengths[0] / 2.0; 3],
        })
        .unwrap();
        (s, ff)
    };
    type Run = dyn Fn(&mut State, &mut ForceField, usize) -> (usize, Result<()>);
    let schemes: [(&str, Box<Run>); 3] = [
        (
            "BAOAB",
            Box::new(|s, ff, k| langevin(2, 400).step(Some(ff), &mut s.view(), 0, k)),
        ),
        (
            "Verlet",
            Box::new(|s, ff, k| {
                VelocityVerlet::new(2, 400, 0.002)
                    .unwrap()
                    .step(Some(ff), &mut s.view(), 0, k)
            }),
        ),
        (
            "Brownian",
            Box::new(|s, ff, k| brownian(2, 400).step(Some(ff), &mut s.view(), 0, k)),
        ),
    ];
    for (name, run) in &schemes {
        let (mut s, mut tight) = make(7);
        let (done, r) = run(&mut s, &mut tight, 20_000);
        assert_eq!(r.unwrap_err().kind, ErrorKind::Capacity, "{name}");
        assert!(
            done > 0 && done < 20_000,
            "{name}: failed after {done} steps"
        );
        let (mut reference, mut roomy) = make(64);
        run(&mut reference, &mut roomy, done).1.unwrap();
        assert!(
            bits(&s) == bits(&reference),
            "{name}: state after {done} steps"
        );
    }
}

/// Asserts that the positions of `s` are bitwise the first `dim` of each
/// particle's `draws` normals in `z` (particle-major).
fn positions_are_draws(s: &State, z: &[f64], draws: usize, what: &str) {
    let dim = s.dim;
    for i in 0..s.n() {
        let got = [s.x[i], s.y[i], if dim == 3 { s.z[i] } else { 0.0 }];
        for a in 0..dim {
            let want = z[i * draws + a];
            assert_eq!(
                got[a].to_bits(),
                want.to_bits(),
                "{what} dim {dim} i {i} a {a}"
            );
        }
    }
}

/// Elements `e0..e0 + len` of an integrator's noise sequence of `kind`,
/// derived from the documentation: Gaussian elements are those of the
/// public normal stream `fk_rng_fill_normal_f64(seed, sub)`; uniform element
/// `e` is `sqrt(12) ((w + 1/2) 2^-32 - 1/2)` of word `e mod 4` of Philox
/// block `e / 4`, computed as `(w + 1/2 - 2^31) (sqrt(12) 2^-32)`.
fn noise_elements(kind: NoiseKind, seed: u64, sub: u64, e0: u64, len: usize) -> Vec<f64> {
    let mut z = vec![0.0; len];
    match kind {
        NoiseKind::Gaussian => {
            fieldkern::rng::fill::fill_normal_f64(seed, sub, e0, &mut z).unwrap();
        }
        NoiseKind::Uniform => {
            let g = fieldkern::rng::Philox::new(seed, sub);
            for (k, x) in z.iter_mut().enumerate() {
                let e = e0 + k as u64;
                let w = g.block(e / 4)[(e % 4) as usize];
                *x = (f64::from(w) + 0.5 - 2_147_483_648.0) * (12f64.sqrt() / 4_294_967_296.0);
            }
        }
    }
    z
}

/// The noise of every particle integrator is the documented element of its
/// noise sequence: draw `a` of particle `i` at step `s` is element
/// `(s n + i) D + a` of the sequence of Philox `(seed, tag.with_sub(stream))`
/// (see [`noise_elements`]), `D` the draws per particle (`dim`; ABP 3 in
/// 2D, 6 in 3D; Kuramoto 1). Checked bit for bit from states where a step
/// adds exactly `amp * xi` (positions and velocities zero, no force), for
/// both noise kinds, 2D and 3D, an `n` that is not a multiple of any chunk,
/// the general and the fused BAOAB path, active Brownian particles and
/// Kuramoto oscillators, and two thread counts.
#[test]
fn integrator_noise_is_the_documented_element_of_the_noise_sequence() {
    use fieldkern::rng::stream::Stream;
    let _g = exclusive();
    let (n, step, seed, stream) = (203usize, 5u64, 17u64, 3u64);
    for (threads, dim, kind) in [1, 2]
        .into_iter()
        .flat_map(|t| [2usize, 3].map(|d| (t, d)))
        .flat_map(|(t, d)| [NoiseKind::Gaussian, NoiseKind::Uniform].map(|k| (t, d, k)))
    {
        set_num_threads(threads).unwrap();
        {
            let expected = |tag: Stream| {
                let e0 = (step * n as u64) * dim as u64;
                noise_elements(kind, seed, tag.with_sub(stream), e0, n * dim)
            };
            // Brownian: mu dt kT = 1/2 makes the amplitude sqrt(2 mu kT dt) = 1.
            let mut s = State::new(dim, n);
            let mut br = Brownian::new(
                dim,
                n,
                BrownianParams {
                    dt: 0.5,
                    mobility: 1.0,
                    kt: 1.0,
                    seed,
                    stream,
                },
            )
            .unwrap();
            br.set_noise(kind);
            br.step(None, &mut s.view(), step, 1).1.unwrap();
            let z = expected(Stream::BrownianNoise);
            positions_are_draws(&s, &z, dim, &format!("Brownian {kind:?}"));
            // BAOAB from rest without force: v = c2 xi, c2 = sqrt((1 - c1^2) kT).
            let (gamma, dt, kt) = (2.0f64, 0.01f64, 1.5f64);
            let c1 = (-gamma * dt).exp();
            let c2 = ((1.0 - c1 * c1) * kt).sqrt();
            let z = expected(Stream::LangevinNoise);
            for fused in [false, true] {
                let mut s = State::new(dim, n);
                let mut ff = open_field(dim, n);
                ff.add_uniform([0.0; 3]).unwrap();
                let mut lg = Baoab::new(
                    dim,
                    n,
                    LangevinParams {
                        dt,
                        gamma,
                        kt,
                        seed,
                        stream,
                    },
                )
                .unwrap();
                lg.set_noise(kind);
                let field = if fused { Some(&mut ff) } else { None };
                lg.step(field, &mut s.view(), step, 1).1.unwrap();
                for i in 0..n {
                    let got = [s.vx[i], s.vy[i], if dim == 3 { s.vz[i] } else { 0.0 }];
                    for a in 0..dim {
                        let want = c2 * z[i * dim + a];
                        assert_eq!(
                            got[a].to_bits(),
                            want.to_bits(),
                            "BAOAB {kind:?} fused {fused} dim {dim} i {i} a {a}"
                        );
                    }
                }
            }
            // ABP without self-propulsion or force: the positions take the
            // first `dim` of the particle's `3` (2D) or `6` (3D) draws.
            let draws = if dim == 3 { 6 } else { 3 };
            let mut s = State::new(dim, n);
            s.ox = vec![0.6; n];
            s.oy = vec![0.8; n];
            s.oz = if dim == 3 { vec![0.0; n] } else { Vec::new() };
            let mut abp = ActiveBrownian::new(
                dim,
                n,
                ActiveParams {
                    dt: 1.0,
                    v0: 0.0,
                    mobility: 1.0,
                    kt: 0.5,
                    seed,
                    stream,
                    ..Default::default()
                },
            )
            .unwrap();
            abp.set_noise(kind);
            abp.step(None, &mut s.view(), step, 1).1.unwrap();
            let e0 = (step * n as u64) * draws as u64;
            let sub = Stream::ActiveRotationNoise.with_sub(stream);
            let z = noise_elements(kind, seed, sub, e0, n * draws);
            positions_are_draws(&s, &z, draws, &format!("ABP {kind:?}"));
        }
        if dim == 3 {
            continue;
        }
        // Kuramoto: one draw per oscillator; amplitude sqrt(2 D dt) = 1.
        let mut theta = vec![0.0; n];
        let mut k = Kuramoto::new(
            n,
            KuramotoParams {
                dt: 0.5,
                coupling: 0.0,
                noise: 1.0,
                seed,
                stream,
            },
        )
        .unwrap();
        k.set_noise(kind);
        k.step(&mut theta, &[], step, 1).unwrap();
        let sub = Stream::KuramotoNoise.with_sub(stream);
        let z = noise_elements(kind, seed, sub, step * n as u64, n);
        for i in 0..n {
            let want = fieldkern::integrate::state::wrap_into(z[i], std::f64::consts::TAU);
            assert_eq!(
                theta[i].to_bits(),
                want.to_bits(),
                "Kuramoto {kind:?} i {i}"
            );
        }
    }
    set_num_threads(2).unwrap();
}
