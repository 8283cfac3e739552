//! Helpers shared by the particle-integrator tests: owned particle state,
//! lattice and random initial conditions, block averaging.
#![allow(dead_code)]

use fieldkern::forces::{ForceField, ForceFieldParams, PairKind};
use fieldkern::integrate::brownian::{Brownian, BrownianParams};
use fieldkern::integrate::langevin::{Baoab, LangevinParams};
use fieldkern::integrate::{Particles, SimBox};
use fieldkern::rng::fill::{fill_normal_f64, fill_uniform_f64};

/// Owned SoA particle state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    pub dim: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
    pub vx: Vec<f64>,
    pub vy: Vec<f64>,
    pub vz: Vec<f64>,
    pub ox: Vec<f64>,
    pub oy: Vec<f64>,
    pub oz: Vec<f64>,
    pub inv_mass: Vec<f64>,
    pub types: Vec<u32>,
}

impl State {
    pub fn new(dim: usize, n: usize) -> Self {
        let z = if dim == 3 { n } else { 0 };
        State {
            dim,
            x: vec![0.0; n],
            y: vec![0.0; n],
            z: vec![0.0; z],
            vx: vec![0.0; n],
            vy: vec![0.0; n],
            vz: vec![0.0; z],
            ..Default::default()
        }
    }

    pub fn n(&self) -> usize {
        self.x.len()
    }

    pub fn view(&mut self) -> Particles<'_> {
        Particles {
            dim: self.dim,
            x: &mut self.x,
            y: &mut self.y,
            z: &mut self.z,
            vx: &mut self.vx,
            vy: &mut self.vy,
            vz: &mut self.vz,
            ox: &mut self.ox,
            oy: &mut self.oy,
            oz: &mut self.oz,
            inv_mass: &self.inv_mass,
            types: &self.types,
        }
    }

    /// Sum of m v^2 (unit masses unless inv_mass given).
    pub fn mv2(&self) -> f64 {
        let mut s = 0.0;
        for i in 0..self.n() {
            let m = if self.inv_mass.is_empty() {
                1.0
            } else {
                1.0 / self.inv_mass[i]
            };
            let mut v2 = self.vx[i] * self.vx[i] + self.vy[i] * self.vy[i];
            if self.dim == 3 {
                v2 += self.vz[i] * self.vz[i];
            }
            s += m * v2;
        }
        s
    }

    /// Maxwell velocities at temperature `kt` (unit masses), zero total momentum.
    pub fn thermalise(&mut self, kt: f64, seed: u64) {
        let n = self.n();
        let mut g = vec![0.0; 3 * n];
        fill_normal_f64(seed, 99, 0, &mut g).unwrap();
        let s = kt.sqrt();
        for i in 0..n {
            self.vx[i] = s * g[3 * i];
            self.vy[i] = s * g[3 * i + 1];
            if self.dim == 3 {
                self.vz[i] = s * g[3 * i + 2];
            }
        }
        for v in [&mut self.vx, &mut self.vy, &mut self.vz] {
            if v.is_empty() {
                continue;
            }
            let m = v.iter().sum::<f64>() / n as f64;
            v.iter_mut().for_each(|a| *a -= m);
        }
    }
}

/// FCC lattice of `4 m^3` particles at density `rho`; returns state and box length.
pub fn fcc(m: usize, rho: f64) -> (State, f64) {
    let n = 4 * m * m * m;
    let l = (n as f64 / rho).cbrt();
    let a = l / m as f64;
    let mut s = State::new(3, n);
    let basis = [
        [0.0, 0.0, 0.0],
        [0.5, 0.5, 0.0],
        [0.5, 0.0, 0.5],
        [0.0, 0.5, 0.5],
    ];
    let mut k = 0;
    for i in 0..m {
        for j in 0..m {
            for l2 in 0..m {
                for b in &basis {
                    s.x[k] = a * (i as f64 + b[0] + 0.25);
                    s.y[k] = a * (j as f64 + b[1] + 0.25);
                    s.z[k] = a * (l2 as f64 + b[2] + 0.25);
                    k += 1;
                }
            }
        }
    }
    (s, l)
}

/// Square (2D) or simple cubic (3D) lattice filling a periodic box of edge `l`.
pub fn lattice(dim: usize, per_side: usize, l: f64) -> State {
    let n = per_side.pow(dim as u32);
    let mut s = State::new(dim, n);
    let a = l / per_side as f64;
    for k in 0..n {
        s.x[k] = a * ((k % per_side) as f64 + 0.5);
        s.y[k] = a * (((k / per_side) % per_side) as f64 + 0.5);
        if dim == 3 {
            s.z[k] = a * ((k / (per_side * per_side)) as f64 + 0.5);
        }
    }
    s
}

