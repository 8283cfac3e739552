//! Machinery shared by the integrators: argument and capacity checks, force
//! buffers reserved at create, force evaluation, the per-axis views of the
//! particle arrays, segment loops with their noise source, the velocity kick,
//! and the step driver that validates a call and backs up the state when a
//! force evaluation can fail, so a failed step leaves the particles at the
//! last completed step.

use super::noise::{NoiseKind, NoiseSource};
use super::split::for_each_segment;
use super::state::{check_finite, check_len, Particles, SimBox};
use crate::error::{Error, ErrorKind, Result};
use crate::forces::ForceField;
use crate::rng::stream::Stream;

/// Particles per segment of the integrator update loops.
pub const UPDATE_SEGMENT: usize = 4096;

/// Checks a positive, finite parameter.
pub fn positive(name: &str, v: f64) -> Result<()> {
    finite(name, v)?;
    if v <= 0.0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("{name} = {v} must be > 0"),
        ));
    }
    Ok(())
}

/// Checks a non-negative, finite parameter.
pub fn non_negative(name: &str, v: f64) -> Result<()> {
    finite(name, v)?;
    if v < 0.0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            format!("{name} = {v} must be >= 0"),
        ));
    }
    Ok(())
}

/// Checks a finite parameter.
pub fn finite(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::new(
            ErrorKind::NonFinite,
            format!("{name} = {v} must be finite"),
        ));
    }
    Ok(())
}

/// Checks a capacity requested at create.
pub fn nonzero_capacity(capacity: usize) -> Result<()> {
    if capacity == 0 {
        return Err(Error::new(
            ErrorKind::OutOfRange,
            "capacity (n) = 0 must be >= 1",
        ));
    }
    Ok(())
}

/// Checks that `n` items fit in the capacity reserved at create.
pub fn within_capacity(n: usize, capacity: usize) -> Result<()> {
    if n > capacity {
        return Err(Error::new(
            ErrorKind::Capacity,
            format!("n = {n} exceeds the capacity {capacity} reserved at create"),
        ));
    }
    Ok(())
}

/// Force and backup buffers of one integrator.
#[derive(Debug)]
pub struct Workspace {
    pub dim: usize,
    pub capacity: usize,
    pub fx: Vec<f64>,
    pub fy: Vec<f64>,
    pub fz: Vec<f64>,
    backup: [Vec<f64>; 9],
    held: HeldForces,
}

/// What the forces left in `fx..fz` by the last step call belong to, so the
/// next call can skip its start-of-call evaluation when nothing changed: the
/// force field (its [`ForceField::cache_key`]: identity and definition
/// generation; fields with batch or delayed terms have none) and the
/// particles' positions and types, compared bit for bit.
#[derive(Debug, Default)]
struct HeldForces {
    key: Option<((u64, u64), usize)>,
    pos: [Vec<f64>; 3],
    types: Vec<u32>,
}

/// Which optional arrays an integrator uses.
#[derive(Clone, Copy, Debug)]
pub struct Needs {
    pub velocities: bool,
    pub orientation: bool,
    /// The scheme evaluates `F(x)` once at the start of a call and carries
    /// it from step to step (each step ends with the forces of the next
    /// one), instead of evaluating at the start of each step.
    pub carried_forces: bool,
}

