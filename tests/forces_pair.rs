//! Force-field checks: cell-list forces equal all-pairs forces, short-range
//! energies, virials and forces and the long-range SIMD kernel equal scalar
//! references, and the cut LJ fluid reproduces the
//! NIST Standard Reference Simulation Website (SRSW) state point.
#![allow(clippy::needless_range_loop)]

mod particles_util;

use fieldkern::forces::{ForceField, ForceFieldParams, PairKind, Trap};
use fieldkern::integrate::langevin::{Baoab, LangevinParams};
use fieldkern::integrate::SimBox;
use fieldkern::ErrorKind;
use particles_util::{block_mean_se, cube_or_open, energy, fcc, forces, random_positions, State};

/// A two-type field with a shifted LJ term (per-pair eps, sigma, cutoff),
/// skin 0.4, room for `n` particles.
fn two_type_lj(dim: usize, periodic: bool, l: f64, n: usize) -> ForceField {
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: cube_or_open(dim, periodic, l),
        ntypes: 2,
        capacity: n,
        skin: 0.4,
        max_neighbors: 256,
    })
    .unwrap();
    ff.add_pair(
        PairKind::LennardJonesShifted,
        &[1.0, 0.7, 0.7, 1.3],
        &[1.0, 1.1, 1.1, 0.9],
        &[2.5, 2.6, 2.6, 2.2],
    )
    .unwrap();
    ff
}

/// A random two-type system in a dense box (1500 particles in 3D, 800 in
/// 2D) with the `two_type_lj` field: `(state, field, n)`.
fn random_two_type_system(dim: usize, periodic: bool, seed: u64) -> (State, ForceField, usize) {
    let n = if dim == 3 { 1500 } else { 800 };
    let l = if dim == 3 { 12.0 } else { 28.0 };
    let mut s = random_positions(dim, n, l, seed);
    s.types = (0..n).map(|i| (i % 2) as u32).collect();
    (s, two_type_lj(dim, periodic, l, n), n)
}

/// Two types with different sigma/eps and three short-range terms (LJ,
/// WCA, cut Coulomb) on random configurations: the neighbour-list forces
/// must equal the all-pairs loop to 1e-12 relative (the bound) and
/// in fact exactly (they sum the same pairs in the same index order).
#[test]
fn cell_list_forces_equal_all_pairs_forces() {
    for dim in [2, 3] {
        for periodic in [true, false] {
            let (mut s, mut ff, _) = random_two_type_system(dim, periodic, 3 + dim as u64);
            ff.add_pair(PairKind::Wca, &[0.5; 4], &[0.8; 4], &[0.0; 4])
                .unwrap();
            ff.add_pair(
                PairKind::CoulombCut,
                &[1.0, -1.0, -1.0, 1.0],
                &[0.0; 4],
                &[3.0; 4],
            )
            .unwrap();
            let with_cells = forces(&mut ff, &mut s);
            let (u_cells, w_cells, _) = ff.totals();
            ff.set_use_neighbour_list(false);
            let all_pairs = forces(&mut ff, &mut s);
            let (u_all, w_all, _) = ff.totals();
            let scale = all_pairs
                .iter()
                .flat_map(|f| f.iter())
                .fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, (a, b)) in with_cells.iter().zip(&all_pairs).enumerate() {
                for k in 0..3 {
                    assert!(
                        (a[k] - b[k]).abs() <= 1e-12 * scale,
                        "dim {dim} periodic {periodic} particle {i}: {a:?} vs {b:?}"
                    );
                }
            }
            assert!((u_cells - u_all).abs() <= 1e-12 * u_all.abs().max(1.0));
            assert!((w_cells - w_all).abs() <= 1e-12 * w_all.abs().max(1.0));
            // Stronger, and what the design promises: the list path (cell
            // order, rows sorted by particle index) adds the same numbers in
            // the same order as the all-pairs loop, whose extra pairs add
            // exact zeros, so forces and energies are equal, not just close.
            assert_eq!(with_cells, all_pairs, "dim {dim} periodic {periodic}");
            assert_eq!(
                (u_cells, w_cells),
                (u_all, w_all),
                "dim {dim} periodic {periodic}"
            );
        }
    }
}

