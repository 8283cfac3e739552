//! `ForceField::spatial_order` against its documentation, from a mutation
//! audit: the permutation is exactly the cell order of the neighbour grid
//! (cells x-fastest, then y, then z; a cell's particles by index), computed
//! here independently on grids whose cell size is known exactly, for small
//! and large `n`, periodic (with particles outside the primary box) and
//! open; it is computed from a fresh rebuild at the positions given, not
//! from the list of an earlier force call; applying it permutes the forces;
//! and every documented error leaves `perm` untouched.
#![allow(clippy::needless_range_loop)]

mod particles_util;

use fieldkern::forces::{ForceField, ForceFieldParams, PairKind, Trap};
use fieldkern::integrate::SimBox;
use fieldkern::ErrorKind;
use particles_util::{forces, State};

/// Box edges: 6 x 4 x 3 cells of exactly 1.5 = cutoff 1.2 + skin 0.3 (the
/// list radius; the grid uses cells of the list radius when the total does
/// not exceed capacity + 1, which every test here respects).
const EDGES: [f64; 3] = [9.0, 6.0, 4.5];
const NCELL: [usize; 3] = [6, 4, 3];
const CELL: f64 = 1.5;
/// Closest approach of two test particles (LJ sigmas are 0.28..0.33), so
/// that no single pair force dwarfs the others and the force comparison's
/// scale (the largest force) is a meaningful one.
const MIN_SEP: f64 = 0.3;