impl Workspace {
    /// Reserves force buffers and the rollback copy of every array `needs`
    /// names, for up to `capacity` particles.
    pub fn new(dim: usize, capacity: usize, needs: Needs) -> Result<Self> {
        if dim != 2 && dim != 3 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("dim = {dim} must be 2 or 3"),
            ));
        }
        nonzero_capacity(capacity)?;
        let z = if dim == 3 { capacity } else { 0 };
        if capacity
            .checked_mul(15 * 8)
            .is_none_or(|b| b > isize::MAX as usize)
        {
            return Err(Error::new(
                ErrorKind::OutOfMemory,
                format!("cannot reserve buffers for {capacity} particles"),
            ));
        }
        Ok(Self {
            dim,
            capacity,
            fx: vec![0.0; capacity],
            fy: vec![0.0; capacity],
            fz: vec![0.0; z],
            backup: std::array::from_fn(|k| {
                let used = match k {
                    0 | 1 => true,
                    2 => dim == 3,
                    3 | 4 => needs.velocities,
                    5 => needs.velocities && dim == 3,
                    6 | 7 => needs.orientation,
                    _ => needs.orientation && dim == 3,
                };
                vec![0.0; if used { capacity } else { 0 }]
            }),
            held: if needs.carried_forces {
                HeldForces {
                    key: None,
                    pos: [vec![0.0; capacity], vec![0.0; capacity], vec![0.0; z]],
                    types: vec![0; capacity],
                }
            } else {
                HeldForces::default()
            },
        })
    }

    /// The start-of-call evaluation of a force-carrying scheme: skipped when
    /// the forces left by the previous call belong to this force field (same
    /// identity and definition) and to bitwise the same positions and types,
    /// because forces are then a pure function of those (the result is the
    /// same bits as evaluating again). So calling `step` one step at a time
    /// costs one evaluation per step, not two.
    pub fn forces_at_call_start(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &Particles,
        step: u64,
    ) -> Result<()> {
        let n = p.len();
        let key = ff.as_deref().and_then(ForceField::cache_key);
        if key.is_some() && self.held.key == key.map(|k| (k, n)) && self.holds(p) {
            return Ok(());
        }
        self.held.key = None;
        self.forces(ff, p, step)
    }

    /// Whether the held positions and types equal the particles' bitwise.
    fn holds(&self, p: &Particles) -> bool {
        let n = p.len();
        let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        let types_same = if p.types.is_empty() {
            self.held.types[..n].iter().all(|&t| t == 0)
        } else {
            self.held.types[..n] == p.types[..n]
        };
        same(&self.held.pos[0][..n], p.x)
            && same(&self.held.pos[1][..n], p.y)
            && (self.dim == 2 || same(&self.held.pos[2][..n], p.z))
            && types_same
    }

    /// Records, at the end of a completed call, which field, positions and
    /// types the carried forces belong to (nothing for fields without a
    /// cache key).
    pub fn hold(&mut self, ff: Option<&ForceField>, p: &Particles) {
        let n = p.len();
        self.held.key = None;
        let Some(key) = ff.and_then(ForceField::cache_key) else {
            return;
        };
        self.held.pos[0][..n].copy_from_slice(p.x);
        self.held.pos[1][..n].copy_from_slice(p.y);
        if self.dim == 3 {
            self.held.pos[2][..n].copy_from_slice(p.z);
        }
        if p.types.is_empty() {
            self.held.types[..n].fill(0);
        } else {
            self.held.types[..n].copy_from_slice(&p.types[..n]);
        }
        self.held.key = Some((key, n));
    }

    /// Validates particles against this workspace and the force field.
    pub fn check(&self, ff: Option<&ForceField>, p: &Particles, needs: Needs) -> Result<()> {
        if p.dim != self.dim {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "particles have dim = {} but the integrator was created with dim = {}",
                    p.dim, self.dim
                ),
            ));
        }
        let n = p.len();
        within_capacity(n, self.capacity)?;
        let ntypes = ff.map_or(usize::MAX, |f| f.params().ntypes);
        p.validate(ntypes, needs.velocities)?;
        if needs.orientation {
            check_len("ox", p.ox.len(), n)?;
            check_len("oy", p.oy.len(), n)?;
            check_finite("ox", p.ox)?;
            check_finite("oy", p.oy)?;
            if self.dim == 3 {
                check_len("oz", p.oz.len(), n)?;
                check_finite("oz", p.oz)?;
            }
            check_nonzero_headings(p)?;
        }
        if let Some(f) = ff {
            // The positions and types were validated above against the
            // field's ntypes.
            f.check_shape(p.dim, n)?;
        }
        Ok(())
    }

    /// Evaluates forces at the particles' positions of `step` into `fx..fz`.
    pub fn forces(&mut self, ff: Option<&mut ForceField>, p: &Particles, step: u64) -> Result<()> {
        let n = p.len();
        let fz: &mut [f64] = if self.dim == 3 {
            &mut self.fz[..n]
        } else {
            &mut []
        };
        match ff {
            Some(f) => f.compute(
                &p.positions(),
                step,
                &mut self.fx[..n],
                &mut self.fy[..n],
                fz,
                false,
            ),
            None => {
                self.fx[..n].fill(0.0);
                self.fy[..n].fill(0.0);
                fz.fill(0.0);
                Ok(())
            }
        }
    }

    fn save(&mut self, p: &Particles) {
        let n = p.len();
        let src: [&[f64]; 9] = [p.x, p.y, p.z, p.vx, p.vy, p.vz, p.ox, p.oy, p.oz];
        for (b, s) in self.backup.iter_mut().zip(src) {
            let m = s.len().min(n).min(b.len());
            b[..m].copy_from_slice(&s[..m]);
        }
    }

    fn restore_if(&self, saved: bool, p: &mut Particles) {
        if saved {
            self.restore(p);
        }
    }

    fn restore(&self, p: &mut Particles) {
        let n = p.len();
        let dst: [&mut [f64]; 9] = [
            &mut *p.x, &mut *p.y, &mut *p.z, &mut *p.vx, &mut *p.vy, &mut *p.vz, &mut *p.ox,
            &mut *p.oy, &mut *p.oz,
        ];
        for (b, d) in self.backup.iter().zip(dst) {
            let m = d.len().min(n).min(b.len());
            d[..m].copy_from_slice(&b[..m]);
        }
    }
}

