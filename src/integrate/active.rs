//! Active Brownian particles (ABPs) in 2D and 3D, Euler-Maruyama
//! (Romanczuk et al., Eur. Phys. J. ST 202, 1 (2012); Bechinger et al., Rev.
//! Mod. Phys. 88, 045006 (2016)):
//! `x += (v0 e + mu F) dt + sqrt(2 D dt) xi` with `D = mu kT`, and the
//! orientation `e` diffusing with rotational diffusion `Dr`.
//! In 2D, `theta += tau dt + sqrt(2 Dr dt) xi_theta` and `e` is rotated by
//! that angle exactly (sine and cosine from [`crate::simd::trig`], eight
//! particles at a time), so `<e(t).e(0)> = exp(-Dr t)` and the free MSD is
//! `4 D t + 2 v0^2/Dr^2 (Dr t + exp(-Dr t) - 1)`. In 3D,
//! `e <- normalise(e + sqrt(2 Dr dt) xi x e)` (first order in dt).
//!
//! Optional 2D torques `tau` for "intelligent" ABPs / pedestrians:
//! * vision-cone steering (Bauerle, Loffler & Bechinger, Nat. Commun. 9, 3232
//!   (2018)): `tau_i = (Omega / N_i) sum_{j in cone} exp(-r_ij / R0)
//!   sin(phi_ij - theta_i)`, the cone being the particles within `range`
//!   whose direction `phi_ij` differs from `theta_i` by at most `psi`, `N_i`
//!   their number. Evaluated over all pairs (O(N^2)) by default, or over a
//!   Verlet list of radius `range + skin` reserved with
//!   [`ActiveBrownian::reserve_vision_neighbours`] (O(N), for crowds of any
//!   size). Both give the same bits: the list path adds each partner's
//!   weight into the accumulator lane `j mod 8` it has in the all-pairs scan,
//!   in the same (increasing `j`) order;
//! * goal fixation: `tau_i += K sin(phi_goal,i - theta_i)` with `phi_goal,i`
//!   the direction from particle `i` to the goal point (not minimum-imaged);
//!   evaluated as the cross product `(e_i x g_i) / (|e_i| |g_i|)` of the
//!   heading and the separation `g_i` to the goal, 0 for a particle exactly
//!   at the goal.
//!
//! Headings must have nonzero length (a step rejects a zero heading with
//! `OutOfRange`); only their direction enters the torques.
//!
//! Noise: per particle and step, draws `0..dim` translate and the next
//! (1 in 2D, 3 in 3D) rotate; element `(s n + i) D + d` with `D = 3` (2D) or
//! `6` (3D) of stream `Stream::ActiveRotationNoise.with_sub(stream)`.

use super::common::{
    axis_arrays, finite, for_each_noisy_segment, join, non_negative, positive, step_particles,
    AxisArrays, Needs, ParticleScheme, Workspace, UPDATE_SEGMENT,
};
use super::noise::{for_each_noise_chunk, NoiseKind, NOISE_CHUNK};
use super::split::for_each_segment;
use super::state::{Particles, SimBox};
use crate::error::{zeros, Error, ErrorKind, Result};
use crate::forces::cells::{gather_packed_checked, NeighbourList};
use crate::forces::ForceField;
use crate::rng::stream::Stream;
use crate::simd::f64x8;
use crate::simd::trig::sin_cos_each;

/// ABP parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActiveParams {
    pub dt: f64,
    /// Self-propulsion speed v0.
    pub v0: f64,
    /// Rotational diffusion coefficient Dr >= 0.
    pub dr: f64,
    /// Mobility mu > 0 (force to velocity).
    pub mobility: f64,
    /// Temperature kT >= 0: translational D = mu kT.
    pub kt: f64,
    pub seed: u64,
    pub stream: u64,
    /// Vision-cone maneuverability Omega (0 = off; 2D only).
    pub vision_omega: f64,
    /// Vision-cone half-angle psi in radians, in [0, pi].
    pub vision_angle: f64,
    /// Vision range (particles farther away are not seen), > 0 when Omega != 0.
    pub vision_range: f64,
    /// Decay length R0 of the exp(-r/R0) weight, > 0 when Omega != 0.
    pub vision_decay: f64,
    /// Goal-fixation strength K (0 = off; 2D only).
    pub goal_k: f64,
    /// Goal point (x, y).
    pub goal: [f64; 2],
}

