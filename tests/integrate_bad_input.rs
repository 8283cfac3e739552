//! Bad particle input is rejected before anything moves, for every
//! particle integrator (velocity Verlet, BAOAB, Brownian, active Brownian) in
//! 2D and 3D: a NaN or infinity in any array the integrator reads, a
//! negative or NaN inverse mass, a type index out of range, a short array
//! and a zero-length ABP heading each give their specific error naming the
//! array and index, zero completed
//! steps, and every array bitwise as it was (the poisoned value included).
#![allow(clippy::needless_range_loop)]

mod particles_util;

use fieldkern::forces::{ForceField, PairKind};
use fieldkern::integrate::active::{ActiveBrownian, ActiveParams};
use fieldkern::integrate::verlet::VelocityVerlet;
use fieldkern::integrate::{Particles, SimBox};
use fieldkern::{ErrorKind, Result};
use particles_util::{brownian, langevin, lattice, pair_field, State};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scheme {
    Verlet,
    Baoab,
    Brownian,
    Active,
}

const BAD_INDEX: usize = 7;

const SCHEMES: [Scheme; 4] = [
    Scheme::Verlet,
    Scheme::Baoab,
    Scheme::Brownian,
    Scheme::Active,
];

/// A WCA lattice with velocities, unit orientations, inverse masses and
/// types, and its periodic force field.
fn system(dim: usize) -> (State, ForceField) {
    let per_side = if dim == 3 { 5 } else { 10 };
    let l = 1.2 * per_side as f64;
    let mut s = lattice(dim, per_side, l);
    let n = s.n();
    s.vx = (0..n).map(|i| 0.1 * (i % 5) as f64).collect();
    s.vy = (0..n).map(|i| -0.1 * (i % 3) as f64).collect();
    s.vz = if dim == 3 { vec![0.05; n] } else { Vec::new() };
    let (ox, oy) = (0.6, 0.8);
    s.ox = vec![ox; n];
    s.oy = vec![oy; n];
    s.oz = if dim == 3 { vec![0.0; n] } else { Vec::new() };
    s.inv_mass = (0..n).map(|i| 1.0 + (i % 2) as f64).collect();
    s.types = vec![0; n];
    let ff = pair_field(
        SimBox::periodic(dim, [l; 3]),
        n,
        PairKind::Wca,
        1.0,
        1.0,
        0.0,
        0.3,
        64,
    );
    (s, ff)
}

/// Five steps of `scheme` from step 0: `(completed steps, result)`.
fn five_steps(
    scheme: Scheme,
    dim: usize,
    ff: &mut ForceField,
    p: &mut Particles,
) -> (usize, Result<()>) {
    let n = p.len();
    let active = ActiveParams {
        dt: 1e-4,
        ..Default::default()
    };
    match scheme {
        Scheme::Verlet => VelocityVerlet::new(dim, n, 0.005)
            .unwrap()
            .step(Some(ff), p, 0, 5),
        Scheme::Baoab => langevin(dim, n).step(Some(ff), p, 0, 5),
        Scheme::Brownian => brownian(dim, n).step(Some(ff), p, 0, 5),
        Scheme::Active => ActiveBrownian::new(dim, n, active)
            .unwrap()
            .step(Some(ff), p, 0, 5),
    }
}

/// Every array's bits, for before/after comparisons (NaN == NaN here).
fn bits(s: &State) -> Vec<Vec<u64>> {
    [
        &s.x,
        &s.y,
        &s.z,
        &s.vx,
        &s.vy,
        &s.vz,
        &s.ox,
        &s.oy,
        &s.oz,
        &s.inv_mass,
    ]
    .iter()
    .map(|a| a.iter().map(|v| v.to_bits()).collect())
    .chain(std::iter::once(
        s.types.iter().map(|&t| u64::from(t)).collect(),
    ))
    .collect()
}

/// The arrays `scheme` reads in `dim` dimensions, by name.
fn arrays_read(scheme: Scheme, dim: usize) -> Vec<&'static str> {
    let mut names = vec!["x", "y"];
    if dim == 3 {
        names.push("z");
    }
    if matches!(scheme, Scheme::Verlet | Scheme::Baoab) {
        names.extend(["vx", "vy"]);
        if dim == 3 {
            names.push("vz");
        }
    }
    if scheme == Scheme::Active {
        names.extend(["ox", "oy"]);
        if dim == 3 {
            names.push("oz");
        }
    }
    names
}