/// The box positions live in: the force field's, or open.
pub fn sim_box(ff: Option<&ForceField>, dim: usize) -> SimBox {
    ff.map_or(SimBox::open(dim), |f| *f.sim_box())
}

/// A particle integration scheme, stepped by [`step_particles`].
pub trait ParticleScheme {
    /// Optional arrays the scheme reads and writes, and whether it carries
    /// forces from step to step.
    const NEEDS: Needs;

    fn workspace(&mut self) -> &mut Workspace;

    /// Called once per step call after the state was checked and before any
    /// force evaluation; an error leaves the state unchanged.
    fn begin_call(&mut self, _p: &mut Particles, _b: &SimBox) -> Result<()> {
        Ok(())
    }

    /// Runs all `n_steps` steps by a path that cannot fail, if the scheme has
    /// one for this force field; returns whether it did.
    fn fused_steps(
        &mut self,
        _ff: Option<&ForceField>,
        _p: &mut Particles,
        _step0: u64,
        _n_steps: usize,
        _b: &SimBox,
    ) -> bool {
        false
    }

    /// Step `step`; with `NEEDS.carried_forces`, the workspace holds the
    /// forces at its start.
    fn one_step(
        &mut self,
        ff: Option<&mut ForceField>,
        p: &mut Particles,
        step: u64,
        b: &SimBox,
    ) -> Result<()>;

    /// Whether the scheme's step ends with a half-kick `v += (dt/2) F/m`
    /// that the next step's first pass can apply instead: one pass over the
    /// velocities and forces fewer per step, the same operations in the same
    /// order, so the same bits.
    const DEFERS_CLOSING_KICK: bool = false;

    /// [`Self::one_step`] without its closing half-kick; `pending` applies
    /// the previous step's first. Only called when
    /// [`Self::DEFERS_CLOSING_KICK`].
    fn one_step_open(
        &mut self,
        _ff: Option<&mut ForceField>,
        _p: &mut Particles,
        _step: u64,
        _b: &SimBox,
        _pending: bool,
    ) -> Result<()> {
        unreachable!("one_step_open of a scheme that does not defer its kick")
    }

    /// Applies the half-kick the last [`Self::one_step_open`] left pending.
    fn close_kick(&mut self, _p: &mut Particles) {}
}

/// Step `step` of `scheme`, its closing half-kick left pending (and the
/// previous one applied first, if `pending`) when `defer`.
fn advance<S: ParticleScheme>(
    scheme: &mut S,
    ff: Option<&mut ForceField>,
    p: &mut Particles,
    step: u64,
    b: &SimBox,
    defer: bool,
    pending: bool,
) -> Result<()> {
    if defer {
        scheme.one_step_open(ff, p, step, b, pending)
    } else {
        scheme.one_step(ff, p, step, b)
    }
}

