//! The vision cone of steered active particles over a Verlet list
//! (`ActiveBrownian::reserve_vision_neighbours`): the same trajectories,
//! bit for bit, as the all-pairs scan, for 1 and 2 threads, through many
//! list rebuilds, in periodic and open boxes; a full list or a box too small
//! for the list fails with a specific error and leaves the state as it was;
//! steps (rebuilds included) allocate nothing.
//!
//! Every test holds `support::alloc::exclusive()` (thread count and the
//! allocation counter are process-wide).

mod particles_util;
mod support;

use fieldkern::error::ErrorKind;
use fieldkern::forces::{ForceField, ForceFieldParams};
use fieldkern::integrate::active::{ActiveBrownian, ActiveParams};
use fieldkern::integrate::SimBox;
use fieldkern::parallel::set_num_threads;
use particles_util::State;
use support::alloc::{count_allocations, exclusive};

/// Pedestrians: self-propelled fast enough to cross several list radii in
/// a run, with rotational and translational noise, the vision cone and the
/// goal torque on.
fn pedestrians() -> ActiveParams {
    ActiveParams {
        dt: 1e-2,
        v0: 5.0,
        dr: 0.5,
        kt: 0.1,
        seed: 21,
        vision_omega: 2.0,
        vision_angle: 1.0,
        vision_range: 3.0,
        vision_decay: 1.5,
        goal_k: 0.3,
        goal: [20.0, 20.0],
        ..Default::default()
    }
}

/// `n` particles at random in `[0, l)^2` with headings at angles `0.9 i`.
fn crowd(n: usize, l: f64, seed: u64) -> State {
    let mut s = particles_util::random_positions(2, n, l, seed);
    s.ox = (0..n).map(|i| (0.9 * i as f64).cos()).collect();
    s.oy = (0..n).map(|i| (0.9 * i as f64).sin()).collect();
    s
}

fn bits(s: &State) -> Vec<u64> {
    [&s.x, &s.y, &s.ox, &s.oy]
        .iter()
        .flat_map(|v| v.iter().map(|a| a.to_bits()))
        .collect()
}

/// Runs `steps` steps (in calls of 25) and returns the state's bits and
/// the number of list rebuilds.
fn run(sbox: SimBox, list: Option<(usize, f64)>, steps: usize) -> (Vec<u64>, u64) {
    let n = 1203; // not a multiple of 8: partial groups in both paths
    let mut s = crowd(n, 40.0, 5);
    let mut ff = ForceField::new(ForceFieldParams::without_neighbour_list(sbox, n)).unwrap();
    let mut a = ActiveBrownian::new(2, n, pedestrians()).unwrap();
    if let Some((max, skin)) = list {
        a.reserve_vision_neighbours(max, skin).unwrap();
    }
    let mut step = 0;
    while step < steps {
        let (done, r) = a.step(Some(&mut ff), &mut s.view(), step as u64, 25);
        r.unwrap();
        assert_eq!(done, 25);
        step += 25;
    }
    (bits(&s), a.vision_list_builds())
}

#[test]
fn the_vision_list_gives_the_all_pairs_trajectory_bit_for_bit_on_1_and_2_threads() {
    let _g = exclusive();
    let steps = 200;
    for sbox in [SimBox::periodic(2, [40.0, 40.0, 1.0]), SimBox::open(2)] {
        set_num_threads(1).unwrap();
        let (all_pairs, builds) = run(sbox, None, steps);
        assert_eq!(builds, 0);
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            // skin 0: rebuilt at every step; skin 1: rebuilt when someone
            // moved 0.5 (v0 dt = 0.05 per step plus noise: every few steps).
            for skin in [0.0, 1.0] {
                let (listed, builds) = run(sbox, Some((200, skin)), steps);
                assert!(
                    listed == all_pairs,
                    "{sbox:?}, {threads} threads, skin {skin}: list and all pairs differ"
                );
                let min_builds = if skin == 0.0 { steps as u64 } else { 10 };
                assert!(
                    builds >= min_builds,
                    "{sbox:?} skin {skin}: only {builds} rebuilds in {steps} steps"
                );
            }
        }
    }
    set_num_threads(2).unwrap();
}

/// `n` pedestrians in a periodic `l x l` box with a vision list of
/// `(max_neighbors, skin)`, and their force field (no pair terms).
fn listed_crowd(
    n: usize,
    l: f64,
    seed: u64,
    (max, skin): (usize, f64),
) -> (State, ForceField, ActiveBrownian) {
    let s = crowd(n, l, seed);
    let ff = ForceField::new(ForceFieldParams::without_neighbour_list(
        SimBox::periodic(2, [l, l, 1.0]),
        n,
    ))
    .unwrap();
    let mut a = ActiveBrownian::new(2, n, pedestrians()).unwrap();
    a.reserve_vision_neighbours(max, skin).unwrap();
    (s, ff, a)
}

