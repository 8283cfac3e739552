//! The coffee automaton (`src/mc/coffee.rs`): entropy (compressed size of the
//! fine-grained state) rises in expectation for both variants; the apparent
//! complexity (compressed size of the coarse-grained, thresholded state) of
//! the interacting cup rises and then falls back; cream is conserved; results
//! are bitwise identical for 1 and 2 threads and across a restart; stepping
//! and measuring allocate nothing.
//!
//! Every test holds `support::alloc::exclusive()`. Expectations are means
//! over independent cups (different streams); tolerances are in standard
//! errors of those means.

mod support;

use fieldkern::mc::coffee::{Coffee, CoffeeVariant};
use fieldkern::parallel::set_num_threads;
use support::alloc::{count_allocations, exclusive};

const SIDE: usize = 64;
const GRAIN: usize = 15;
const TIMES: [u64; 7] = [0, 30, 100, 300, 1000, 2000, 4000];

/// Per time: (mean, standard error) of entropy and of complexity over `runs` cups.
fn trajectories(variant: CoffeeVariant, runs: u64) -> Vec<[(f64, f64); 2]> {
    let mut samples = vec![[Vec::new(), Vec::new()]; TIMES.len()];
    for run in 0..runs {
        let mut c = Coffee::new(SIDE, variant, 2026, run).unwrap();
        let mut t = 0;
        for (i, &target) in TIMES.iter().enumerate() {
            c.step(target - t);
            t = target;
            let m = c.measure(GRAIN, 3, false).unwrap();
            samples[i][0].push(m.entropy as f64);
            samples[i][1].push(m.complexity as f64);
        }
    }
    let stat = |v: &Vec<f64>| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    };
    samples.iter().map(|s| [stat(&s[0]), stat(&s[1])]).collect()
}

#[test]
fn entropy_rises_in_expectation_in_both_variants() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    for variant in [CoffeeVariant::Interacting, CoffeeVariant::NonInteracting] {
        let tr = trajectories(variant, 4);
        for k in 1..TIMES.len() {
            let ((a, sa), (b, sb)) = (tr[k - 1][0], tr[k][0]);
            // Non-decreasing within 4 standard errors of the difference (at
            // equilibrium the compressed size fluctuates around its plateau);
            // the plateau is at least 10x the ordered initial state.
            let se = (sa * sa + sb * sb).sqrt();
            eprintln!("{variant:?} t = {}: entropy {b:.0} +- {sb:.1}", TIMES[k]);
            assert!(
                b > a - 4.0 * se.max(1.0),
                "{variant:?}: {a} -> {b} at t = {}",
                TIMES[k]
            );
        }
        assert!(tr[TIMES.len() - 1][0].0 > 10.0 * tr[0][0].0);
    }
}

#[test]
fn interacting_complexity_rises_then_falls() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    for variant in [
        CoffeeVariant::Interacting,
        CoffeeVariant::InteractingSequential,
    ] {
        complexity_rises_then_falls(variant);
    }
}

fn complexity_rises_then_falls(variant: CoffeeVariant) {
    let tr = trajectories(variant, 5);
    let (c0, _) = tr[0][1];
    let (peak_i, &[_, (peak, peak_se)]) = tr
        .iter()
        .enumerate()
        .max_by(|a, b| a.1[1].0.total_cmp(&b.1[1].0))
        .unwrap();
    let (end, end_se) = tr[TIMES.len() - 1][1];
    for (t, s) in TIMES.iter().zip(&tr) {
        eprintln!(
            "{variant:?} t = {t}: complexity {:.0} +- {:.1}",
            s[1].0, s[1].1
        );
    }
    // The paper's Sec. 5 measurement (plain 3-bucket thresholding), as the
    // issue asks. The ordered start and the mixed end are both simple; in
    // between the thresholded profile has a rough front. (The authors now
    // attribute this bump to thresholding at the front, not to complexity
    // of the state: see the module doc of `fieldkern::mc::coffee`.) Rise: the peak exceeds the start
    // by a factor 2 and by 5 standard errors; fall: the end is below half the
    // peak by 5 standard errors of the difference. The peak is interior.
    assert!(
        peak_i > 0 && peak_i < TIMES.len() - 1,
        "peak at t = {}",
        TIMES[peak_i]
    );
    assert!(
        peak > 2.0 * c0 && peak - c0 > 5.0 * peak_se,
        "rise: {c0} -> {peak} +- {peak_se}"
    );
    let diff_se = (peak_se * peak_se + end_se * end_se).sqrt();
    assert!(
        end < 0.5 * peak && peak - end > 5.0 * diff_se,
        "fall: {peak} +- {peak_se} -> {end} +- {end_se}"
    );
}

#[test]
fn cream_is_conserved_and_runs_are_bitwise_identical_for_one_and_two_threads() {
    let _g = exclusive();
    for variant in [
        CoffeeVariant::Interacting,
        CoffeeVariant::NonInteracting,
        CoffeeVariant::InteractingSequential,
    ] {
        let run = |threads| {
            set_num_threads(threads).unwrap();
            let mut c = Coffee::new(96, variant, 5, 1).unwrap();
            c.step(77);
            assert_eq!(c.total_cream(), 96 * 96 / 2);
            (c.cells().to_vec(), c.measure(9, 3, false).unwrap())
        };
        let one = run(1);
        let two = run(2);
        assert_eq!(one, two, "{variant:?}");
        let cream: u64 = one.0.iter().map(|&c| u64::from(c)).sum();
        assert_eq!(cream, 96 * 96 / 2);
    }
}