/// Validates the call, then runs `n_steps` steps `step0, step0 + 1, ...` of
/// `scheme`. If a step fails, the particles are left at the start of that
/// step. Returns the completed steps and the first error.
///
/// How the start of the failed step is recovered, when the force field can
/// fail after validation (a neighbour row over capacity, a callback):
/// * schemes without carried forces (Brownian, active) evaluate before they
///   move anything, so a failed step has changed nothing;
/// * schemes with carried forces (Verlet, BAOAB) drift before they evaluate.
///   With a pure force field (a [`ForceField::cache_key`]: forces a function
///   of positions and types only) the state at the start of the call is kept
///   and, on failure at step `k`, restored and advanced again by `k` steps:
///   every step is a pure function of the state and its index, so these are
///   the same bits, and a successful call copies the particles once instead
///   of once per step. Other fields (callbacks, delayed traps) keep a copy of
///   each step's start.
pub fn step_particles<S: ParticleScheme>(
    scheme: &mut S,
    mut ff: Option<&mut ForceField>,
    p: &mut Particles,
    step0: u64,
    n_steps: usize,
) -> (usize, Result<()>) {
    if let Err(e) = scheme.workspace().check(ff.as_deref(), p, S::NEEDS) {
        return (0, Err(e));
    }
    if n_steps == 0 {
        return (0, Ok(()));
    }
    let b = sim_box(ff.as_deref(), p.dim);
    if let Err(e) = scheme.begin_call(p, &b) {
        return (0, Err(e));
    }
    if scheme.fused_steps(ff.as_deref(), p, step0, n_steps, &b) {
        return (n_steps, Ok(()));
    }
    let carried = S::NEEDS.carried_forces;
    if carried {
        let start = scheme
            .workspace()
            .forces_at_call_start(ff.as_deref_mut(), p, step0);
        if let Err(e) = start {
            return (0, Err(e));
        }
    }
    let may_fail = carried && ff.as_deref().is_some_and(|f| f.may_fail());
    let replay = may_fail && ff.as_deref().is_some_and(|f| f.cache_key().is_some());
    // The closing half-kick is deferred into the next step only where a
    // failed step is recovered from the start of the call (or cannot fail).
    let defer = S::DEFERS_CLOSING_KICK && (replay || !may_fail);
    if replay {
        scheme.workspace().save(p);
    }
    for s in 0..n_steps {
        let step = step0.wrapping_add(s as u64);
        if may_fail && !replay {
            scheme.workspace().save(p);
        }
        if let Err(e) = advance(scheme, ff.as_deref_mut(), p, step, &b, defer, s > 0) {
            scheme.workspace().restore_if(may_fail, p);
            scheme.workspace().held.key = None;
            let done = if replay {
                replay_steps(scheme, ff, p, step0, s, &b, defer)
            } else {
                s
            };
            return (done, Err(e));
        }
    }
    if defer {
        scheme.close_kick(p);
    }
    if carried {
        scheme.workspace().hold(ff.as_deref(), p);
    }
    (n_steps, Ok(()))
}

/// Advances `p`, restored to the start of the call, by the `k` steps that
/// completed before a failure; returns `k`. Those steps succeeded with the
/// same inputs, so they succeed again; should one fail all the same, the
/// particles go back to the start of the call and 0 steps are reported.
fn replay_steps<S: ParticleScheme>(
    scheme: &mut S,
    mut ff: Option<&mut ForceField>,
    p: &mut Particles,
    step0: u64,
    k: usize,
    b: &SimBox,
    defer: bool,
) -> usize {
    if k == 0 {
        return 0;
    }
    let mut ok = scheme
        .workspace()
        .forces_at_call_start(ff.as_deref_mut(), p, step0)
        .is_ok();
    for s in 0..k {
        let step = step0.wrapping_add(s as u64);
        ok = ok && advance(scheme, ff.as_deref_mut(), p, step, b, defer, s > 0).is_ok();
    }
    if ok {
        if defer {
            scheme.close_kick(p);
        }
        k
    } else {
        scheme.workspace().restore(p);
        0
    }
}