/// splitmix64, for test positions.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uniform(state: &mut u64) -> f64 {
    (next(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// `n` particles of two types in random cells, each at least 0.1 cell
/// lengths from its cell's faces (so the cell is unambiguous whatever the
/// rounding of the grid arithmetic) and at least `MIN_SEP` from the others
/// (minimum image when periodic; random sequential insertion); in a
/// periodic box every third one is then shifted by a random multiple
/// (-2..=2) of the box edge. In an open box particles 0 and 1 sit at the low
/// and high corners, so the grid spans exactly `EDGES` (origin 0, cells of
/// 1.5).
fn cell_positions(dim: usize, n: usize, periodic: bool, seed: u64) -> State {
    let mut st = seed;
    let mut s = State::new(dim, n);
    s.types = (0..n).map(|_| (next(&mut st) % 2) as u32).collect();
    let mut placed: Vec<[f64; 3]> = Vec::with_capacity(n);
    for i in 0..n {
        let r = loop {
            let mut r = [0.0; 3];
            for a in 0..dim {
                r[a] = if !periodic && i < 2 && n >= 2 {
                    EDGES[a] * i as f64
                } else {
                    let cell = (next(&mut st) % NCELL[a] as u64) as f64;
                    CELL * (cell + 0.1 + 0.8 * uniform(&mut st))
                };
            }
            let far = placed.iter().all(|q| {
                let d2: f64 = (0..dim)
                    .map(|a| {
                        let mut d = r[a] - q[a];
                        if periodic {
                            d -= EDGES[a] * (d / EDGES[a]).round();
                        }
                        d * d
                    })
                    .sum();
                d2 >= MIN_SEP * MIN_SEP
            });
            if far {
                break r;
            }
        };
        placed.push(r);
        for a in 0..dim {
            let shift = if periodic && i % 3 == 0 {
                EDGES[a] * ((next(&mut st) % 5) as f64 - 2.0)
            } else {
                0.0
            };
            [&mut s.x, &mut s.y, &mut s.z][a][i] = r[a] + shift;
        }
    }
    s
}

/// The documented order: stable sort of the indices by cell
/// `(cz ny + cy) nx + cx`, with `c = floor(x / 1.5)` of the position wrapped
/// into the box (periodic), or relative to the low corner and clamped to the
/// last cell (open: the particle on the high face belongs to the last cell).
fn reference_order(s: &State, periodic: bool) -> Vec<u32> {
    let dim = s.dim;
    let cell_of = |i: usize| {
        let mut key = 0usize;
        for a in (0..3).rev() {
            let c = if a < dim {
                let v = [&s.x, &s.y, &s.z][a][i];
                let rel = if periodic { v.rem_euclid(EDGES[a]) } else { v };
                ((rel / CELL).floor() as usize).min(NCELL[a] - 1)
            } else {
                0
            };
            key = key * if a < dim { NCELL[a] } else { 1 } + c;
        }
        key
    };
    let mut order: Vec<u32> = (0..s.n() as u32).collect();
    order.sort_by_key(|&i| cell_of(i as usize)); // stable: by index within a cell
    order
}

/// Two types, shifted LJ with cutoff 1.2 (list radius 1.5), room for
/// `capacity` particles.
fn field(dim: usize, periodic: bool, capacity: usize) -> ForceField {
    let sbox = if periodic {
        SimBox::periodic(dim, EDGES)
    } else {
        SimBox::open(dim)
    };
    let mut ff = ForceField::new(ForceFieldParams {
        sbox,
        ntypes: 2,
        capacity,
        skin: 0.3,
        max_neighbors: 256,
    })
    .unwrap();
    ff.add_pair(
        PairKind::LennardJonesShifted,
        &[1.0, 0.7, 0.7, 1.3],
        &[0.3, 0.33, 0.33, 0.28],
        &[1.2; 4],
    )
    .unwrap();
    ff
}

/// The most particles within the cutoff 1.2 of one particle (minimum image
/// when periodic).
fn most_neighbours(s: &State, periodic: bool) -> usize {
    let r = |i: usize| [s.x[i], s.y[i], if s.dim == 3 { s.z[i] } else { 0.0 }];
    (0..s.n())
        .map(|i| {
            (0..s.n())
                .filter(|&j| {
                    let (a, b) = (r(i), r(j));
                    let d2: f64 = (0..s.dim)
                        .map(|k| {
                            let mut d = a[k] - b[k];
                            if periodic {
                                d -= EDGES[k] * (d / EDGES[k]).round();
                            }
                            d * d
                        })
                        .sum();
                    j != i && d2 < 1.44
                })
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn permuted(s: &State, perm: &[u32]) -> State {
    let mut t = State::new(s.dim, s.n());
    for (k, &p) in perm.iter().enumerate() {
        let p = p as usize;
        t.x[k] = s.x[p];
        t.y[k] = s.y[p];
        if s.dim == 3 {
            t.z[k] = s.z[p];
        }
    }
    t.types = perm.iter().map(|&p| s.types[p as usize]).collect();
    t
}

/// The permutation equals the independently computed cell order for
/// n = 1, 40 (fewer particles than a parallel task) and a few hundred, in
/// 2D and 3D, periodic and open. It is computed at the positions given,
/// although the field's list was last built at other positions with the
/// same `n` (a force call at a different configuration first). Applying it
/// permutes the forces to round-off: each particle's pair terms are the
/// same numbers, only their summation order follows the new indices.
/// Reordering a sum of m terms changes it by at most (m - 1) eps (sum of
/// |terms|) <= m^2 eps f_max, with m the most neighbours within the cutoff
/// (counted here) and f_max = 470 a bound on one pair force for r >=
/// `MIN_SEP` (`24 eps_ij / r (2 (s/r)^12 - (s/r)^6)` at s/r <= 1.1, eps <= 1.3,
/// r >= 0.3: 24 * 1.3 / 0.3 * (2 * 3.14 - 1.77) = 469). Once applied, the
/// order is the identity.
#[test]
fn spatial_order_is_the_documented_cell_order_at_the_given_positions() {
    for dim in [2, 3] {
        for periodic in [true, false] {
            for n in [1usize, 40, if dim == 3 { 300 } else { 200 }] {
                // 72 cells in 3D need capacity >= 71 (cells of the list
                // radius are used up to capacity + 1 cells).
                let capacity = n.max(100);
                let mut ff = field(dim, periodic, capacity);
                let seed = 100 * dim as u64 + 10 * u64::from(periodic) + n as u64;
                let mut other = cell_positions(dim, n, periodic, seed + 1);
                forces(&mut ff, &mut other);
                let mut s = cell_positions(dim, n, periodic, seed);
                let want = reference_order(&s, periodic);
                let mut perm = vec![u32::MAX; n];
                ff.spatial_order(&s.view().positions(), &mut perm).unwrap();
                assert_eq!(perm, want, "dim {dim} periodic {periodic} n {n}");
                if n > 1 {
                    assert!(want.iter().enumerate().any(|(k, &p)| p as usize != k));
                }
                let before = forces(&mut ff, &mut s);
                let mut t = permuted(&s, &perm);
                let after = forces(&mut ff, &mut t);
                let m = most_neighbours(&s, periodic) as f64;
                let tol = m * m * f64::EPSILON * 470.0;
                for (k, &p) in perm.iter().enumerate() {
                    for a in 0..3 {
                        let (w, g) = (before[p as usize][a], after[k][a]);
                        assert!(
                            (w - g).abs() <= tol,
                            "dim {dim} periodic {periodic} n {n}: {p} -> {k} axis {a}: {w} vs {g}"
                        );
                    }
                }
                let mut again = vec![u32::MAX; n];
                ff.spatial_order(&t.view().positions(), &mut again).unwrap();
                assert!(again.iter().enumerate().all(|(k, &p)| p as usize == k));
            }
        }
    }
}

/// Errors leave `perm` untouched: `perm` longer or shorter than `n`
/// (`InvalidSize`), `n` above the capacity, with and without short-range
/// terms (`Capacity`), the wrong dimension (`InvalidSize`), a type out of
/// range (`OutOfRange`), a NaN position (`NonFinite`), and a delayed trap
/// next to a short-range term (`OutOfRange`).
#[test]
fn spatial_order_errors_leave_perm_untouched() {
    let n = 40;
    let s = cell_positions(3, n, true, 9);
    let untouched = |perm: &[u32]| perm.iter().all(|&p| p == 7);
    let mut with_pairs = field(3, true, 100);
    let mut trap_only = ForceField::new(ForceFieldParams {
        sbox: SimBox::periodic(3, EDGES),
        ntypes: 2,
        capacity: 100,
        skin: 0.3,
        max_neighbors: 16,
    })
    .unwrap();
    trap_only
        .add_trap(Trap::Harmonic {
            k: 1.0,
            centre: [1.0; 3],
        })
        .unwrap();
    let mut s = s;
    for len in [n - 1, n + 1, 0] {
        let mut perm = vec![7u32; len];
        for ff in [&mut with_pairs, &mut trap_only] {
            let e = ff
                .spatial_order(&s.view().positions(), &mut perm)
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidSize, "len {len}");
            assert!(untouched(&perm));
        }
    }
    // n above capacity.
    let mut small = field(3, true, n - 1);
    let mut small_trap_only = ForceField::new(ForceFieldParams {
        capacity: n - 1,
        ..*trap_only.params()
    })
    .unwrap();
    for ff in [&mut small, &mut small_trap_only] {
        let mut perm = vec![7u32; n];
        let e = ff
            .spatial_order(&s.view().positions(), &mut perm)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Capacity);
        assert!(untouched(&perm));
    }
    // Wrong dimension.
    let mut flat = cell_positions(2, n, true, 9);
    let mut perm = vec![7u32; n];
    let e = with_pairs
        .spatial_order(&flat.view().positions(), &mut perm)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidSize);
    assert!(untouched(&perm));
    // Type out of range, NaN position.
    s.types[5] = 2;
    let e = with_pairs
        .spatial_order(&s.view().positions(), &mut perm)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfRange);
    assert!(untouched(&perm));
    s.types[5] = 1;
    s.z[7] = f64::NAN;
    let e = with_pairs
        .spatial_order(&s.view().positions(), &mut perm)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NonFinite);
    assert!(untouched(&perm));
    s.z[7] = 1.0;
    // A delayed trap next to a pair term.
    with_pairs
        .add_delayed_trap(
            Trap::Harmonic {
                k: 1.0,
                centre: [1.0; 3],
            },
            2,
        )
        .unwrap();
    let e = with_pairs
        .spatial_order(&s.view().positions(), &mut perm)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfRange);
    assert!(untouched(&perm));
}
