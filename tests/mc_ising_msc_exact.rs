//! Exact checks of the multi-spin-coded Ising kernel (`src/mc/ising_msc.rs`)
//! from a mutation audit:
//! * sweeps equal a scalar checkerboard Metropolis written from the module
//!   docs (packing, strip-edge neighbours, Philox block and word mapping,
//!   `U < ceil(p 2^32)`) bit for bit, on lattices with strips of height 4
//!   and 6 (so a row's "up" and "down" neighbour rows differ, unlike the
//!   height-2 strips of `mc_ising_physics`), at low, critical and very high
//!   temperature (where `ceil(p 2^32) = 2^32` takes the no-random-bits
//!   path), from a resumed sweep counter, with a temperature change between
//!   calls, and with the per-sweep observables checked against the scalar
//!   spins;
//! * the acceptance boundary: a site whose uniform `U` equals the threshold
//!   is not flipped, and is flipped when the threshold is `U + 1`, for both
//!   the one-antiparallel (`dE = 4J`) and the no-antiparallel (`dE = 8J`)
//!   class;
//! * the documented validation of the lattice sides and of `T`.
//!
//! No statistical tolerance: every check is exact.

use fieldkern::error::ErrorKind;
use fieldkern::mc::ising::IsingParams;
use fieldkern::mc::ising_msc::IsingMsc;
use fieldkern::rng::philox::Philox;
use fieldkern::rng::stream::Stream;

const TWO_32: f64 = 4_294_967_296.0;

/// `max(ceil(p 2^32), 1)` as documented (a threshold of `2^32` accepts every
/// word).
fn threshold(p: f64) -> u64 {
    (p * TWO_32).ceil().max(1.0) as u64
}

/// The thresholds `(T_1, T_2)` for `dE = 4J` and `8J`, from `beta J`
/// computed as the kernel does (`J / T`, then `exp(-4 beta J)`), so that the
/// reference and the kernel round the same `f64`.
fn thresholds(coupling: f64, t: f64) -> (u64, u64) {
    let beta_j = coupling / t;
    (
        threshold((-4.0 * beta_j).exp()),
        threshold((-8.0 * beta_j).exp()),
    )
}

/// The 32-bit uniform of site `(x, y)` in half-sweep `(sweep, colour)`, as
/// documented: word `q = y' (lx/2) + x/2`, level `l` is bit `k` (the strip)
/// of `R_l`, with `R_{2g} = w0 | w1 << 32` and `R_{2g+1} = w2 | w3 << 32` of
/// Philox block `(2 sweep + c) (Q/16) 256 + (q/16) 256 + 16 g + q mod 16`.
fn site_uniform(g: &Philox, lx: usize, ly: usize, sweep: u64, x: usize, y: usize) -> u64 {
    let (hs, wr) = (ly / 64, lx / 2);
    let q_per_colour = (lx * ly / 128) as u64;
    let c = ((x + y) % 2) as u64;
    let first = (2 * sweep + c) * (q_per_colour / 16) * 256;
    let (yp, k) = (y % hs, y / hs);
    let q = (yp * wr + x / 2) as u64;
    let mut u = 0u64;
    for pair in 0..16u64 {
        let w = g.block(first + (q / 16) * 256 + 16 * pair + q % 16);
        let r0 = u64::from(w[0]) | u64::from(w[1]) << 32;
        let r1 = u64::from(w[2]) | u64::from(w[3]) << 32;
        u |= (r0 >> k & 1) << (31 - 2 * pair);
        u |= (r1 >> k & 1) << (30 - 2 * pair);
    }
    u
}

/// One scalar checkerboard sweep (colour 0, then colour 1) of the row-major
/// `s`, sweep index `sweep`.
fn reference_sweep(s: &mut [i8], lx: usize, ly: usize, sweep: u64, t: (u64, u64), g: &Philox) {
    for c in 0..2 {
        let old = s.to_vec();
        let at = |x: usize, y: usize| i32::from(old[x % lx + lx * (y % ly)]);
        for y in 0..ly {
            for x in (0..lx).filter(|x| (x + y) % 2 == c) {
                let nb = at(x + 1, y) + at(x + lx - 1, y) + at(x, y + 1) + at(x, y + ly - 1);
                let flip = match at(x, y) * nb {
                    4 => site_uniform(g, lx, ly, sweep, x, y) < t.1,
                    2 => site_uniform(g, lx, ly, sweep, x, y) < t.0,
                    _ => true,
                };
                if flip {
                    s[x + lx * y] = -old[x + lx * y];
                }
            }
        }
    }
}