impl Default for ActiveParams {
    fn default() -> Self {
        Self {
            dt: 1e-3,
            v0: 1.0,
            dr: 1.0,
            mobility: 1.0,
            kt: 0.0,
            seed: 0,
            stream: 0,
            vision_omega: 0.0,
            vision_angle: std::f64::consts::FRAC_PI_4,
            vision_range: 1.0,
            vision_decay: 1.0,
            goal_k: 0.0,
            goal: [0.0; 2],
        }
    }
}

/// An ABP integrator.
#[derive(Debug)]
pub struct ActiveBrownian {
    params: ActiveParams,
    noise: NoiseKind,
    ws: Workspace,
    torque: Vec<f64>,
    /// Verlet list of the vision cone (`None`: all pairs).
    vision: Option<VisionList>,
}

/// The vision cone's Verlet list and its slot-ordered position copy.
#[derive(Debug)]
struct VisionList {
    list: NeighbourList,
    packed: Vec<[f64; 4]>,
}

impl VisionList {
    /// Brings the list up to date with the positions of `p` (rebuilt when
    /// stale or when a particle moved more than half the skin). Errors:
    /// `Capacity` (a particle with more than `max_neighbors` within
    /// `range + skin`).
    fn update(&mut self, p: &Particles) -> Result<(&NeighbourList, &[[f64; 4]])> {
        let pos = p.positions();
        let n = pos.len();
        let moved = !self.list.is_built_for(n)
            || gather_packed_checked(
                &pos,
                self.list.order(),
                &mut self.packed[..n],
                Some(&self.list),
            );
        if moved {
            self.list.rebuild(&pos, &mut self.packed)?;
        }
        Ok((&self.list, &self.packed[..n]))
    }
}

