//! BAOAB Langevin dynamics (Leimkuhler & Matthews, Appl. Math. Res. Express
//! 2013, 34; J. Chem. Phys. 138, 174102 (2013)):
//! `B(dt/2) A(dt/2) O(dt) A(dt/2) B(dt/2)` with
//! `B: v += h F/m`, `A: x += h v`,
//! `O: v = c1 v + sqrt((1 - c1^2) kT / m) xi`, `c1 = exp(-gamma dt)`.
//! Configurational averages are exact to O(dt^2) with a small (superconvergent)
//! error for harmonic forces: `<x^2> = kT/k` exactly for a harmonic trap.
//!
//! Noise: draw `a` (axis) of particle `i` at step `s` is noise element
//! `(s n + i) dim + a` of stream `Stream::LangevinNoise.with_sub(stream)`
//! (see [`super::noise`]).

use super::common::{
    axis_arrays, for_each_noisy_segment, join, kick, non_negative, positive, step_particles,
    AxisArrays, Needs, NoisyTask, ParticleScheme, Workspace, UPDATE_SEGMENT,
};
use super::noise::{for_each_noise_chunk, NoiseKind};
use super::state::{Particles, SimBox};
use crate::error::Result;
use crate::forces::ForceField;
use crate::rng::stream::Stream;
use crate::simd::f64x8;

/// BAOAB parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LangevinParams {
    pub dt: f64,
    /// Friction rate gamma (1/time), >= 0 (0 gives velocity Verlet).
    pub gamma: f64,
    /// Temperature kT (energy), >= 0.
    pub kt: f64,
    pub seed: u64,
    /// User sub-stream (< 2^48).
    pub stream: u64,
}

/// A BAOAB integrator for up to `capacity` particles.
#[derive(Debug)]
pub struct Baoab {
    params: LangevinParams,
    noise: NoiseKind,
    ws: Workspace,
}

impl Baoab {
    pub fn new(dim: usize, capacity: usize, params: LangevinParams) -> Result<Self> {
        positive("dt", params.dt)?;
        non_negative("gamma", params.gamma)?;
        non_negative("kT", params.kt)?;
        Ok(Self {
            params,
            noise: NoiseKind::Gaussian,
            ws: Workspace::new(dim, capacity, Self::NEEDS)?,
        })
    }

    pub fn params(&self) -> &LangevinParams {
        &self.params
    }

    /// The noise distribution (default [`NoiseKind::Gaussian`]).
    pub fn noise(&self) -> NoiseKind {
        self.noise
    }

    /// Switches the noise distribution (see [`super::noise`]): the same
    /// variance, so the same thermostat; different trajectories.
    pub fn set_noise(&mut self, kind: NoiseKind) {
        self.noise = kind;
    }

    /// Changes the temperature (e.g. for annealing); same checks as `new`.
    pub fn set_kt(&mut self, kt: f64) -> Result<()> {
        non_negative("kT", kt)?;
        self.params.kt = kt;
        Ok(())
    }

    /// Advances `n_steps` steps from step index `step0`; see
    /// [`super::verlet::VelocityVerlet::step`] for the contract.
    pub fn step(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step0: u64,
        n_steps: usize,
    ) -> (usize, Result<()>) {
        step_particles(self, ff, p, step0, n_steps)
    }
}

impl ParticleScheme for Baoab {
    const NEEDS: Needs = Needs {
        velocities: true,
        orientation: false,
        carried_forces: true,
    };

    fn workspace(&mut self) -> &mut Workspace {
        &mut self.ws
    }

    /// Only one-body fields: the whole step in one pass per particle (6
    /// arrays read and written instead of 15), same bits.
    fn fused_steps(
        &mut self,
        ff: Option<&ForceField>,
        p: &mut Particles,
        step0: u64,
        n_steps: usize,
        b: &SimBox,
    ) -> bool {
        let Some(local) = ff.filter(|f| f.is_local()) else {
            return false;
        };
        for s in 0..n_steps {
            baoab_local(
                local,
                (&self.params, self.noise),
                p,
                step0.wrapping_add(s as u64),
                b,
            );
        }
        true
    }

    fn one_step(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step: u64,
        b: &SimBox,
    ) -> Result<()> {
        baoa::<false>(&self.ws, (&self.params, self.noise), p, step, b);
        self.ws.forces(ff, p, step.wrapping_add(1))?;
        kick(&self.ws, p, 0.5 * self.params.dt);
        Ok(())
    }

    const DEFERS_CLOSING_KICK: bool = true;

