//! Reproducibility and allocation behaviour of the Ising updates: bitwise
//! identical spins and observables for 1 and 2 threads (lattices large enough
//! to be split into several parallel tasks), a run split into calls and
//! resumed from a checkpoint (spins + sweep counter + Wolff RNG state) equals
//! the unsplit run, and no sweep or cluster update allocates.
//!
//! Every test holds `support::alloc::exclusive()`: the thread count is global
//! and allocation counting sees all threads.

mod support;

use fieldkern::mc::ising::{IsingLattice, IsingParams, IsingUpdate};
use fieldkern::mc::ising_msc::IsingMsc;
use fieldkern::parallel::set_num_threads;
use support::alloc::{count_allocations, exclusive};

fn lattice_2d(l: usize, seed: u64) -> IsingLattice {
    IsingLattice::new(&IsingParams {
        lx: l,
        ly: l,
        temperature: 2.3,
        field: 0.05,
        seed,
        stream: 3,
        hot_start: true,
        ..IsingParams::default()
    })
    .unwrap()
}

fn lattice_3d(l: usize, seed: u64) -> IsingLattice {
    IsingLattice::new(&IsingParams {
        dim: 3,
        lx: l,
        ly: l,
        lz: l,
        temperature: 4.5,
        seed,
        hot_start: true,
        ..IsingParams::default()
    })
    .unwrap()
}

fn spins(lat: &IsingLattice) -> Vec<i8> {
    let mut s = vec![0i8; lat.n_sites()];
    lat.spins_into(&mut s).unwrap();
    s
}

/// Runs `sweeps` of `update` and returns spins and per-sweep observables.
fn run(mut lat: IsingLattice, update: IsingUpdate, sweeps: usize) -> (Vec<i8>, Vec<u64>) {
    let (mut e, mut m) = (vec![0.0; sweeps], vec![0.0; sweeps]);
    lat.sweep(update, sweeps, &mut e, &mut m).unwrap();
    let bits = e.iter().chain(&m).map(|v| v.to_bits()).collect();
    (spins(&lat), bits)
}

#[test]
fn checkerboard_sweeps_are_bitwise_identical_for_one_and_two_threads() {
    let _g = exclusive();
    for update in [IsingUpdate::Metropolis, IsingUpdate::HeatBath] {
        // 512^2 (2D) and 64^3 (3D) split into 4 row tasks each.
        for make in [|| lattice_2d(512, 5), || lattice_3d(64, 6)] {
            set_num_threads(1).unwrap();
            let one = run(make(), update, 6);
            set_num_threads(2).unwrap();
            let two = run(make(), update, 6);
            assert!(one == two, "{update:?}: 1 and 2 threads differ");
        }
    }
}

#[test]
fn split_runs_resumed_from_a_checkpoint_equal_unsplit_runs() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    for update in [
        IsingUpdate::Metropolis,
        IsingUpdate::HeatBath,
        IsingUpdate::MetropolisSequential,
        IsingUpdate::HeatBathSequential,
    ] {
        let (whole, _) = run(lattice_2d(64, 9), update, 10);
        // Split within one lattice: 3 + 7 sweeps.
        let mut a = lattice_2d(64, 9);
        a.sweep(update, 3, &mut [], &mut []).unwrap();
        a.sweep(update, 7, &mut [], &mut []).unwrap();
        assert_eq!(spins(&a), whole, "{update:?}: 3 + 7 sweeps differ from 10");
        // Checkpoint after 4 sweeps into a fresh lattice, resume 6.
        let mut b = lattice_2d(64, 9);
        b.sweep(update, 4, &mut [], &mut []).unwrap();
        // The seed and stream are creation parameters: the checkpoint goes
        // into a lattice created with the same parameters.
        let mut c = lattice_2d(64, 9);
        c.set_spins(&spins(&b)).unwrap();
        c.set_sweeps_done(b.sweeps_done());
        c.sweep(update, 6, &mut [], &mut []).unwrap();
        assert_eq!(spins(&c), whole, "{update:?}: checkpoint + resume differs");
    }
}

#[test]
fn wolff_resumed_from_saved_rng_state_equals_unbroken_run() {
    let _g = exclusive();
    let mut a = lattice_2d(32, 4);
    a.wolff(50, &mut [], &mut []).unwrap();
    let (saved_spins, saved_rng) = (spins(&a), a.wolff_rng_state());
    let mut e_a = vec![0.0; 50];
    a.wolff(50, &mut e_a, &mut []).unwrap();
    let mut b = lattice_2d(32, 4);
    b.set_spins(&saved_spins).unwrap();
    b.set_wolff_rng_state(saved_rng);
    let mut e_b = vec![0.0; 50];
    b.wolff(50, &mut e_b, &mut []).unwrap();
    assert_eq!(spins(&a), spins(&b));
    assert_eq!(e_a, e_b);
}

