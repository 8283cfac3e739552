//! The checkerboard Metropolis and heat-bath sweeps equal a slow scalar sweep
//! written from the documentation in src/mc/ising.rs (site colours, the
//! 16-bit draw mapping, the refinement half-words in block `2^63 + b`, the
//! `w <= ceil(p 2^32) - 1` acceptance rule), bit for bit, in 2D and 3D, with a
//! field, for row widths that are and are not multiples of the 64-site SIMD
//! chunk. The lattices are large enough that refinements (one site visit in
//! 65536) occur; the test counts them so that it cannot pass without
//! exercising that path.

use fieldkern::mc::ising::{IsingLattice, IsingParams, IsingUpdate};
use fieldkern::rng::philox::Philox;
use fieldkern::rng::stream::Stream;

/// Row-major spins (x fastest, then y, then z), as the C API stores them.
fn spins(lat: &IsingLattice) -> Vec<i8> {
    let mut s = vec![0i8; lat.n_sites()];
    lat.spins_into(&mut s).unwrap();
    s
}

/// `t` with `P(w <= t) = max(ceil(p 2^32), 1) / 2^32` (module docs).
fn threshold(p: f64) -> u32 {
    if p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return u32::MAX;
    }
    ((p * 4_294_967_296.0).ceil().clamp(1.0, 4_294_967_296.0) - 1.0) as u32
}

struct Reference {
    l: [usize; 3],
    dim: usize,
    coupling: f64,
    field: f64,
    temperature: f64,
    seed: u64,
    stream: u64,
    heat_bath: bool,
    refinements: usize,
}

impl Reference {
    fn sweep(&mut self, s: &mut [i8], n: u64) {
        let [lx, ly, lz] = self.l;
        let rows = (ly * lz) as u64;
        let blocks_per_row = 16 * (lx / 2).div_ceil(128) as u64;
        let tag = if self.heat_bath {
            Stream::IsingHeatBath
        } else {
            Stream::IsingMetropolis
        };
        let g = Philox::new(self.seed, tag.with_sub(self.stream));
        let beta = 1.0 / self.temperature;
        let at = |x: usize, y: usize, z: usize| x + lx * (y + ly * z);
        for c in 0..2u64 {
            for z in 0..lz {
                for y in 0..ly {
                    for x in 0..lx {
                        if (x + y + z) as u64 % 2 != c {
                            continue;
                        }
                        let mut nb = i32::from(s[at((x + 1) % lx, y, z)])
                            + i32::from(s[at((x + lx - 1) % lx, y, z)])
                            + i32::from(s[at(x, (y + 1) % ly, z)])
                            + i32::from(s[at(x, (y + ly - 1) % ly, z)]);
                        if self.dim == 3 {
                            nb += i32::from(s[at(x, y, (z + 1) % lz)])
                                + i32::from(s[at(x, y, (z + lz - 1) % lz)]);
                        }
                        let spin = f64::from(s[at(x, y, z)]);
                        let local = self.coupling * f64::from(nb) + self.field;
                        let p = if self.heat_bath {
                            1.0 / (1.0 + (-2.0 * beta * local).exp())
                        } else {
                            (-beta * 2.0 * spin * local).exp().min(1.0)
                        };
                        let t = threshold(p);
                        let (r, k) = ((y + ly * z) as u64, x / 2);
                        let b = ((2 * n + c) * rows + r) * blocks_per_row
                            + 16 * (k / 128) as u64
                            + ((k % 32) / 2) as u64;
                        let (word, half) = ((k % 128) / 32, 16 * (k % 2));
                        let high = (g.block(b)[word] >> half) & 0xFFFF;
                        let low = (g.block((1 << 63) + b)[word] >> half) & 0xFFFF;
                        if u64::from(high) == (u64::from(t) + 1) >> 16 {
                            self.refinements += 1;
                        }
                        let accept = (high << 16 | low) <= t;
                        let site = &mut s[at(x, y, z)];
                        *site = match (self.heat_bath, accept) {
                            (true, true) => 1,
                            (true, false) => -1,
                            (false, true) => -*site,
                            (false, false) => *site,
                        };
                    }
                }
            }
        }
    }
}

fn compare(l: [usize; 3], dim: usize, heat_bath: bool, sweeps: u64, min_refinements: usize) {
    let params = IsingParams {
        dim,
        lx: l[0],
        ly: l[1],
        lz: l[2],
        coupling: 1.0,
        field: 0.07,
        temperature: if dim == 2 { 2.2 } else { 4.4 },
        seed: 0xC0FFEE,
        stream: 5,
        hot_start: true,
    };
    let mut lat = IsingLattice::new(&params).unwrap();
    let mut reference = Reference {
        l,
        dim,
        coupling: params.coupling,
        field: params.field,
        temperature: params.temperature,
        seed: params.seed,
        stream: params.stream,
        heat_bath,
        refinements: 0,
    };
    let mut s = spins(&lat);
    let update = if heat_bath {
        IsingUpdate::HeatBath
    } else {
        IsingUpdate::Metropolis
    };
    for n in 0..sweeps {
        reference.sweep(&mut s, n);
        lat.sweep(update, 1, &mut [], &mut []).unwrap();
        assert!(
            spins(&lat) == s,
            "{l:?} dim {dim} heat bath {heat_bath}: sweep {n} differs"
        );
    }
    assert!(
        reference.refinements >= min_refinements,
        "{l:?}: only {} refinements exercised",
        reference.refinements
    );
}

#[test]
fn checkerboard_sweeps_equal_the_documented_scalar_sweep() {
    for heat_bath in [false, true] {
        // Small shapes: half widths 1, 3, 65 (a tail chunk), 3D.
        compare([2, 4, 1], 2, heat_bath, 6, 0);
        compare([6, 2, 1], 2, heat_bath, 6, 0);
        compare([130, 6, 1], 2, heat_bath, 6, 0);
        compare([6, 4, 4], 3, heat_bath, 6, 0);
        compare([258, 4, 2], 3, heat_bath, 4, 0);
        // 512 x 256 x 12 sweeps = 1.6e6 site visits: about 24 refinements
        // expected (Poisson), fewer than 3 with probability below 1e-7.
        compare([512, 256, 1], 2, heat_bath, 12, 3);
    }
}