fn array_mut<'s>(s: &'s mut State, name: &str) -> &'s mut Vec<f64> {
    match name {
        "x" => &mut s.x,
        "y" => &mut s.y,
        "z" => &mut s.z,
        "vx" => &mut s.vx,
        "vy" => &mut s.vy,
        "vz" => &mut s.vz,
        "ox" => &mut s.ox,
        "oy" => &mut s.oy,
        "oz" => &mut s.oz,
        "inv_mass" => &mut s.inv_mass,
        _ => unreachable!("{name}"),
    }
}

/// Applies `poison` to a fresh system, steps, and checks the error kind, that
/// the message names `mentions`, that no step completed and that nothing
/// changed.
fn rejected(
    scheme: Scheme,
    dim: usize,
    poison: &dyn Fn(&mut State),
    kind: ErrorKind,
    mentions: &str,
) {
    let (mut s, mut ff) = system(dim);
    poison(&mut s);
    let before = bits(&s);
    let (done, r) = five_steps(scheme, dim, &mut ff, &mut s.view());
    let what = format!("{scheme:?} {dim}D, {mentions}");
    let e = r.expect_err(&what);
    assert_eq!(e.kind, kind, "{what}: {e}");
    assert!(
        e.message.contains(mentions),
        "{what}: message {:?}",
        e.message
    );
    assert_eq!(done, 0, "{what}");
    assert!(bits(&s) == before, "{what}: state changed");
}

#[test]
fn non_finite_values_in_any_array_read_are_rejected_with_the_state_unchanged() {
    for dim in [2, 3] {
        for scheme in SCHEMES {
            // The clean system steps fine (so the errors below are the poison's).
            let (mut s, mut ff) = system(dim);
            let (done, r) = five_steps(scheme, dim, &mut ff, &mut s.view());
            r.unwrap();
            assert_eq!(done, 5);
            for name in arrays_read(scheme, dim) {
                for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    let poison = |s: &mut State| array_mut(s, name)[BAD_INDEX] = bad;
                    let mentions = format!("{name}[{BAD_INDEX}]");
                    rejected(scheme, dim, &poison, ErrorKind::NonFinite, &mentions);
                }
            }
        }
    }
}

#[test]
fn bad_masses_types_and_short_arrays_are_rejected_with_the_state_unchanged() {
    for dim in [2, 3] {
        for scheme in SCHEMES {
            for bad in [-1.0, f64::NAN] {
                let poison = |s: &mut State| s.inv_mass[BAD_INDEX] = bad;
                rejected(scheme, dim, &poison, ErrorKind::OutOfRange, "inv_mass[7]");
            }
            let poison = |s: &mut State| s.types[BAD_INDEX] = 1;
            rejected(scheme, dim, &poison, ErrorKind::OutOfRange, "type[7]");
            for name in arrays_read(scheme, dim).into_iter().skip(1) {
                let poison = |s: &mut State| {
                    array_mut(s, name).pop();
                };
                rejected(scheme, dim, &poison, ErrorKind::InvalidSize, name);
            }
        }
    }
}

#[test]
fn a_zero_length_heading_is_rejected_with_the_state_unchanged() {
    // The update normalises headings, so a zero heading would become NaN.
    for dim in [2, 3] {
        let poison = |s: &mut State| {
            s.ox[BAD_INDEX] = 0.0;
            s.oy[BAD_INDEX] = 0.0;
        };
        rejected(
            Scheme::Active,
            dim,
            &poison,
            ErrorKind::OutOfRange,
            "heading 7",
        );
        // Only the length counts: a heading along one axis is fine.
        let (mut s, mut ff) = system(dim);
        s.ox[BAD_INDEX] = 0.0;
        s.oy[BAD_INDEX] = if dim == 3 { 0.0 } else { -2.0 };
        if dim == 3 {
            s.oz[BAD_INDEX] = 1e-3;
        }
        let (done, r) = five_steps(Scheme::Active, dim, &mut ff, &mut s.view());
        r.unwrap();
        assert_eq!(done, 5);
    }
}