/// `(sum_<ij> s_i s_j, sum_i s_i)` of a row-major torus.
fn scalar_observables(s: &[i8], lx: usize, ly: usize) -> (i64, i64) {
    let bonds = (0..lx * ly)
        .map(|i| {
            let (x, y) = (i % lx, i / lx);
            i64::from(s[i]) * i64::from(s[(x + 1) % lx + lx * y] + s[x + lx * ((y + 1) % ly)])
        })
        .sum();
    (bonds, s.iter().map(|&v| i64::from(v)).sum())
}

fn spins(lat: &IsingMsc) -> Vec<i8> {
    let mut s = vec![0i8; lat.n_sites()];
    lat.spins_into(&mut s).unwrap();
    s
}

/// Strips of height 4 (32 x 256, one 16-word batch per row) and 6 (64 x 384,
/// two batches per row), hot and cold starts, three temperatures: 0.9 (most
/// `dE > 0` moves rejected after a few levels), Tc, and 2.5e10, where
/// `ceil(e^(-4/T) 2^32) = 2^32` (accept without random bits) but
/// `ceil(e^(-8/T) 2^32) = 2^32 - 1` (all 32 levels compared), and 1e12
/// (both thresholds 2^32); the run
/// starts from a sweep counter of 5 and changes `T` between calls.
#[test]
fn msc_sweeps_equal_the_documented_scalar_rule_on_taller_strips() {
    // 2.5e10: 4/T = 1.6e-10, so e^(-4/T) 2^32 = 2^32 - 0.69 (ceil 2^32);
    // 8/T = 3.2e-10, e^(-8/T) 2^32 = 2^32 - 1.37 (ceil 2^32 - 1).
    assert_eq!(thresholds(1.0, 2.5e10), (1 << 32, (1 << 32) - 1));
    // 1e12: both 2^32 (e^(-8/T) 2^32 = 2^32 - 0.034): every site flips.
    assert_eq!(thresholds(1.0, 1e12), (1 << 32, 1 << 32));
    for (lx, ly, seed, stream, hot) in [(32, 256, 11u64, 3u64, true), (64, 384, 4, 9, false)] {
        let mut lat = IsingMsc::new(&IsingParams {
            lx,
            ly,
            temperature: 0.9,
            seed,
            stream,
            hot_start: hot,
            ..IsingParams::default()
        })
        .unwrap();
        let g = Philox::new(seed, Stream::IsingMultiSpin.with_sub(stream));
        let mut s = spins(&lat);
        lat.set_sweeps_done(5);
        let mut sweep = 5u64;
        for t in [0.9, 2.269, 2.5e10, 1e12, 2.269] {
            lat.set_temperature(t).unwrap();
            let (mut e, mut m) = (vec![0.0; 2], vec![0.0; 2]);
            lat.sweep(2, &mut e, &mut m).unwrap();
            let mut per_sweep = Vec::new();
            for _ in 0..2 {
                reference_sweep(&mut s, lx, ly, sweep, thresholds(1.0, t), &g);
                per_sweep.push(scalar_observables(&s, lx, ly));
                sweep += 1;
            }
            assert_eq!(lat.sweeps_done(), sweep);
            assert!(
                spins(&lat) == s,
                "{lx} x {ly} T = {t}: MSC differs from the scalar rule after sweep {sweep}"
            );
            let n = (lx * ly) as f64;
            for (i, &(bonds, sum)) in per_sweep.iter().enumerate() {
                assert_eq!(e[i], -(bonds as f64) / n, "{lx} x {ly} T = {t} energy {i}");
                assert_eq!(
                    m[i],
                    sum as f64 / n,
                    "{lx} x {ly} T = {t} magnetisation {i}"
                );
            }
            let o = lat.observables();
            assert_eq!((o.bond_sum, o.spin_sum), per_sweep[1]);
        }
    }
}

/// The smallest `T` (by bisection on the bits of positive `f64`, along
/// which `e^(-k/T)` and so the threshold are non-decreasing) whose
/// threshold for `dE = k J` is at least `target`.
fn temperature_for_threshold(k: f64, target: u64) -> f64 {
    let thr = |t: f64| threshold((-k * (1.0 / t)).exp());
    let (mut lo, mut hi) = (0.1f64.to_bits(), 1e6f64.to_bits());
    assert!(thr(f64::from_bits(lo)) < target && thr(f64::from_bits(hi)) >= target);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if thr(f64::from_bits(mid)) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    f64::from_bits(hi)
}

