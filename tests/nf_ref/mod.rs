//! An independent f64 reference of a neural field (encoding + dense stack),
//! written from the formulas, not from the kernel: plain loops, f64 libm.
//! Also generates random models (weights as f32, so reference and kernel
//! evaluate exactly the same function) from a small splitmix64 generator.
#![allow(dead_code, clippy::needless_range_loop)]

use fieldkern::nf::model::FilmSpec;
use fieldkern::nf::{Activation, Encoding, LayerSpec, Model, ModelSpec};

/// Allocations made while `f` runs, the fewest over three runs. The counter
/// (tests/support/alloc.rs) sees every thread, and libtest's main thread may
/// still be reporting the previous test (allocating) when this one starts;
/// an allocation inside `f` itself would show up in every run, so the
/// minimum is the calls' own count.
pub fn fewest_allocations(mut f: impl FnMut()) -> u64 {
    (0..3)
        .map(|_| crate::support::alloc::count_allocations(&mut f).1)
        .min()
        .unwrap()
}

/// splitmix64 (Steele et al. 2014): deterministic test data.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-a, a].
    pub fn sym(&mut self, a: f64) -> f64 {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * a
    }
}

pub fn act_ref(a: Activation, z: f64) -> f64 {
    match a {
        Activation::Identity => z,
        Activation::Relu => {
            if z > 0.0 {
                z
            } else {
                0.0
            }
        }
        Activation::LeakyRelu(s) => {
            if z >= 0.0 {
                z
            } else {
                f64::from(s) * z
            }
        }
        Activation::Silu => z / (1.0 + (-z).exp()),
        Activation::GeluTanh => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * z * (1.0 + (c * (z + 0.044715 * z * z * z)).tanh())
        }
        Activation::Tanh => z.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        Activation::Softplus => {
            if z > 20.0 {
                z
            } else {
                z.exp().ln_1p()
            }
        }
        Activation::Sine(w) => (f64::from(w) * z).sin(),
    }
}

pub struct RefLayer {
    pub in_dim: usize,
    pub out_dim: usize,
    pub act: Activation,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

pub struct RefNet {
    /// Coordinate inputs (the encoding's input).
    pub in_dim: usize,
    pub encoding: Encoding,
    pub skip: Option<usize>,
    pub layers: Vec<RefLayer>,
    /// Latent inputs after the coordinates; concatenated to gamma(x) and/or
    /// feeding FiLM maps `(layer, F [2 out][K], f [2 out])`.
    pub latent_dim: usize,
    pub latent_concat: bool,
    pub film: Vec<(usize, Vec<f32>, Vec<f32>)>,
}

impl RefNet {
    pub fn encode(&self, x: &[f64]) -> Vec<f64> {
        let tau = 2.0 * std::f64::consts::PI;
        match &self.encoding {
            Encoding::Identity => x.to_vec(),
            Encoding::Fourier { b, m, .. } => {
                let phase: Vec<f64> = (0..*m)
                    .map(|j| {
                        (0..self.in_dim)
                            .map(|d| tau * f64::from(b[j * self.in_dim + d]) * x[d])
                            .sum()
                    })
                    .collect();
                let mut e: Vec<f64> = phase.iter().map(|p| p.sin()).collect();
                e.extend(phase.iter().map(|p| p.cos()));
                e
            }
            Encoding::Positional {
                octaves,
                include_input,
            } => {
                let mut e = Vec::new();
                if *include_input {
                    e.extend_from_slice(x);
                }
                for k in 0..*octaves {
                    let f = 2f64.powi(k as i32) * std::f64::consts::PI;
                    e.extend(x.iter().map(|v| (f * v).sin()));
                    e.extend(x.iter().map(|v| (f * v).cos()));
                }
                e
            }
            Encoding::HashGrid(_) => panic!("the hash-grid reference is in tests/nf_hashgrid.rs"),
        }
    }