#[test]
fn an_interacting_cup_restarted_from_its_cells_continues_bitwise() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let mut a = Coffee::new(64, CoffeeVariant::Interacting, 8, 2).unwrap();
    a.step(40);
    let mut b = Coffee::new(64, CoffeeVariant::Interacting, 8, 2).unwrap();
    b.set_cells(a.cells(), a.steps_done()).unwrap();
    a.step(25);
    b.step(25);
    assert_eq!(a.cells(), b.cells());
}

#[test]
fn a_sequential_cup_restarted_from_its_cells_and_stream_continues_bitwise() {
    let _g = exclusive();
    let v = CoffeeVariant::InteractingSequential;
    let mut a = Coffee::new(64, v, 8, 2).unwrap();
    a.step(40);
    let mut b = Coffee::new(64, v, 1, 1).unwrap();
    b.set_cells(a.cells(), a.steps_done()).unwrap();
    b.set_seq_rng_state(a.seq_rng_state());
    a.step(25);
    b.step(25);
    assert_eq!(a.cells(), b.cells());
    assert_eq!(a.total_cream(), 64 * 64 / 2);
}

#[test]
fn stepping_and_measuring_allocate_nothing() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    for variant in [
        CoffeeVariant::Interacting,
        CoffeeVariant::NonInteracting,
        CoffeeVariant::InteractingSequential,
    ] {
        let mut c = Coffee::new(256, variant, 1, 1).unwrap();
        c.step(1);
        c.measure(8, 3, true).unwrap();
        let (r, allocations) = count_allocations(|| {
            c.step(5);
            c.measure(8, 3, false).and(c.measure(15, 7, true))
        });
        r.unwrap();
        assert_eq!(allocations, 0, "{variant:?}");
    }
}

/// The paper's claim "the non-interacting cup's apparent complexity stays
/// low" measured at the paper's grid size (N = 100; grain g = 10; plain
/// 3-bucket thresholding and the adjusted 7-bucket coarse-graining), for the
/// three variants, 4 cups each: prints mean +- standard error of the
/// complexity (deflate bytes) per time. Ignored (about a minute on a loaded
/// machine): it documents a measurement and asserts nothing, because the
/// claim is NOT reproduced (run with `--ignored --nocapture`).
///
/// Measured (2026-11-28; steps: interacting = one sweep of the parallel
/// bond exchange, sequential = 2N(N-1) random-pair moves, non-interacting =
/// one move per particle), times 0 10 30 100 300 1000 2000 4000 8000 16000:
/// mean +- standard error over 4 cups (deflate bytes):
/// ```text
/// sequential, plain 3:    32 77+-3 104+-5 155+-6 235+-14 545+-35 275+-25 58+-12 45+-6 52+-8
/// sequential, adjusted 7: 40 40 41 40 45+-4 51+-5 71+-8 32+-3 28 28+-1
/// parallel, plain 3:      32 77+-4 104+-1 159+-6 237+-13 582+-30 250+-25 59+-5 53+-9 68+-10
/// parallel, adjusted 7:   40 40 40 41+-1 42+-2 52+-3 65+-12 30+-2 28+-2 36+-4
/// non-int., plain 3:      32 83+-2 100+-2 150+-6 210+-13 286+-17 425+-33 746+-17 489+-23 234+-24
/// non-int., adjusted 7:   40 40+-1 50+-4 76+-5 105+-19 109+-7 183+-19 190+-9 176+-26 98+-19
/// ```
/// With plain thresholding the non-interacting cup rises and falls like the
/// interacting ones (peak higher, later); with the adjusted coarse-graining
/// the interacting cups stay nearly flat while the non-interacting one rises
/// to ~4.8x its start: the opposite of the paper's claim. The authors have
/// since withdrawn the experimental part of the paper (see the module doc
/// of `fieldkern::mc::coffee`): the interacting cup's apparent complexity
/// provably stays small, and the bump they measured was a thresholding
/// artifact, as the plain 3-bucket curves here show.
///
/// The sequential (paper) rule and the parallel bond exchange give the same
/// curves within the noise (both are the symmetric exclusion process with
/// the same bond rate, 1 per step).
#[test]
#[ignore]
fn measured_complexity_of_the_three_variants_at_the_papers_grid_size() {
    let _g = exclusive();
    set_num_threads(2).unwrap();
    let n = 100;
    let times: Vec<u64> = vec![0, 10, 30, 100, 300, 1000, 2000, 4000, 8000, 16000];
    let runs = 4;
    let settings = [(10usize, 3u32, false), (10, 7, true)];
    for variant in [
        CoffeeVariant::InteractingSequential,
        CoffeeVariant::Interacting,
        CoffeeVariant::NonInteracting,
    ] {
        // samples[setting][time][run]
        let mut samples = vec![vec![Vec::new(); times.len()]; settings.len()];
        for run in 0..runs {
            let mut c = Coffee::new(n, variant, 99, run).unwrap();
            let mut t = 0;
            for (i, &target) in times.iter().enumerate() {
                c.step(target - t);
                t = target;
                for (k, &(grain, buckets, adjust)) in settings.iter().enumerate() {
                    let m = c.measure(grain, buckets, adjust).unwrap();
                    samples[k][i].push(m.complexity as f64);
                }
            }
        }
        for (k, &(grain, buckets, adjust)) in settings.iter().enumerate() {
            let line: Vec<String> = samples[k]
                .iter()
                .map(|v: &Vec<f64>| {
                    let m = v.iter().sum::<f64>() / runs as f64;
                    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (runs - 1) as f64;
                    format!("{m:.0}+-{:.0}", (var / runs as f64).sqrt())
                })
                .collect();
            println!(
                "{variant:?} g={grain} buckets={buckets} adjusted={adjust}: {}",
                line.join(" ")
            );
        }
    }
}