impl ActiveBrownian {
    pub fn new(dim: usize, capacity: usize, params: ActiveParams) -> Result<Self> {
        positive("dt", params.dt)?;
        finite("v0", params.v0)?;
        non_negative("Dr", params.dr)?;
        positive("mobility", params.mobility)?;
        non_negative("kT", params.kt)?;
        non_negative("vision_omega", params.vision_omega)?;
        non_negative("goal_k", params.goal_k)?;
        finite("goal x", params.goal[0])?;
        finite("goal y", params.goal[1])?;
        let steering = params.vision_omega > 0.0 || params.goal_k > 0.0;
        if steering && dim != 2 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "vision-cone and goal torques are defined in 2D only (dim = 3 given)",
            ));
        }
        if params.vision_omega > 0.0 {
            positive("vision_range", params.vision_range)?;
            positive("vision_decay", params.vision_decay)?;
            non_negative("vision_angle", params.vision_angle)?;
            if params.vision_angle > std::f64::consts::PI {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("vision_angle = {} must be <= pi", params.vision_angle),
                ));
            }
        }
        Ok(Self {
            params,
            noise: NoiseKind::Gaussian,
            ws: Workspace::new(dim, capacity, Self::NEEDS)?,
            torque: vec![0.0; if steering { capacity } else { 0 }],
            vision: None,
        })
    }

    /// Evaluates the vision cone over a Verlet list instead of all pairs:
    /// O(N) per step instead of O(N^2), the same torques bit for bit.
    /// Reserves a list of radius `vision_range + skin` with room for
    /// `max_neighbors` particles within that radius of any particle
    /// (`capacity x (max_neighbors + 2)` words of 4 bytes, plus about 80
    /// bytes per particle); the list is rebuilt when a particle has moved
    /// more than `skin / 2`. Rule of thumb: `max_neighbors = 1.5 pi
    /// (vision_range + skin)^2 rho` at number density rho (more where
    /// pedestrians crowd). `max_neighbors = 0` returns to all pairs.
    ///
    /// Errors: `OutOfRange` (vision cone off, skin < 0,
    /// `max_neighbors >= 2^32 - 1`), `NonFinite` (skin NaN or infinite),
    /// `OutOfMemory`; the previous setting is kept. A step then fails with
    /// `Capacity` if a particle has more than `max_neighbors` neighbours
    /// within `vision_range + skin`, and a call fails with `OutOfRange` if a
    /// periodic box is shorter than `2 (vision_range + skin)`; the state is
    /// left at the last completed step.
    pub fn reserve_vision_neighbours(&mut self, max_neighbors: usize, skin: f64) -> Result<()> {
        if max_neighbors == 0 {
            self.vision = None;
            return Ok(());
        }
        if self.params.vision_omega <= 0.0 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                "the vision cone is off (vision_omega = 0): there is no list to reserve",
            ));
        }
        non_negative("skin", skin)?;
        let capacity = self.torque.len();
        let mut list = NeighbourList::new(
            SimBox::open(2),
            self.params.vision_range,
            skin,
            capacity,
            max_neighbors,
        )?;
        list.set_capacity_hint(
            "reserve the vision list with a larger max_neighbors \
             (fk_active_reserve_vision_neighbors)",
        );
        let packed = zeros(capacity, "vision-list positions")?;
        self.vision = Some(VisionList { list, packed });
        Ok(())
    }

    /// Rebuilds of the vision-cone Verlet list so far (0 without one).
    pub fn vision_list_builds(&self) -> u64 {
        self.vision.as_ref().map_or(0, |v| v.list.builds())
    }

    pub fn params(&self) -> &ActiveParams {
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

    /// Advances `n_steps` steps from `step0`; positions and the orientation
    /// unit vectors `(ox, oy[, oz])` are updated (velocities unused).
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

impl ParticleScheme for ActiveBrownian {
    const NEEDS: Needs = Needs {
        velocities: false,
        orientation: true,
        carried_forces: false,
    };

    fn workspace(&mut self) -> &mut Workspace {
        &mut self.ws
    }

    fn begin_call(&mut self, _p: &mut Particles, b: &SimBox) -> Result<()> {
        match self.vision.as_mut() {
            Some(v) => v.list.set_box(*b),
            None => Ok(()),
        }
    }

    fn one_step(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step: u64,
        b: &SimBox,
    ) -> Result<()> {
        self.ws.forces(ff, p, step)?;
        if !self.torque.is_empty() {
            let list = match self.vision.as_mut() {
                Some(v) => Some(v.update(p)?),
                None => None,
            };
            steering_torques(&self.params, p, b, list, &mut self.torque);
        }
        active_update(
            &self.ws,
            (&self.params, self.noise),
            &self.torque,
            p,
            step,
            b,
        );
        Ok(())
    }
}

/// Vision-cone and goal torques of every particle (2D), gathered per particle.
fn steering_torques(
    prm: &ActiveParams,
    p: &Particles,
    b: &SimBox,
    list: Option<(&NeighbourList, &[[f64; 4]])>,
    torque: &mut [f64],
) {
    let n = p.len();
    let (x, y, ox, oy) = (&*p.x, &*p.y, &*p.ox, &*p.oy);
    let cone = Cone {
        cos_psi: prm.vision_angle.cos(),
        range2: prm.vision_range * prm.vision_range,
        decay: prm.vision_decay,
    };
    for_each_segment([&mut torque[..n]], n, 256, &|_, first, [t]| {
        for k in 0..t.len() {
            let i = first + k;
            let mut tau = 0.0;
            if prm.vision_omega > 0.0 {
                let viewer = cone.viewer(x[i], y[i], (ox[i], oy[i]));
                let (sum, count) = match list {
                    Some((l, packed)) => viewer.sum_listed(i, b, l, packed),
                    None => viewer.sum(i, x, y, b),
                };
                if count > 0 {
                    tau += prm.vision_omega * sum / count as f64;
                }
            }
            if prm.goal_k > 0.0 {
                // sin(phi_goal - theta) = (e_i x g) / (|e_i| |g|) with g the
                // separation from the particle to the goal (no arctangents);
                // 0 for a particle exactly at the goal.
                let (ex, ey) = (ox[i], oy[i]);
                let (gx, gy) = (prm.goal[0] - x[i], prm.goal[1] - y[i]);
                let norms = ((ex * ex + ey * ey) * (gx * gx + gy * gy)).sqrt();
                if norms > 0.0 {
                    tau += prm.goal_k * ((ex * gy - ey * gx) / norms);
                }
            }
            t[k] = tau;
        }
    });
}

/// The vision cone of the steering torque.
struct Cone {
    cos_psi: f64,
    range2: f64,
    decay: f64,
}

impl Cone {
    /// The cone of particle `i` at `(x_i, y_i)` with heading `e_i = (ex, ey)`.
    #[inline(always)]
    fn viewer(&self, xi: f64, yi: f64, (ex, ey): (f64, f64)) -> Viewer {
        Viewer {
            xi: f64x8::splat(xi),
            yi: f64x8::splat(yi),
            ex: f64x8::splat(ex),
            ey: f64x8::splat(ey),
            norm: f64x8::splat(ex.hypot(ey)),
            cos_psi: f64x8::splat(self.cos_psi),
            range2: f64x8::splat(self.range2),
            decay: f64x8::splat(self.decay),
        }
    }
}

/// One particle's vision cone, splatted for eight partners at a time.
struct Viewer {
    xi: f64x8,
    yi: f64x8,
    ex: f64x8,
    ey: f64x8,
    norm: f64x8,
    cos_psi: f64x8,
    range2: f64x8,
    decay: f64x8,
}

impl Viewer {
    /// Separations `(dx, dy)`, distances `r` and the mask of the partners
    /// seen among eight at `(xj, yj)`: `j != i` within range
    /// (`0 < r < range`) and in the cone (`e_i . r_ij >= |e_i| r cos psi`;
    /// only the direction of `e_i` counts, as in `theta_i`). `None` when no
    /// partner is in range (most groups of the all-pairs scan).
    #[inline(always)]
    fn sight(&self, xj: f64x8, yj: f64x8, b: &SimBox) -> Option<[f64x8; 4]> {
        let dx = b.min_image8(0, xj - self.xi);
        let dy = b.min_image8(1, yj - self.yi);
        let r2 = dx * dx + dy * dy;
        let in_range = r2.simd_lt(self.range2) & r2.simd_gt(f64x8::ZERO);
        if !in_range.any() {
            return None;
        }
        let r = r2.sqrt();
        let in_cone = !((dx * self.ex + dy * self.ey) / (r * self.norm)).simd_lt(self.cos_psi);
        Some([dx, dy, r, in_range & in_cone])
    }

    /// Weights `exp(-r / R0) sin(phi_ij - theta_i)` of eight partners, with
    /// `sin(phi_ij - theta_i)` evaluated as `(e_i x r_ij) / (|e_i| r)` (the
    /// same quantity without two arctangents and a sine). Lane-wise, so a
    /// partner's weight has the same bits in any lane.
    #[inline(always)]
    fn weight(&self, dx: f64x8, dy: f64x8, r: f64x8) -> f64x8 {
        (-r / self.decay).exp() * ((self.ex * dy - self.ey * dx) / (r * self.norm))
    }

    /// `(sum_{j in cone} exp(-r_ij / R0) sin(phi_ij - theta_i), N_i)` over
    /// all particles, eight partners at a time: partner `j` in lane
    /// `j mod 8`; the last partial group is padded with particle `i` itself,
    /// which the `r > 0` test drops.
    #[inline]
    fn sum(&self, i: usize, x: &[f64], y: &[f64], b: &SimBox) -> (f64, usize) {
        let n = x.len();
        let (mut sum, mut count) = (f64x8::ZERO, f64x8::ZERO);
        let mut group = |xj: f64x8, yj: f64x8| {
            if let Some([dx, dy, r, seen]) = self.sight(xj, yj, b) {
                let w = self.weight(dx, dy, r);
                sum += seen.select(w, f64x8::ZERO);
                count += seen.select(f64x8::ONE, f64x8::ZERO);
            }
        };
        let mut j = 0;
        while j + 8 <= n {
            let xj = f64x8::new(x[j..j + 8].try_into().expect("eight partners"));
            let yj = f64x8::new(y[j..j + 8].try_into().expect("eight partners"));
            group(xj, yj);
            j += 8;
        }
        if j < n {
            let (mut xt, mut yt) = ([x[i]; 8], [y[i]; 8]);
            xt[..n - j].copy_from_slice(&x[j..]);
            yt[..n - j].copy_from_slice(&y[j..]);
            group(f64x8::new(xt), f64x8::new(yt));
        }
        (sum.reduce_add(), count.reduce_add() as usize)
    }

    /// [`Viewer::sum`] over the Verlet-list neighbours of `i` only (their
    /// positions from `packed`, this step's copies in slot order), with the
    /// same bits: the neighbours come sorted by particle index and are
    /// tested eight at a time (padded with `i` itself); those seen are
    /// packed in order, their weights computed eight at a time, and each is
    /// added into accumulator lane `j mod 8`, the lane partner `j` has in
    /// the all-pairs scan, in the same increasing-`j` order. (The all-pairs
    /// scan adds `+0.0` for partners not seen, which leaves a sum that
    /// started at `+0.0` unchanged.) Packing spends the exponential on the
    /// partners in the cone only.
    #[inline]
    fn sum_listed(
        &self,
        i: usize,
        b: &SimBox,
        list: &NeighbourList,
        packed: &[[f64; 4]],
    ) -> (f64, usize) {
        let order = list.order();
        let si = list.slot_of()[i] as usize;
        let slots = list.neighbours(si);
        let mut lanes = [0.0; 8];
        let mut count = 0;
        // Partners seen, not yet weighted: index, dx, dy, r.
        let mut seen_j = [0usize; 8];
        let mut seen_geo = [[1.0; 8]; 3];
        let mut m = 0;
        let mut flush = |seen_j: &[usize], geo: &[[f64; 8]; 3]| {
            let w = self.weight(f64x8::new(geo[0]), f64x8::new(geo[1]), f64x8::new(geo[2]));
            for (&j, w) in seen_j.iter().zip(w.to_array()) {
                lanes[j % 8] += w;
            }
            count += seen_j.len();
        };
        for group in slots.chunks(8) {
            let (mut xt, mut yt, mut jt) = ([packed[si][0]; 8], [packed[si][1]; 8], [i; 8]);
            for (k, &s) in group.iter().enumerate() {
                let s = s as usize;
                (xt[k], yt[k], jt[k]) = (packed[s][0], packed[s][1], order[s] as usize);
            }
            let Some([dx, dy, r, seen]) = self.sight(f64x8::new(xt), f64x8::new(yt), b) else {
                continue;
            };
            let (dx, dy, r, seen) = (dx.to_array(), dy.to_array(), r.to_array(), seen.to_array());
            for k in 0..group.len() {
                if seen[k].to_bits() != 0 {
                    seen_j[m] = jt[k];
                    (seen_geo[0][m], seen_geo[1][m], seen_geo[2][m]) = (dx[k], dy[k], r[k]);
                    m += 1;
                    if m == 8 {
                        flush(&seen_j, &seen_geo);
                        m = 0;
                    }
                }
            }
        }
        if m > 0 {
            flush(&seen_j[..m], &seen_geo);
        }
        (f64x8::new(lanes).reduce_add(), count)
    }
}

fn active_update(
    ws: &Workspace,
    (prm, kind): (&ActiveParams, NoiseKind),
    torque: &[f64],
    p: &mut Particles,
    step: u64,
    b: &SimBox,
) {
    let n = p.len();
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    let draws: usize = if three { 6 } else { 3 };
    let dt = prm.dt;
    let mu = prm.mobility;
    let amp = (2.0 * prm.mobility * prm.kt * dt).sqrt();
    let ramp = (2.0 * prm.dr * dt).sqrt();
    let AxisArrays { pos, orient, .. } = axis_arrays(p);
    for_each_noisy_segment(
        join(pos, orient),
        n,
        UPDATE_SEGMENT,
        (prm.seed, Stream::ActiveRotationNoise, prm.stream, kind),
        &|noise, first, [x, y, z, ox, oy, oz]| {
            let (mut rot_s, mut rot_c) = ([0.0; NOISE_CHUNK], [0.0; NOISE_CHUNK]);
            for_each_noise_chunk(noise, step, n, first, x.len(), draws, |c, xi| {
                if !three {
                    // The chunk's rotation angles, then their sines and
                    // cosines eight at a time (crate::simd::trig).
                    let m = xi.len() / draws;
                    let mut dtheta = [0.0; NOISE_CHUNK];
                    for (j, d) in dtheta[..m].iter_mut().enumerate() {
                        let i = first + c + j;
                        let tau = if torque.is_empty() { 0.0 } else { torque[i] };
                        *d = tau * dt + ramp * xi[draws * j + 2];
                    }
                    sin_cos_each(&dtheta[..m], &mut rot_s, &mut rot_c);
                }
                for (j, xi) in xi.chunks_exact(draws).enumerate() {
                    let (k, i) = (c + j, first + c + j);
                    x[k] = b.wrap(0, x[k] + (prm.v0 * ox[k] + mu * fx[i]) * dt + amp * xi[0]);
                    y[k] = b.wrap(1, y[k] + (prm.v0 * oy[k] + mu * fy[i]) * dt + amp * xi[1]);
                    if three {
                        z[k] = b.wrap(2, z[k] + (prm.v0 * oz[k] + mu * fz[i]) * dt + amp * xi[2]);
                        let w = [ramp * xi[3], ramp * xi[4], ramp * xi[5]];
                        let (a, bb, c) = (ox[k], oy[k], oz[k]);
                        let nx = a + (w[1] * c - w[2] * bb);
                        let ny = bb + (w[2] * a - w[0] * c);
                        let nz = c + (w[0] * bb - w[1] * a);
                        let inv = 1.0 / (nx * nx + ny * ny + nz * nz).sqrt();
                        ox[k] = nx * inv;
                        oy[k] = ny * inv;
                        oz[k] = nz * inv;
                    } else {
                        let (s, c) = (rot_s[j], rot_c[j]);
                        let (a, bb) = (ox[k], oy[k]);
                        let (nx, ny) = (c * a - s * bb, s * a + c * bb);
                        let inv = 1.0 / (nx * nx + ny * ny).sqrt();
                        ox[k] = nx * inv;
                        oy[k] = ny * inv;
                    }
                }
            });
        },
    );
}