    /// `(output, scale)`: `scale[o] = |b_o| + sum_i |W_oi h_i|` of the last
    /// layer, the size of the terms whose rounding limits f32 accuracy.
    pub fn eval_with_scale(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (coords, latent) = x.split_at(self.in_dim);
        let mut enc = self.encode(coords);
        if self.latent_concat {
            enc.extend_from_slice(latent);
        }
        let mut h = enc.clone();
        let mut scale = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            let input: Vec<f64> = if self.skip == Some(l) {
                enc.iter().chain(&h).copied().collect()
            } else {
                h.clone()
            };
            assert_eq!(input.len(), layer.in_dim);
            let mut out = Vec::with_capacity(layer.out_dim);
            scale.clear();
            for o in 0..layer.out_dim {
                let mut z = f64::from(layer.b[o]);
                let mut s = z.abs();
                for i in 0..layer.in_dim {
                    let t = f64::from(layer.w[o * layer.in_dim + i]) * input[i];
                    z += t;
                    s += t.abs();
                }
                if let Some((_, fw, fb)) = self.film.iter().find(|f| f.0 == l) {
                    let k = self.latent_dim;
                    let row = |r: usize| {
                        f64::from(fb[r])
                            + (0..k)
                                .map(|j| f64::from(fw[r * k + j]) * latent[j])
                                .sum::<f64>()
                    };
                    let (gamma, beta) = (row(o), row(layer.out_dim + o));
                    z = gamma * z + beta;
                    s = gamma.abs() * s + beta.abs();
                }
                out.push(act_ref(layer.act, z));
                scale.push(s);
            }
            h = out;
        }
        (h, scale)
    }

    /// Smallest `|z|` over the pre-activations of piecewise-linear layers
    /// (ReLU, leaky ReLU): where it is tiny, the kink lies within a finite
    /// difference step and the difference quotient is not the derivative.
    /// (Unconditioned nets only: with a latent code it returns infinity, so
    /// keep ReLUs out of conditioned test nets.)
    pub fn min_abs_kink_preactivation(&self, x: &[f64]) -> f64 {
        if self.latent_dim > 0 {
            return f64::INFINITY;
        }
        let enc = self.encode(x);
        let mut h = enc.clone();
        let mut closest = f64::INFINITY;
        for (l, layer) in self.layers.iter().enumerate() {
            let input: Vec<f64> = if self.skip == Some(l) {
                enc.iter().chain(&h).copied().collect()
            } else {
                h.clone()
            };
            let kinked = matches!(layer.act, Activation::Relu | Activation::LeakyRelu(_));
            h = (0..layer.out_dim)
                .map(|o| {
                    let z = f64::from(layer.b[o])
                        + (0..layer.in_dim)
                            .map(|i| f64::from(layer.w[o * layer.in_dim + i]) * input[i])
                            .sum::<f64>();
                    if kinked {
                        closest = closest.min(z.abs());
                    }
                    act_ref(layer.act, z)
                })
                .collect();
        }
        closest
    }

    pub fn eval(&self, x: &[f64]) -> Vec<f64> {
        self.eval_with_scale(x).0
    }

    /// Central finite differences in f64: `jac[o][d]`. Step h = 1e-5: the
    /// truncation error ~ h^2 f''' / 6 ~ 1e-10 and the rounding error
    /// ~ 1e-16 |f| / h ~ 1e-11 are far below the 1e-4 test tolerance.
    pub fn jacobian_fd(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let h = 1e-5;
        let out_dim = self.layers.last().unwrap().out_dim;
        let total = self.in_dim + self.latent_dim;
        let mut jac = vec![vec![0.0; total]; out_dim];
        for d in 0..total {
            let mut xp = x.to_vec();
            let mut xm = x.to_vec();
            xp[d] += h;
            xm[d] -= h;
            let (fp, fm) = (self.eval(&xp), self.eval(&xm));
            for o in 0..out_dim {
                jac[o][d] = (fp[o] - fm[o]) / (2.0 * h);
            }
        }
        jac
    }

    pub fn spec(&self, task_slots: usize) -> ModelSpec<'_> {
        ModelSpec {
            latent_dim: self.latent_dim,
            latent_concat: self.latent_concat,
            film: self
                .film
                .iter()
                .map(|(l, w, b)| FilmSpec {
                    layer: *l,
                    weight: w,
                    bias: Some(b),
                })
                .collect(),
            in_dim: self.in_dim,
            encoding: self.encoding.clone(),
            skip_layer: self.skip,
            layers: self
                .layers
                .iter()
                .map(|l| LayerSpec {
                    out_dim: l.out_dim,
                    activation: l.act,
                    weight: &l.w,
                    bias: Some(&l.b),
                })
                .collect(),
            task_slots,
        }
    }

    pub fn model(&self, task_slots: usize) -> Model {
        Model::new(&self.spec(task_slots)).expect("valid model")
    }
}

