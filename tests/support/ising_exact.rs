//! Exact results for the 2D Ising model used by several test binaries:
//! Kaufman's finite-torus partition function (energy per spin), Yang's
//! spontaneous magnetisation, and Boltzmann weights of all states of a small
//! torus.

/// `ln Z` of the `m x n` periodic square-lattice Ising model at coupling
/// `K = J / T` (Kaufman 1949, as written by Beale 1996, PRL 76, 78):
/// `Z = 1/2 (2 sinh 2K)^(mn/2) (Z1 + Z2 + Z3 + Z4)` with
/// `Z1,2 = prod_{r<n} 2 cosh, 2 sinh (m g_{2r+1} / 2)`,
/// `Z3,4 = prod_{r<n} 2 cosh, 2 sinh (m g_{2r} / 2)`,
/// `cosh g_k = cosh 2K coth 2K - cos(pi k / n)`, `g_0 = 2K + ln tanh K`.
pub fn kaufman_ln_z(m: usize, n: usize, k: f64) -> f64 {
    let gamma = |l: usize| -> f64 {
        if l == 0 {
            2.0 * k + k.tanh().ln()
        } else {
            let c = (2.0 * k).cosh() / (2.0 * k).tanh()
                - (std::f64::consts::PI * l as f64 / n as f64).cos();
            c.acosh()
        }
    };
    // (ln |Z_i|, sign Z_i)
    let ln_2cosh = |a: f64| a.abs() + (-2.0 * a.abs()).exp().ln_1p();
    let ln_2sinh = |a: f64| a.abs() + (-(-2.0 * a.abs()).exp()).ln_1p();
    let mut terms = [(0.0f64, 1.0f64); 4];
    for r in 0..n {
        let odd = 0.5 * m as f64 * gamma(2 * r + 1);
        let even = 0.5 * m as f64 * gamma(2 * r);
        terms[0].0 += ln_2cosh(odd);
        terms[1].0 += ln_2sinh(odd);
        terms[1].1 *= odd.signum();
        terms[2].0 += ln_2cosh(even);
        terms[3].0 += ln_2sinh(even);
        terms[3].1 *= even.signum();
    }
    let top = terms.iter().map(|t| t.0).fold(f64::MIN, f64::max);
    let sum: f64 = terms.iter().map(|t| t.1 * (t.0 - top).exp()).sum();
    0.5f64.ln() + 0.5 * (m * n) as f64 * (2.0 * (2.0 * k).sinh()).ln() + top + sum.ln()
}

/// Exact energy per spin `-(1/N) d ln Z / dK` (J = 1) of the `l x l` torus.
pub fn exact_energy_per_spin(l: usize, t: f64) -> f64 {
    let k = 1.0 / t;
    let h = 1e-5;
    let d = (kaufman_ln_z(l, l, k + h) - kaufman_ln_z(l, l, k - h)) / (2.0 * h);
    -d / (l * l) as f64
}

/// Yang's spontaneous magnetisation of the infinite square lattice (J = 1).
pub fn yang_magnetisation(t: f64) -> f64 {
    (1.0 - (2.0 / t).sinh().powi(-4)).powf(0.125)
}

/// Boltzmann probabilities of every state of a small 2D torus with field,
/// computed directly from the Hamiltonian (state bit `i` set = spin -1 at
/// row-major site `i`).
pub fn boltzmann(lx: usize, ly: usize, j: f64, h: f64, t: f64) -> Vec<f64> {
    let n = lx * ly;
    let mut w: Vec<f64> = (0u32..(1 << n))
        .map(|state| {
            let s = |x: usize, y: usize| {
                if state >> ((x % lx) + lx * (y % ly)) & 1 == 1 {
                    -1.0
                } else {
                    1.0
                }
            };
            let mut energy = 0.0;
            for y in 0..ly {
                for x in 0..lx {
                    energy -= j * s(x, y) * (s(x + 1, y) + s(x, y + 1)) + h * s(x, y);
                }
            }
            (-energy / t).exp()
        })
        .collect();
    let z: f64 = w.iter().sum();
    w.iter_mut().for_each(|p| *p /= z);
    w
}