/// Every short-range pair kind against a scalar loop over the pairs written
/// from the documented potentials: per-term energies and virials
/// (`W = sum_pairs r_ij . F_ij`) and the total forces, in 2D and 3D, open and
/// periodic, two particle types with per-type-pair parameters. Terms: LJ cut
/// and shifted (`u - u(r_c)`), LJ cut (not shifted), WCA (cut at
/// `2^(1/6) sigma`, shifted up by `eps`) and cut-and-shifted Coulomb
/// (`k/r - k/r_c`). Positions: a lattice of spacing ~1 with random
/// displacements of up to 0.15 per axis, so no pair is closer than ~0.7 and
/// every pair contributes at a comparable scale (a random gas would let one
/// overlapping pair dominate the sums and hide errors in the rest).
/// Tolerance: 1e-12 of the sum of the pairs' absolute contributions
/// (summation order differs).
#[test]
fn short_range_energies_virials_and_forces_match_a_scalar_reference() {
    // (kind, eps or k per type pair, sigma, cutoff)
    type Term = (PairKind, [f64; 4], [f64; 4], [f64; 4]);
    let terms: [Term; 4] = [
        (
            PairKind::LennardJonesShifted,
            [1.0, 0.7, 0.7, 1.3],
            [1.0, 1.1, 1.1, 0.9],
            [2.5, 2.6, 2.6, 2.2],
        ),
        (
            PairKind::LennardJones,
            [0.4, 0.6, 0.6, 0.9],
            [0.9, 1.0, 1.0, 1.2],
            [2.0, 2.4, 2.4, 2.9],
        ),
        (
            PairKind::Wca,
            [0.5, 0.8, 0.8, 1.1],
            [0.8, 1.0, 1.0, 1.2],
            [0.0; 4],
        ),
        (
            PairKind::CoulombCut,
            [1.0, -1.0, -1.0, 1.0],
            [0.0; 4],
            [3.0, 3.0, 3.0, 3.0],
        ),
    ];
    // Documented pair potential: (u, f_r) with the force on i `f_r r_ij`.
    let pair = |kind: PairKind, e: f64, sg: f64, rc: f64, r2: f64| -> (f64, f64) {
        let lj = |r2: f64| {
            let s6 = (sg * sg / r2).powi(3);
            (
                4.0 * e * (s6 * s6 - s6),
                24.0 * e * (2.0 * s6 * s6 - s6) / r2,
            )
        };
        match kind {
            PairKind::LennardJones if r2 < rc * rc => lj(r2),
            PairKind::LennardJonesShifted if r2 < rc * rc => {
                let (u, f) = lj(r2);
                (u - lj(rc * rc).0, f)
            }
            PairKind::Wca if r2 < 2f64.powf(1.0 / 3.0) * sg * sg => {
                let (u, f) = lj(r2);
                (u + e, f)
            }
            PairKind::CoulombCut if r2 < rc * rc => {
                let r = r2.sqrt();
                (e / r - e / rc, e / (r2 * r))
            }
            _ => (0.0, 0.0),
        }
    };
    for dim in [2, 3] {
        for periodic in [true, false] {
            let per_side = if dim == 3 { 10 } else { 30 };
            let l = per_side as f64 * 1.05;
            let mut s = particles_util::lattice(dim, per_side, l);
            let n = s.n();
            let mut u = vec![0.0; 3 * n];
            fieldkern::rng::fill::fill_uniform_f64(9, dim as u64, 0, &mut u).unwrap();
            for i in 0..n {
                s.x[i] += 0.3 * (u[3 * i] - 0.5);
                s.y[i] += 0.3 * (u[3 * i + 1] - 0.5);
                if dim == 3 {
                    s.z[i] += 0.3 * (u[3 * i + 2] - 0.5);
                }
            }
            s.types = (0..n).map(|i| ((i * 7 / 3) % 2) as u32).collect();
            let sbox = cube_or_open(dim, periodic, l);
            let mut ff = ForceField::new(ForceFieldParams {
                sbox,
                ntypes: 2,
                capacity: n,
                skin: 0.3,
                max_neighbors: 256,
            })
            .unwrap();
            for (kind, e, sg, rc) in &terms {
                ff.add_pair(*kind, e, sg, rc).unwrap();
            }
            let got = forces(&mut ff, &mut s);
            let mut f_ref = vec![[0.0f64; 3]; n];
            let mut f_scale = vec![0.0f64; n];
            for (t, (kind, e, sg, rc)) in terms.iter().enumerate() {
                let (mut u_ref, mut w_ref, mut u_abs, mut w_abs) = (0.0, 0.0, 0.0, 0.0);
                for i in 0..n {
                    for j in i + 1..n {
                        let d = [
                            sbox.min_image(0, s.x[i] - s.x[j]),
                            sbox.min_image(1, s.y[i] - s.y[j]),
                            if dim == 3 {
                                sbox.min_image(2, s.z[i] - s.z[j])
                            } else {
                                0.0
                            },
                        ];
                        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        let p = 2 * s.types[i] as usize + s.types[j] as usize;
                        let (uij, fr) = pair(*kind, e[p], sg[p], rc[p], r2);
                        u_ref += uij;
                        w_ref += fr * r2;
                        u_abs += uij.abs();
                        w_abs += (fr * r2).abs();
                        for a in 0..3 {
                            f_ref[i][a] += fr * d[a];
                            f_ref[j][a] -= fr * d[a];
                        }
                        f_scale[i] += (fr * fr * r2).sqrt();
                        f_scale[j] += (fr * fr * r2).sqrt();
                    }
                }
                let (u_got, w_got) = ff.term_energy(t).unwrap();
                let what = format!("{kind:?}, dim {dim}, periodic {periodic}");
                assert!(u_abs > 0.0 && w_abs > 0.0, "{what}: no pair in range");
                assert!(
                    (u_got - u_ref).abs() <= 1e-12 * u_abs,
                    "{what}: U {u_got} vs {u_ref}"
                );
                assert!(
                    (w_got - w_ref).abs() <= 1e-12 * w_abs,
                    "{what}: W {w_got} vs {w_ref}"
                );
            }
            for i in 0..n {
                for a in 0..dim {
                    assert!(
                        (got[i][a] - f_ref[i][a]).abs() <= 1e-12 * f_scale[i],
                        "dim {dim} periodic {periodic} particle {i}: {:?} vs {:?}",
                        got[i],
                        f_ref[i]
                    );
                }
            }
        }
    }
}