/// Steps once; the call must fail before any step with the state bitwise
/// unchanged. Returns the error.
fn first_call_fails(
    s: &mut State,
    ff: &mut ForceField,
    a: &mut ActiveBrownian,
) -> fieldkern::error::Error {
    let before = bits(s);
    let (done, r) = a.step(Some(ff), &mut s.view(), 0, 5);
    assert_eq!(done, 0);
    assert!(bits(s) == before, "state changed by a failed call");
    r.unwrap_err()
}

#[test]
fn a_full_vision_list_fails_with_capacity_and_leaves_the_state_unchanged() {
    let _g = exclusive();
    // About 28 particles within r = 3 of each; room for 4.
    let (mut s, mut ff, mut a) = listed_crowd(400, 20.0, 9, (4, 0.5));
    let e = first_call_fails(&mut s, &mut ff, &mut a);
    assert_eq!(e.kind, ErrorKind::Capacity, "{e}");
    assert!(e.message.contains("reserve the vision list"), "{e}");
    // A larger reservation continues from the same state.
    a.reserve_vision_neighbours(200, 0.5).unwrap();
    assert_eq!(a.step(Some(&mut ff), &mut s.view(), 0, 10).0, 10);
}

#[test]
fn a_periodic_box_shorter_than_twice_the_list_radius_is_rejected_before_any_step() {
    let _g = exclusive();
    // 2 (range + skin) = 2 (3 + 1.5) = 9 > 8.5.
    let (mut s, mut ff, mut a) = listed_crowd(100, 8.5, 3, (100, 1.5));
    let e = first_call_fails(&mut s, &mut ff, &mut a);
    assert_eq!(e.kind, ErrorKind::OutOfRange, "{e}");
    assert!(
        e.to_string().contains("smaller than 2 (cutoff + skin)"),
        "{e}"
    );
    // A smaller skin fits (2 (3 + 1) = 8 <= 8.5).
    a.reserve_vision_neighbours(100, 1.0).unwrap();
    assert_eq!(a.step(Some(&mut ff), &mut s.view(), 0, 5).0, 5);
}

#[test]
fn reserving_a_vision_list_checks_its_arguments() {
    let _g = exclusive();
    let mut off = ActiveBrownian::new(
        2,
        10,
        ActiveParams {
            goal_k: 1.0,
            ..Default::default()
        },
    )
    .unwrap();
    let e = off.reserve_vision_neighbours(10, 0.5).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfRange);
    assert!(e.to_string().contains("vision cone is off"), "{e}");
    let mut a = ActiveBrownian::new(2, 10, pedestrians()).unwrap();
    let e = a.reserve_vision_neighbours(10, -0.1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfRange, "{e}");
    for skin in [f64::NAN, f64::INFINITY] {
        let e = a.reserve_vision_neighbours(10, skin).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NonFinite, "skin {skin}");
    }
    assert_eq!(a.vision_list_builds(), 0);
    // 0 = back to all pairs.
    a.reserve_vision_neighbours(10, 0.5).unwrap();
    a.reserve_vision_neighbours(0, 0.5).unwrap();
    let mut s = crowd(10, 5.0, 1);
    a.step(None, &mut s.view(), 0, 3).1.unwrap();
    assert_eq!(a.vision_list_builds(), 0);
}

#[test]
fn steps_with_a_vision_list_allocate_nothing_including_rebuilds() {
    let _g = exclusive();
    let n = 1000;
    let mut s = crowd(n, 40.0, 2);
    let mut ff = ForceField::new(ForceFieldParams::without_neighbour_list(
        SimBox::periodic(2, [40.0, 40.0, 1.0]),
        n,
    ))
    .unwrap();
    let mut a = ActiveBrownian::new(2, n, pedestrians()).unwrap();
    a.reserve_vision_neighbours(100, 0.4).unwrap();
    a.step(Some(&mut ff), &mut s.view(), 0, 1).1.unwrap();
    let builds = a.vision_list_builds();
    let ((), allocations) = count_allocations(|| {
        a.step(Some(&mut ff), &mut s.view(), 1, 60).1.unwrap();
    });
    assert_eq!(allocations, 0);
    assert!(
        a.vision_list_builds() > builds + 5,
        "too few rebuilds to test"
    );
}