    fn one_step_open(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step: u64,
        b: &SimBox,
        pending: bool,
    ) -> Result<()> {
        if pending {
            baoa::<true>(&self.ws, (&self.params, self.noise), p, step, b);
        } else {
            baoa::<false>(&self.ws, (&self.params, self.noise), p, step, b);
        }
        self.ws.forces(ff, p, step.wrapping_add(1))?;
        Ok(())
    }

    fn close_kick(&mut self, p: &mut Particles) {
        kick(&self.ws, p, 0.5 * self.params.dt);
    }
}

/// The first four sub-steps B A O A, fused in one pass; with `PENDING`, the
/// previous step's closing half-kick `v += (dt/2) F/m` first (the same
/// operation as [`kick`], so the same bits as a separate pass).
fn baoa<const PENDING: bool>(
    ws: &Workspace,
    (prm, kind): (&LangevinParams, NoiseKind),
    p: &mut Particles,
    step: u64,
    b: &SimBox,
) {
    let n = p.len();
    let im = p.inv_mass;
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    let dim = p.dim as u64;
    let h = 0.5 * prm.dt;
    let c1 = (-prm.gamma * prm.dt).exp();
    let c2 = ((1.0 - c1 * c1) * prm.kt).sqrt();
    let d = dim as usize;
    for_each_phase_segment(p, (prm, kind), &|noise, first, [x, y, z, vx, vy, vz]| {
        for_each_noise_chunk(noise, step, n, first, x.len(), d, |c, xi| {
            for (j, xi) in xi.chunks_exact(d).enumerate() {
                let k = c + j;
                let i = first + k;
                let m1 = if im.is_empty() { 1.0 } else { im[i] };
                let (w, s) = (h * m1, c2 * m1.sqrt());
                let kicked = |v: f64, f: f64| if PENDING { v + w * f } else { v };
                let mut v = kicked(vx[k], fx[i]) + w * fx[i];
                let mut q = x[k] + h * v;
                v = c1 * v + s * xi[0];
                vx[k] = v;
                x[k] = b.wrap(0, q + h * v);
                v = kicked(vy[k], fy[i]) + w * fy[i];
                q = y[k] + h * v;
                v = c1 * v + s * xi[1];
                vy[k] = v;
                y[k] = b.wrap(1, q + h * v);
                if three {
                    v = kicked(vz[k], fz[i]) + w * fz[i];
                    q = z[k] + h * v;
                    v = c1 * v + s * xi[2];
                    vz[k] = v;
                    z[k] = b.wrap(2, q + h * v);
                }
            }
        });
    });
}

/// One whole BAOAB step for a local (one-body) force field, fused per
/// particle: `F(x)` is recomputed from the position instead of stored, which
/// gives the same bits as the stored force of the previous step. Eight
/// particles at a time in SIMD (the same IEEE operations as the scalar
/// path, no contraction), the remainder one by one.
fn baoab_local(
    ff: &ForceField,
    (prm, kind): (&LangevinParams, NoiseKind),
    p: &mut Particles,
    step: u64,
    b: &SimBox,
) {
    let n = p.len();
    let im = p.inv_mass;
    let k = LocalKernel::new(ff, prm, b, p.dim);
    let dim = p.dim;
    for_each_phase_segment(p, (prm, kind), &|noise, first, [x, y, z, vx, vy, vz]| {
        // The normals of a chunk of particles are consecutive elements of
        // the stream: drawn in bulk, then used eight particles at a time.
        for_each_noise_chunk(noise, step, n, first, x.len(), dim, |c, xi| {
            let m = xi.len() / dim;
            let mut j = 0;
            while j + 8 <= m {
                k.eight(&xi[dim * j..], im, first, c + j, [x, y, z, vx, vy, vz]);
                j += 8;
            }
            for j in j..m {
                k.one(
                    &xi[dim * j..],
                    im,
                    first + c + j,
                    c + j,
                    [x, y, z, vx, vy, vz],
                );
            }
        });
    });
}

/// Runs `task(noise, first, [x, y, z, vx, vy, vz])` over the update segments
/// of the positions and velocities, with the BAOAB noise source.
fn for_each_phase_segment(
    p: &mut Particles,
    (prm, kind): (&LangevinParams, NoiseKind),
    task: &NoisyTask<'_, 6>,
) {
    let n = p.len();
    let AxisArrays { pos, vel, .. } = axis_arrays(p);
    let noise = (prm.seed, Stream::LangevinNoise, prm.stream, kind);
    for_each_noisy_segment(join(pos, vel), n, UPDATE_SEGMENT, noise, task);
}