/// The all-pairs SIMD kernel (softened gravity, Plummer Coulomb, plain
/// Coulomb, with per-type strengths) against a scalar double loop: equal to
/// 1e-12 relative (different summation order only).
#[test]
fn all_pairs_simd_kernel_matches_scalar_reference() {
    let n = 203; // not a multiple of the lane count
    let l = 10.0;
    let mut s = random_positions(3, n, l, 9);
    s.types = (0..n).map(|i| (i % 3) as u32).collect();
    let strength = [1.0, 2.0, 3.0, 2.0, 4.0, 6.0, 3.0, 6.0, 9.0];
    for (kind, soft) in [
        (PairKind::Gravity, 0.1),
        (PairKind::CoulombPlummer, 0.3),
        (PairKind::Coulomb, 0.0),
    ] {
        for periodic in [false, true] {
            let sbox = cube_or_open(3, periodic, l);
            let mut ff = ForceField::new(ForceFieldParams {
                sbox,
                ntypes: 3,
                capacity: n,
                skin: 0.0,
                max_neighbors: 1,
            })
            .unwrap();
            ff.add_pair(kind, &strength, &[soft; 9], &[0.0; 9]).unwrap();
            let got = forces(&mut ff, &mut s);
            let (u, _, _) = ff.totals();
            let mut u_ref = 0.0;
            for i in 0..n {
                let mut f = [0.0; 3];
                for j in 0..n {
                    if i == j {
                        continue;
                    }
                    let k = strength[3 * s.types[i] as usize + s.types[j] as usize];
                    let d = [
                        sbox.min_image(0, s.x[i] - s.x[j]),
                        sbox.min_image(1, s.y[i] - s.y[j]),
                        sbox.min_image(2, s.z[i] - s.z[j]),
                    ];
                    let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + soft * soft;
                    let sign = if kind == PairKind::Gravity { -1.0 } else { 1.0 };
                    let fr = sign * k / (r2 * r2.sqrt());
                    u_ref += 0.5 * sign * k / r2.sqrt();
                    for a in 0..3 {
                        f[a] += fr * d[a];
                    }
                }
                let norm = (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt();
                for a in 0..3 {
                    assert!(
                        (got[i][a] - f[a]).abs() <= 1e-12 * norm.max(1e-300) * 10.0,
                        "{kind:?} particle {i}: {:?} vs {f:?}",
                        got[i]
                    );
                }
            }
            assert!((u - u_ref).abs() <= 1e-12 * u_ref.abs());
        }
    }
}

/// More particle types than the all-pairs kernel tabulates per tile (8):
/// the per-partner gather path, Plummer Coulomb with per-pair strengths and
/// softenings, against a scalar double loop to 1e-12 relative.
#[test]
fn all_pairs_kernel_with_many_types_matches_scalar_reference() {
    let (n, nt, l) = (203, 10, 6.0);
    let mut s = random_positions(3, n, l, 5);
    s.types = (0..n).map(|i| ((i * 7) % nt) as u32).collect();
    let strength: Vec<f64> = (0..nt * nt)
        .map(|p| 1.0 + ((p / nt) + (p % nt)) as f64)
        .collect();
    let length: Vec<f64> = (0..nt * nt)
        .map(|p| 0.1 + 0.01 * ((p / nt) * (p % nt)) as f64)
        .collect();
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: SimBox::open(3),
        ntypes: nt,
        capacity: n,
        skin: 0.0,
        max_neighbors: 1,
    })
    .unwrap();
    ff.add_pair(
        PairKind::CoulombPlummer,
        &strength,
        &length,
        &vec![0.0; nt * nt],
    )
    .unwrap();
    let got = forces(&mut ff, &mut s);
    let (u, _, _) = ff.totals();
    let mut u_ref = 0.0;
    for i in 0..n {
        let mut f = [0.0; 3];
        for j in 0..n {
            if i == j {
                continue;
            }
            let p = nt * s.types[i] as usize + s.types[j] as usize;
            let d = [s.x[i] - s.x[j], s.y[i] - s.y[j], s.z[i] - s.z[j]];
            let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + length[p] * length[p];
            let fr = strength[p] / (d2 * d2.sqrt());
            u_ref += 0.5 * strength[p] / d2.sqrt();
            for a in 0..3 {
                f[a] += fr * d[a];
            }
        }
        let norm = (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt();
        for a in 0..3 {
            assert!(
                (got[i][a] - f[a]).abs() <= 1e-12 * norm,
                "particle {i}: {:?} vs {f:?}",
                got[i]
            );
        }
    }
    assert!((u - u_ref).abs() <= 1e-12 * u_ref.abs());
}