pub const ALL_ACTIVATIONS: [Activation; 9] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.1),
    Activation::Silu,
    Activation::GeluTanh,
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Softplus,
    Activation::Sine(30.0),
];

pub fn encodings(in_dim: usize, rng: &mut TestRng) -> Vec<Encoding> {
    let m = 8;
    let b: Vec<f32> = (0..m * in_dim).map(|_| rng.sym(1.5) as f32).collect();
    vec![
        Encoding::Identity,
        Encoding::fourier(&b, m, in_dim).unwrap(),
        Encoding::positional(4, true).unwrap(),
    ]
}

/// A random network: hidden widths deliberately not multiples of the
/// 4-output register block, weights uniform with PyTorch's default bound
/// `1/sqrt(fan_in)` (SIREN: Sitzmann et al.'s `sqrt(6/fan_in)/omega_0` for
/// hidden layers, `1/fan_in` for the first).
pub fn random_net(
    in_dim: usize,
    encoding: Encoding,
    hidden: &[usize],
    out_dim: usize,
    act: Activation,
    skip: Option<usize>,
    rng: &mut TestRng,
) -> RefNet {
    let enc_dim = encoding.output_dim(in_dim);
    let mut layers = Vec::new();
    let mut prev = enc_dim;
    let widths: Vec<usize> = hidden.iter().copied().chain([out_dim]).collect();
    for (l, &w) in widths.iter().enumerate() {
        let fan_in = prev + if skip == Some(l) { enc_dim } else { 0 };
        let last = l + 1 == widths.len();
        let layer_act = if last { Activation::Identity } else { act };
        let bound = match act {
            Activation::Sine(_) if l == 0 => 1.0 / fan_in as f64,
            Activation::Sine(omega) => (6.0 / fan_in as f64).sqrt() / f64::from(omega),
            _ => 1.0 / (fan_in as f64).sqrt(),
        };
        layers.push(RefLayer {
            in_dim: fan_in,
            out_dim: w,
            act: layer_act,
            w: (0..w * fan_in).map(|_| rng.sym(bound) as f32).collect(),
            b: (0..w).map(|_| rng.sym(bound) as f32).collect(),
        });
        prev = w;
    }
    RefNet {
        in_dim,
        encoding,
        skip,
        layers,
        latent_dim: 0,
        latent_concat: false,
        film: Vec::new(),
    }
}

/// Total inputs per point (coordinates + latent).
impl RefNet {
    pub fn input_width(&self) -> usize {
        self.in_dim + self.latent_dim
    }

    /// Adds a latent code of width `k`: concatenated to gamma(x) if
    /// `concat`, and FiLM on `film_layers`; layer 0 (and the skip layer) get
    /// new weights of the right width.
    pub fn condition(&mut self, k: usize, concat: bool, film_layers: &[usize], rng: &mut TestRng) {
        self.latent_dim = k;
        self.latent_concat = concat;
        if concat {
            let widen: Vec<usize> = [Some(0), self.skip].into_iter().flatten().collect();
            for l in widen {
                let layer = &mut self.layers[l];
                layer.in_dim += k;
                // Same init rule as random_net (SIREN's for sine layers).
                let fan_in = layer.in_dim as f64;
                let bound = match layer.act {
                    Activation::Sine(_) if l == 0 => 1.0 / fan_in,
                    Activation::Sine(omega) => (6.0 / fan_in).sqrt() / f64::from(omega),
                    _ => 1.0 / fan_in.sqrt(),
                };
                layer.w = (0..layer.out_dim * layer.in_dim)
                    .map(|_| rng.sym(bound) as f32)
                    .collect();
            }
        }
        for &l in film_layers {
            let n = self.layers[l].out_dim;
            // gamma = 1 + small, beta = small: the usual FiLM initialisation.
            let w = (0..2 * n * k).map(|_| rng.sym(0.3) as f32).collect();
            let b = (0..2 * n)
                .map(|r| if r < n { 1.0 + rng.sym(0.2) } else { rng.sym(0.2) } as f32)
                .collect();
            self.film.push((l, w, b));
        }
    }
}

pub fn random_points(n: usize, in_dim: usize, rng: &mut TestRng) -> Vec<f32> {
    (0..n * in_dim).map(|_| rng.sym(1.0) as f32).collect()
}