#[test]
fn sweeps_and_cluster_updates_allocate_nothing() {
    let _g = exclusive();
    for threads in [2, 1] {
        set_num_threads(threads).unwrap();
        let mut lat = lattice_2d(512, 8);
        let mut lat3 = lattice_3d(16, 8);
        let (mut e, mut m) = (vec![0.0; 3], vec![0.0; 3]);
        // Warm up the pool.
        lat.sweep(IsingUpdate::Metropolis, 1, &mut [], &mut [])
            .unwrap();
        // A freshly started worker thread, or the harness reporting another
        // test, may allocate concurrently; the kernels allocate on every call
        // or never, so the fewest allocations over three attempts must be 0.
        let allocations = (0..3)
            .map(|_| {
                count_allocations(|| {
                    for update in [
                        IsingUpdate::Metropolis,
                        IsingUpdate::HeatBath,
                        IsingUpdate::MetropolisSequential,
                        IsingUpdate::HeatBathSequential,
                    ] {
                        lat.sweep(update, 3, &mut e, &mut m).unwrap();
                        lat3.sweep(update, 3, &mut e, &mut m).unwrap();
                    }
                    lat.wolff(3, &mut e, &mut m).unwrap();
                    lat3.wolff(3, &mut e, &mut m).unwrap();
                    lat.observables()
                })
                .1
            })
            .min()
            .unwrap();
        assert_eq!(allocations, 0, "{threads} threads");
    }
}

fn msc(seed: u64) -> IsingMsc {
    IsingMsc::new(&IsingParams {
        lx: 128,
        ly: 4096,
        temperature: 2.3,
        seed,
        hot_start: true,
        ..IsingParams::default()
    })
    .unwrap()
}

fn msc_spins(lat: &IsingMsc) -> Vec<i8> {
    let mut s = vec![0i8; lat.n_sites()];
    lat.spins_into(&mut s).unwrap();
    s
}

#[test]
fn multi_spin_sweeps_are_thread_count_and_split_invariant_and_allocation_free() {
    let _g = exclusive();
    // 128 x 4096: 64 word rows of 64 words per colour, in 2 row tasks of 32.
    set_num_threads(1).unwrap();
    let mut one = msc(2);
    one.sweep(6, &mut [], &mut []).unwrap();
    set_num_threads(2).unwrap();
    let mut two = msc(2);
    two.sweep(2, &mut [], &mut []).unwrap();
    let mut resumed = msc(2);
    resumed.set_spins(&msc_spins(&two)).unwrap();
    resumed.set_sweeps_done(two.sweeps_done());
    resumed.sweep(4, &mut [], &mut []).unwrap();
    assert!(msc_spins(&one) == msc_spins(&resumed));
    let (mut e, mut m) = (vec![0.0; 3], vec![0.0; 3]);
    // Fewest over three attempts (see sweeps_and_cluster_updates_allocate_nothing).
    let allocations = (0..3)
        .map(|_| count_allocations(|| resumed.sweep(3, &mut e, &mut m).unwrap()).1)
        .min()
        .unwrap();
    assert_eq!(allocations, 0);
}

#[test]
fn worm_resumed_from_links_and_rng_state_equals_unbroken_run_and_allocates_nothing() {
    use fieldkern::mc::worm::{IsingWorm, WormParams};
    let _g = exclusive();
    let params = WormParams {
        lx: 16,
        ly: 16,
        coupling: 1.0,
        temperature: 2.3,
        seed: 12,
        stream: 1,
    };
    let mut a = IsingWorm::new(&params).unwrap();
    a.run_closed(500);
    let mut links = vec![0u8; 2 * 256];
    a.links_into(&mut links).unwrap();
    let rng = a.rng_state();
    let mut b = IsingWorm::new(&params).unwrap();
    b.set_links(&links).unwrap();
    b.set_rng_state(rng);
    // The worm either allocates on every call or never; the test harness's
    // own thread may allocate while reporting another test's result, so take
    // the fewest allocations over three attempts (on clones of `a`).
    let fewest = (0..3)
        .map(|_| {
            let mut c = a.clone();
            count_allocations(|| {
                c.run_closed(300);
                c.run(1000);
                c.run_closed(1);
            })
            .1
        })
        .min()
        .unwrap();
    assert_eq!(fewest, 0);
    a.run_closed(300);
    a.run(1000);
    a.run_closed(1);
    b.run_closed(300);
    b.run(1000);
    b.run_closed(1);
    let mut la = vec![0u8; 512];
    let mut lb = vec![0u8; 512];
    a.links_into(&mut la).unwrap();
    b.links_into(&mut lb).unwrap();
    assert_eq!(la, lb);
}