/// The one-type (uniform) fast path of the all-pairs kernel, which scales by
/// `k` once per particle instead of per pair, in 2D and 3D, open and
/// periodic, with n spanning several force segments and not a multiple of
/// the tile: forces, energy and virial equal a scalar double loop to 1e-12
/// relative (the rsqrt error is a few ulp per pair, the summation order
/// differs; both far below 1e-12 at n = 1500). Also: forces do not depend on
/// whether energies were requested.
#[test]
fn all_pairs_uniform_kernel_matches_scalar_reference() {
    let n = 1500;
    let l = 10.0;
    let k = 0.7;
    for (kind, soft) in [
        (PairKind::Gravity, 0.05),
        (PairKind::CoulombPlummer, 0.2),
        (PairKind::Coulomb, 0.0),
    ] {
        for dim in [2, 3] {
            for periodic in [false, true] {
                let mut s = random_positions(dim, n, l, 11);
                let sbox = cube_or_open(dim, periodic, l);
                let mut ff =
                    ForceField::new(ForceFieldParams::without_neighbour_list(sbox, n)).unwrap();
                ff.add_pair(kind, &[k], &[soft], &[0.0]).unwrap();
                let got = forces(&mut ff, &mut s);
                let (u, w, _) = ff.totals();
                let (mut fx, mut fy, mut fz) = (vec![0.0; n], vec![0.0; n], vec![0.0; s.z.len()]);
                let p = s.view();
                ff.compute(&p.positions(), 0, &mut fx, &mut fy, &mut fz, false)
                    .unwrap();
                for i in 0..n {
                    assert_eq!(got[i][0].to_bits(), fx[i].to_bits());
                    assert_eq!(got[i][1].to_bits(), fy[i].to_bits());
                    if dim == 3 {
                        assert_eq!(got[i][2].to_bits(), fz[i].to_bits());
                    }
                }
                let sign = if kind == PairKind::Gravity { -1.0 } else { 1.0 };
                let (mut u_ref, mut w_ref) = (0.0, 0.0);
                for i in 0..n {
                    let mut f = [0.0; 3];
                    for j in 0..n {
                        if i == j {
                            continue;
                        }
                        let mut d = [
                            sbox.min_image(0, s.x[i] - s.x[j]),
                            sbox.min_image(1, s.y[i] - s.y[j]),
                            0.0,
                        ];
                        if dim == 3 {
                            d[2] = sbox.min_image(2, s.z[i] - s.z[j]);
                        }
                        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        let d2 = r2 + soft * soft;
                        let fr = sign * k / (d2 * d2.sqrt());
                        u_ref += 0.5 * sign * k / d2.sqrt();
                        w_ref += 0.5 * fr * r2;
                        for a in 0..3 {
                            f[a] += fr * d[a];
                        }
                    }
                    let norm = (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt();
                    for a in 0..dim {
                        assert!(
                            (got[i][a] - f[a]).abs() <= 1e-12 * norm,
                            "{kind:?} dim {dim} periodic {periodic} particle {i}: {:?} vs {f:?}",
                            got[i]
                        );
                    }
                }
                assert!((u - u_ref).abs() <= 1e-12 * u_ref.abs(), "{u} vs {u_ref}");
                assert!((w - w_ref).abs() <= 1e-12 * w_ref.abs(), "{w} vs {w_ref}");
            }
        }
    }
}

/// NIST SRSW, "MC: NVT Monte Carlo results" for the LJ fluid truncated (not
/// shifted) at 3 sigma, N = 500, T* = 0.85, reported with the analytic
/// long-range (tail) corrections
/// (https://mmlapps.nist.gov/srs/LJ_PURE/mc.htm; values also in the NIST
/// page "Lennard-Jones Fluid Properties"): at rho* = 0.776,
/// U/N = -5.5121 (sd of their replicate means 4e-4) and p* = 6.7714e-3.
///
/// We sample the same state with BAOAB (dt = 0.005, gamma = 1: configurational
/// bias O(dt^2) ~ 1e-4, far below the error bars) for 16000 steps after 2000
/// of equilibration, recording every 10 steps; the standard error comes from
/// 16 blocks of 1000 steps (5 time units, much longer than the energy and
/// virial correlation times). We add the standard tail corrections
/// (Allen & Tildesley eq. 2.144): U_tail/N = (8/3) pi rho [rc^-9/3 - rc^-3],
/// p_tail = (16/3) pi rho^2 [(2/3) rc^-9 - rc^-3]. The test demands agreement
/// within 3 (SE + NIST sd) for the energy and 3 SE for the pressure (p from
/// the virial plus the ideal-gas term rho kT). The pressure is the weak half:
/// p* is a small difference of two large terms, and its standard error here
/// (~0.02, from the O(1) virial fluctuations of 500 particles) is three times
/// p* itself, so it only catches gross errors (a 10% virial error moves p by
/// ~0.025 and passes). The virial that enters it is checked exactly against
/// a scalar reference in
/// `short_range_energies_virials_and_forces_match_a_scalar_reference`.
#[test]
fn lj_fluid_matches_nist_srsw_energy_and_pressure() {
    let (mut s, l) = fcc(5, 0.776);
    s.thermalise(0.85, 5);
    let n = s.n();
    let mut ff = particles_util::pair_field(
        SimBox::periodic(3, [l; 3]),
        n,
        PairKind::LennardJones,
        1.0,
        1.0,
        3.0,
        0.3,
        200,
    );
    let kt = 0.85;
    let mut lg = Baoab::new(
        3,
        n,
        LangevinParams {
            dt: 0.005,
            gamma: 1.0,
            kt,
            seed: 2024,
            stream: 0,
        },
    )
    .unwrap();
    lg.step(Some(&mut ff), &mut s.view(), 0, 2000).1.unwrap();
    let mut us = Vec::new();
    let mut ps = Vec::new();
    let v = l * l * l;
    let rho = n as f64 / v;
    let rc: f64 = 3.0;
    let pi = std::f64::consts::PI;
    let u_tail = 8.0 / 3.0 * pi * rho * (rc.powi(-9) / 3.0 - rc.powi(-3));
    let p_tail = 16.0 / 3.0 * pi * rho * rho * (2.0 / 3.0 * rc.powi(-9) - rc.powi(-3));
    let mut step = 2000;
    for _ in 0..1600 {
        lg.step(Some(&mut ff), &mut s.view(), step, 10).1.unwrap();
        step += 10;
        let (u, w) = energy(&mut ff, &mut s);
        us.push(u / n as f64 + u_tail);
        ps.push(rho * kt + w / (3.0 * v) + p_tail);
    }
    let (u, u_se) = block_mean_se(&us, 16);
    let (p, p_se) = block_mean_se(&ps, 16);
    println!("U/N = {u} +- {u_se} (NIST -5.5121 +- 4e-4); p = {p} +- {p_se} (NIST 6.7714e-3)");
    assert!(
        (u + 5.5121).abs() < 3.0 * (u_se + 4e-4),
        "U/N = {u} +- {u_se}"
    );
    assert!((p - 6.7714e-3).abs() < 3.0 * p_se, "p = {p} +- {p_se}");
}

/// A dilute periodic system has more cells of size r_c + skin than the
/// reserved cell table; the grid then uses larger cells (same forces).
#[test]
fn dilute_periodic_system_uses_larger_cells_and_same_forces() {
    for dim in [2, 3] {
        let n = 60;
        let l = 40.0;
        let mut s = random_positions(dim, n, l, 12);
        let mut ff = particles_util::pair_field(
            SimBox::periodic(dim, [l; 3]),
            n,
            PairKind::LennardJones,
            1.0,
            1.0,
            2.5,
            0.3,
            16,
        );
        let with_cells = forces(&mut ff, &mut s);
        ff.set_use_neighbour_list(false);
        assert_eq!(with_cells, forces(&mut ff, &mut s));
    }
}

#[test]
fn neighbour_overflow_is_a_capacity_error() {
    let (mut s, l) = fcc(4, 0.8);
    let mut ff = particles_util::pair_field(
        SimBox::periodic(3, [l; 3]),
        s.n(),
        PairKind::LennardJones,
        1.0,
        1.0,
        2.5,
        0.3,
        8,
    );
    let n = s.n();
    let (mut fx, mut fy, mut fz) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let p = s.view();
    let e = ff
        .compute(&p.positions(), 0, &mut fx, &mut fy, &mut fz, false)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Capacity);
    assert!(e.message.contains("max_neighbors"), "{}", e.message);
}