/// Every heading `(ox, oy[, oz])` has nonzero length: the integrators
/// normalise headings, and the direction of a zero vector is undefined.
fn check_nonzero_headings(p: &Particles) -> Result<()> {
    let oz: &[f64] = if p.dim == 3 { p.oz } else { &[] };
    let len2 = |i: usize| {
        p.ox[i] * p.ox[i] + p.oy[i] * p.oy[i] + if oz.is_empty() { 0.0 } else { oz[i] * oz[i] }
    };
    // Branch-free first (vectorises); only a hit needs the scan that names
    // the index.
    if (0..p.len()).fold(false, |bad, i| bad | (len2(i) == 0.0)) {
        if let Some(i) = (0..p.len()).find(|&i| len2(i) == 0.0) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "heading {i} (ox, oy{}) has zero length",
                    if oz.is_empty() { "" } else { ", oz" }
                ),
            ));
        }
    }
    Ok(())
}

/// The per-axis arrays of particles: positions, velocities, orientations,
/// each `[x, y, z]` with the `z` entry empty in 2D.
pub struct AxisArrays<'p> {
    pub pos: [&'p mut [f64]; 3],
    pub vel: [&'p mut [f64]; 3],
    pub orient: [&'p mut [f64]; 3],
}

/// Splits `p` into its per-axis arrays.
pub fn axis_arrays<'p>(p: &'p mut Particles<'_>) -> AxisArrays<'p> {
    if p.dim == 3 {
        AxisArrays {
            pos: [&mut *p.x, &mut *p.y, &mut *p.z],
            vel: [&mut *p.vx, &mut *p.vy, &mut *p.vz],
            orient: [&mut *p.ox, &mut *p.oy, &mut *p.oz],
        }
    } else {
        AxisArrays {
            pos: [&mut *p.x, &mut *p.y, &mut []],
            vel: [&mut *p.vx, &mut *p.vy, &mut []],
            orient: [&mut *p.ox, &mut *p.oy, &mut []],
        }
    }
}

/// `[a.., b..]`: two per-axis triples as one array list for
/// [`for_each_segment`].
pub fn join<'p>(
    [a0, a1, a2]: [&'p mut [f64]; 3],
    [b0, b1, b2]: [&'p mut [f64]; 3],
) -> [&'p mut [f64]; 6] {
    [a0, a1, a2, b0, b1, b2]
}

/// A noisy segment task: `(noise, first_index, parts)`.
pub type NoisyTask<'a, const N: usize> =
    dyn Fn(&mut NoiseSource, usize, [&mut [f64]; N]) + Sync + 'a;

/// [`for_each_segment`] with a fresh noise source of `kind` on stream
/// `tag.with_sub(stream)` of `seed` for every segment (draws are addressed by
/// element, so they do not depend on the segments).
pub fn for_each_noisy_segment<const N: usize>(
    arrays: [&mut [f64]; N],
    n: usize,
    seg_len: usize,
    (seed, tag, stream, kind): (u64, Stream, u64, NoiseKind),
    task: &NoisyTask<'_, N>,
) {
    for_each_segment(arrays, n, seg_len, &|_, first, parts| {
        let mut noise = NoiseSource::new(seed, tag, stream, kind);
        task(&mut noise, first, parts);
    });
}

/// `v += h F/m`.
pub fn kick(ws: &Workspace, p: &mut Particles, h: f64) {
    let n = p.len();
    let im = p.inv_mass;
    let (fx, fy, fz) = (&ws.fx[..n], &ws.fy[..n], &ws.fz[..]);
    let three = p.dim == 3;
    for_each_segment(
        axis_arrays(p).vel,
        n,
        UPDATE_SEGMENT,
        &|_, first, [vx, vy, vz]| {
            for k in 0..vx.len() {
                let i = first + k;
                let w = h * if im.is_empty() { 1.0 } else { im[i] };
                vx[k] += w * fx[i];
                vy[k] += w * fy[i];
                if three {
                    vz[k] += w * fz[i];
                }
            }
        },
    );
}