/// `U < T`, not `U <= T`, and `T = ceil(p 2^32)`, not one more or less: a
/// site whose own uniform equals the threshold stays, and flips when the
/// threshold is one larger (the temperature is chosen, by bisection, to put
/// the threshold exactly there). Site (4, 2) of 32 x 128 is colour 0, so it
/// is updated first and sees the initial spins: all +1 (no antiparallel
/// neighbour, `dE = 8J`, threshold `T_2`) or all +1 but its right neighbour
/// (one antiparallel, `dE = 4J`, threshold `T_1`). The whole lattice is
/// compared with the scalar rule too.
#[test]
fn msc_acceptance_is_u_less_than_ceil_p_2_32_exactly_at_the_boundary() {
    let (lx, ly, seed) = (32usize, 128usize, 21u64);
    let g = Philox::new(seed, Stream::IsingMultiSpin.with_sub(0));
    let (x0, y0) = (4usize, 2usize);
    let u = site_uniform(&g, lx, ly, 0, x0, y0);
    // A uniform inside (2^20, 2^32 - 2^20) has temperatures for thresholds
    // u and u + 1 inside the bisection range [0.1, 1e6] for dE = 4J and 8J.
    assert!(u > 1 << 20 && u < (1 << 32) - (1 << 20), "u = {u}");
    for one_antiparallel in [false, true] {
        let k = if one_antiparallel { 4.0 } else { 8.0 };
        let mut start = vec![1i8; lx * ly];
        if one_antiparallel {
            start[x0 + 1 + lx * y0] = -1;
        }
        for (target, flips) in [(u, false), (u + 1, true)] {
            let t = temperature_for_threshold(k, target);
            let thr = thresholds(1.0, t);
            assert_eq!(if one_antiparallel { thr.0 } else { thr.1 }, target);
            let mut lat = IsingMsc::new(&IsingParams {
                lx,
                ly,
                temperature: t,
                seed,
                ..IsingParams::default()
            })
            .unwrap();
            lat.set_spins(&start).unwrap();
            let mut s = start.clone();
            reference_sweep(&mut s, lx, ly, 0, thr, &g);
            lat.sweep(1, &mut [], &mut []).unwrap();
            let got = spins(&lat);
            assert_eq!(
                got[x0 + lx * y0] == -1,
                flips,
                "threshold {target}, U = {u}, one antiparallel {one_antiparallel}"
            );
            assert!(
                got == s,
                "threshold {target}: lattice differs from the scalar rule"
            );
        }
    }
}

/// Lattice sides: `lx` a positive multiple of 32, `ly` of 128; `T > 0` and
/// finite (also through `set_temperature`, which leaves `T` unchanged).
#[test]
fn msc_validation_of_sides_and_temperature() {
    let base = IsingParams {
        lx: 32,
        ly: 128,
        temperature: 2.0,
        ..IsingParams::default()
    };
    IsingMsc::new(&base).unwrap();
    for (lx, ly) in [
        (0, 128),
        (16, 128),
        (48, 128),
        (33, 128),
        (32, 0),
        (32, 64),
        (32, 192),
        (32, 200),
    ] {
        let e = IsingMsc::new(&IsingParams { lx, ly, ..base }).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidSize, "{lx} x {ly}");
    }
    for (t, kind) in [
        (0.0, ErrorKind::OutOfRange),
        (-0.0, ErrorKind::OutOfRange),
        (-1.0, ErrorKind::OutOfRange),
        (f64::NAN, ErrorKind::NonFinite),
        (f64::INFINITY, ErrorKind::NonFinite),
    ] {
        let e = IsingMsc::new(&IsingParams {
            temperature: t,
            ..base
        })
        .unwrap_err();
        assert_eq!(e.kind, kind, "T = {t}");
    }
    for (coupling, field) in [(0.0, 0.0), (-1.0, 0.0), (1.0, 0.1)] {
        let e = IsingMsc::new(&IsingParams {
            coupling,
            field,
            ..base
        })
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::OutOfRange, "J = {coupling}, h = {field}");
    }
    let e = IsingMsc::new(&IsingParams {
        dim: 3,
        lz: 4,
        ..base
    })
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfRange);
    // set_temperature: same rule; a refused T leaves the old one in force
    // (the next sweep equals one at T = 2.0).
    let mut a = IsingMsc::new(&IsingParams {
        hot_start: true,
        ..base
    })
    .unwrap();
    let mut b = a.clone();
    assert_eq!(
        a.set_temperature(0.0).unwrap_err().kind,
        ErrorKind::OutOfRange
    );
    assert_eq!(
        a.set_temperature(f64::NAN).unwrap_err().kind,
        ErrorKind::NonFinite
    );
    a.sweep(2, &mut [], &mut []).unwrap();
    b.sweep(2, &mut [], &mut []).unwrap();
    assert!(spins(&a) == spins(&b));
}