#[test]
fn box_smaller_than_twice_the_list_radius_is_rejected() {
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: SimBox::periodic(3, [5.0; 3]),
        ntypes: 1,
        capacity: 10,
        skin: 0.3,
        max_neighbors: 10,
    })
    .unwrap();
    let e = ff
        .add_pair(PairKind::LennardJones, &[1.0], &[1.0], &[2.5])
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfRange);
    let _ = Trap::Harmonic {
        k: 1.0,
        centre: [0.0; 3],
    };
}

/// `spatial_order` on particles in random order, 2D and 3D, periodic and
/// open: the result is a permutation; the reordered system's forces are the
/// original ones, permuted (to 1e-12 relative: only the summation order of
/// each particle's pairs follows the new indices); once applied, the order
/// of the same positions is the identity (index order is cell order); and
/// the fields it cannot serve are refused with the caller's array intact.
#[test]
fn spatial_order_is_a_permutation_into_cell_order_that_keeps_the_forces() {
    for dim in [2, 3] {
        for periodic in [true, false] {
            let (mut s, mut ff, n) = random_two_type_system(dim, periodic, 17 + dim as u64);
            let before = forces(&mut ff, &mut s);
            let mut perm = vec![0u32; n];
            ff.spatial_order(&s.view().positions(), &mut perm).unwrap();
            let mut seen = vec![false; n];
            for &p in &perm {
                assert!(!seen[p as usize], "index {p} twice");
                seen[p as usize] = true;
            }
            assert!(
                perm.iter().enumerate().any(|(k, &p)| p as usize != k),
                "random positions were already in cell order"
            );
            let mut t = s.clone();
            for (k, &p) in perm.iter().enumerate() {
                let p = p as usize;
                t.x[k] = s.x[p];
                t.y[k] = s.y[p];
                if dim == 3 {
                    t.z[k] = s.z[p];
                }
                t.types[k] = s.types[p];
            }
            let after = forces(&mut ff, &mut t);
            let scale = before.iter().flatten().fold(0.0f64, |m, f| m.max(f.abs()));
            for (k, &p) in perm.iter().enumerate() {
                for a in 0..3 {
                    let (want, got) = (before[p as usize][a], after[k][a]);
                    assert!(
                        (want - got).abs() <= 1e-12 * scale,
                        "dim {dim} periodic {periodic}: particle {p} -> {k} axis {a}: {want} vs {got}"
                    );
                }
            }
            let mut again = vec![0u32; n];
            ff.spatial_order(&t.view().positions(), &mut again).unwrap();
            assert!(again.iter().enumerate().all(|(k, &p)| p as usize == k));
        }
    }
    // Without short-range terms: the identity.
    let mut s = random_positions(3, 50, 5.0, 3);
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: cube_or_open(3, true, 5.0),
        ntypes: 1,
        capacity: 50,
        skin: 0.3,
        max_neighbors: 16,
    })
    .unwrap();
    ff.add_trap(Trap::Harmonic {
        k: 1.0,
        centre: [2.5; 3],
    })
    .unwrap();
    let mut perm = vec![7u32; 50];
    ff.spatial_order(&s.view().positions(), &mut perm).unwrap();
    assert!(perm.iter().enumerate().all(|(k, &p)| p as usize == k));
    // A delayed trap keeps history per index: refused, perm untouched.
    ff.add_delayed_trap(
        Trap::Harmonic {
            k: 1.0,
            centre: [2.5; 3],
        },
        3,
    )
    .unwrap();
    let mut perm = vec![7u32; 50];
    let e = ff
        .spatial_order(&s.view().positions(), &mut perm)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfRange);
    assert!(e.message.contains("delayed"), "{}", e.message);
    assert!(perm.iter().all(|&p| p == 7));
    // Wrong length and NaN positions.
    let mut ff = ForceField::new(ForceFieldParams {
        sbox: cube_or_open(3, true, 5.0),
        ntypes: 1,
        capacity: 50,
        skin: 0.3,
        max_neighbors: 64,
    })
    .unwrap();
    ff.add_pair(PairKind::Wca, &[1.0], &[1.0], &[0.0]).unwrap();
    let mut short = vec![7u32; 49];
    let e = ff
        .spatial_order(&s.view().positions(), &mut short)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidSize);
    s.x[4] = f64::NAN;
    let e = ff
        .spatial_order(&s.view().positions(), &mut perm)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NonFinite);
    assert!(perm.iter().all(|&p| p == 7));
}