/// Constants of the fused local BAOAB step.
struct LocalKernel<'a> {
    ff: &'a ForceField,
    b: &'a SimBox,
    dim: usize,
    h: f64,
    c1: f64,
    c2: f64,
}

impl<'a> LocalKernel<'a> {
    fn new(ff: &'a ForceField, prm: &LangevinParams, b: &'a SimBox, dim: usize) -> Self {
        let c1 = (-prm.gamma * prm.dt).exp();
        Self {
            ff,
            b,
            dim,
            h: 0.5 * prm.dt,
            c1,
            c2: ((1.0 - c1 * c1) * prm.kt).sqrt(),
        }
    }

    /// One particle (global index `i`, local index `k`).
    #[inline(always)]
    fn one(
        &self,
        xi: &[f64],
        im: &[f64],
        i: usize,
        k: usize,
        [x, y, z, vx, vy, vz]: [&mut [f64]; 6],
    ) {
        let (b, h, c1, dim) = (self.b, self.h, self.c1, self.dim);
        let three = dim == 3;
        let m1 = if im.is_empty() { 1.0 } else { im[i] };
        let (w, s) = (h * m1, self.c2 * m1.sqrt());
        let r0 = [x[k], y[k], if three { z[k] } else { 0.0 }];
        let f0 = self.ff.local_force(dim, r0);
        let mut v = vx[k] + w * f0[0];
        let mut q = x[k] + h * v;
        v = c1 * v + s * xi[0];
        let vx1 = v;
        let x1 = b.wrap(0, q + h * v);
        v = vy[k] + w * f0[1];
        q = y[k] + h * v;
        v = c1 * v + s * xi[1];
        let vy1 = v;
        let y1 = b.wrap(1, q + h * v);
        let (mut vz1, mut z1) = (0.0, 0.0);
        if three {
            v = vz[k] + w * f0[2];
            q = z[k] + h * v;
            v = c1 * v + s * xi[2];
            vz1 = v;
            z1 = b.wrap(2, q + h * v);
        }
        let f1 = self.ff.local_force(dim, [x1, y1, z1]);
        x[k] = x1;
        y[k] = y1;
        vx[k] = vx1 + w * f1[0];
        vy[k] = vy1 + w * f1[1];
        if three {
            z[k] = z1;
            vz[k] = vz1 + w * f1[2];
        }
    }

    /// Particles `first + k .. first + k + 8` in SIMD.
    #[inline(always)]
    fn eight(&self, normals: &[f64], im: &[f64], first: usize, k: usize, arrays: [&mut [f64]; 6]) {
        let dim = self.dim;
        let three = dim == 3;
        let [x, y, z, vx, vy, vz] = arrays;
        let load = |a: &[f64]| f64x8::new(a[k..k + 8].try_into().expect("8 lanes"));
        let m1 = if im.is_empty() {
            f64x8::ONE
        } else {
            load(&im[first..])
        };
        let h = f64x8::splat(self.h);
        let c1 = f64x8::splat(self.c1);
        let w = h * m1;
        let s = f64x8::splat(self.c2) * m1.sqrt();
        let mut xi = [[0.0; 8]; 3];
        for l in 0..8 {
            for a in 0..dim {
                xi[a][l] = normals[dim * l + a];
            }
        }
        let wrap = |a: usize, v: f64x8| {
            if self.b.periodic {
                let l = f64x8::splat(self.b.lengths[a]);
                let r = v - l * (v / l).floor();
                (r.simd_ge(l) | r.simd_lt(f64x8::ZERO)).select(f64x8::ZERO, r)
            } else {
                v
            }
        };
        let r0 = [load(x), load(y), if three { load(z) } else { f64x8::ZERO }];
        let v0 = [
            load(vx),
            load(vy),
            if three { load(vz) } else { f64x8::ZERO },
        ];
        let f0 = self.ff.local_force8(dim, r0);
        let mut r1 = [f64x8::ZERO; 3];
        let mut v1 = [f64x8::ZERO; 3];
        for a in 0..dim {
            let mut v = v0[a] + w * f0[a];
            let q = r0[a] + h * v;
            v = c1 * v + s * f64x8::new(xi[a]);
            v1[a] = v;
            r1[a] = wrap(a, q + h * v);
        }
        let f1 = self.ff.local_force8(dim, r1);
        let outs: [(&mut [f64], &mut [f64]); 3] = [(x, vx), (y, vy), (z, vz)];
        for (a, (xa, va)) in outs.into_iter().enumerate().take(dim) {
            xa[k..k + 8].copy_from_slice(&r1[a].to_array());
            va[k..k + 8].copy_from_slice(&(v1[a] + w * f1[a]).to_array());
        }
    }
}