/// Uniform random positions in `[0, l)^dim`.
pub fn random_positions(dim: usize, n: usize, l: f64, seed: u64) -> State {
    let mut s = State::new(dim, n);
    let mut u = vec![0.0; 3 * n];
    fill_uniform_f64(seed, 7, 0, &mut u).unwrap();
    for i in 0..n {
        s.x[i] = l * u[3 * i];
        s.y[i] = l * u[3 * i + 1];
        if dim == 3 {
            s.z[i] = l * u[3 * i + 2];
        }
    }
    s
}

/// A one-type force field with one pair term.
#[allow(clippy::too_many_arguments)]
pub fn pair_field(
    sbox: SimBox,
    n: usize,
    kind: PairKind,
    eps: f64,
    sigma: f64,
    rc: f64,
    skin: f64,
    max_neighbors: usize,
) -> ForceField {
    let mut ff = ForceField::new(ForceFieldParams {
        sbox,
        ntypes: 1,
        capacity: n,
        skin,
        max_neighbors,
    })
    .unwrap();
    ff.add_pair(kind, &[eps], &[sigma], &[rc]).unwrap();
    ff
}

/// Forces on every particle of `s` from `ff` at step 0 (with energies),
/// as `[fx, fy, fz]` (`fz = 0` in 2D).
pub fn forces(ff: &mut ForceField, s: &mut State) -> Vec<[f64; 3]> {
    let n = s.n();
    let (mut fx, mut fy, mut fz) = (vec![0.0; n], vec![0.0; n], vec![0.0; s.z.len()]);
    let p = s.view();
    ff.compute(&p.positions(), 0, &mut fx, &mut fy, &mut fz, true)
        .unwrap();
    (0..n)
        .map(|i| [fx[i], fy[i], if fz.is_empty() { 0.0 } else { fz[i] }])
        .collect()
}

/// Potential energy and pair virial at the state's positions.
pub fn energy(ff: &mut ForceField, s: &mut State) -> (f64, f64) {
    let n = s.n();
    let (mut fx, mut fy, mut fz) = (vec![0.0; n], vec![0.0; n], vec![0.0; s.z.len()]);
    let p = s.view();
    ff.compute(&p.positions(), 0, &mut fx, &mut fy, &mut fz, true)
        .unwrap();
    let (u, _, wp) = ff.totals();
    (u, wp)
}

/// Mean and standard error of a correlated series by block averaging with
/// `blocks` blocks (blocks should be much longer than the correlation time).
pub fn block_mean_se(x: &[f64], blocks: usize) -> (f64, f64) {
    let b = x.len() / blocks;
    let means: Vec<f64> = (0..blocks)
        .map(|k| x[k * b..(k + 1) * b].iter().sum::<f64>() / b as f64)
        .collect();
    let m = means.iter().sum::<f64>() / blocks as f64;
    let var = means.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (blocks - 1) as f64;
    (m, (var / blocks as f64).sqrt())
}

/// NVE energy checks on a series of total energies `e`: the relative drift
/// of the mean between the first and the last `window` samples (the
/// secular part, with the bounded O(dt^2) fluctuation averaged out) and the
/// largest relative excursion from `e[0]`.
pub fn energy_drift_and_excursion(e: &[f64], window: usize) -> (f64, f64) {
    let e0 = e[0];
    let first = e[..window].iter().sum::<f64>() / window as f64;
    let last = e[e.len() - window..].iter().sum::<f64>() / window as f64;
    let drift = ((last - first) / e0).abs();
    let excursion = e.iter().map(|v| ((v - e0) / e0).abs()).fold(0.0, f64::max);
    (drift, excursion)
}

/// A force field for one-body terms only: open box, one type, no
/// neighbour list to speak of (the caller adds traps or uniform forces).
pub fn open_field(dim: usize, n: usize) -> ForceField {
    ForceField::new(ForceFieldParams::without_neighbour_list(
        SimBox::open(dim),
        n,
    ))
    .unwrap()
}

/// A periodic cube of side `l` in `dim` dimensions, or the open box.
pub fn cube_or_open(dim: usize, periodic: bool, l: f64) -> SimBox {
    if periodic {
        SimBox::periodic(dim, [l; 3])
    } else {
        SimBox::open(dim)
    }
}

/// Brownian dynamics, dt = 1e-3, unit mobility and temperature.
pub fn brownian(dim: usize, n: usize) -> Brownian {
    Brownian::new(
        dim,
        n,
        BrownianParams {
            dt: 1e-3,
            mobility: 1.0,
            kt: 1.0,
            seed: 5,
            stream: 0,
        },
    )
    .unwrap()
}

/// BAOAB, dt = 0.005, gamma = 1, kT = 1.
pub fn langevin(dim: usize, n: usize) -> Baoab {
    Baoab::new(
        dim,
        n,
        LangevinParams {
            dt: 0.005,
            gamma: 1.0,
            kt: 1.0,
            seed: 77,
            stream: 1,
        },
    )
    .unwrap()
}
