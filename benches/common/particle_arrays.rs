//! Owned particle arrays for the particle benchmarks (benches/particles.rs,
//! benches/integrators.rs), viewed as `fieldkern::integrate::Particles`.

use fieldkern::integrate::Particles;

/// Structure-of-arrays particle state; velocities and orientations may be
/// empty where the integrator does not use them.
pub struct Sys {
    pub dim: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
    pub vx: Vec<f64>,
    pub vy: Vec<f64>,
    pub vz: Vec<f64>,
    pub ox: Vec<f64>,
    pub oy: Vec<f64>,
}

impl Sys {
    /// `n` particles in 3D at position `(q, q, q)` and at rest; no
    /// orientations. (Not every benchmark that includes this file uses it.)
    #[allow(dead_code)]
    pub fn at_rest_3d(n: usize, q: f64) -> Self {
        Self {
            dim: 3,
            x: vec![q; n],
            y: vec![q; n],
            z: vec![q; n],
            vx: vec![0.0; n],
            vy: vec![0.0; n],
            vz: vec![0.0; n],
            ox: Vec::new(),
            oy: Vec::new(),
        }
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
            ..Default::default()
        }
    }
}
