//! Input derivatives of a neural field by reverse accumulation on a tile:
//! `d_L = e_o a'(z_L)`, `g_{l} = W_l^T d_l`, `d_{l-1} = g_l[h part] * a'(z_{l-1})`,
//! the encoded-input parts of `g` (layer 0 and the skip layer) summed into
//! `dL/d gamma`, then the chain rule through the encoding gives `dL/dx`.
//! The forward pass of the same tile stored every `a'(z_l)`, so one backward
//! pass costs about one forward pass of the dense layers (the transposed
//! weights are packed at create). The Jacobian of an `m`-output field is `m`
//! backward passes sharing one forward pass.

use super::mlp::ZERO_ROW;
use super::model::{Network, Workspace};

impl Network {
    /// Reverse pass of the tile last evaluated by `forward_tile(.., true)` for
    /// output `o`: leaves `d f_o / d x` in `ws.grad[plan.gx..]`.
    pub(crate) fn backward_tile(&self, ws: &mut Workspace, nv: usize, o: usize) {
        let p = &self.plan;
        let w = p.width;
        let (bufs, rest) = ws.grad.split_at_mut(p.g_enc);
        let (g_enc, rest) = rest.split_at_mut(self.enc_dim);
        let (gx, rest) = rest.split_at_mut(self.in_dim);
        let (g_film, rest) = rest.split_at_mut(2 * w);
        let (g_latent, g_latent_tmp) = rest.split_at_mut(self.latent_dim);
        let (cur, next) = bufs.split_at_mut(w);
        for r in g_enc.iter_mut().chain(g_latent.iter_mut()) {
            *r = ZERO_ROW;
        }
        // d_L = e_o * a'(z_L).
        let last = self.layers.len() - 1;
        for (r, row) in cur[..self.out_dim].iter_mut().enumerate() {
            *row = if r == o {
                ws.deriv[p.deriv[last] + o]
            } else {
                ZERO_ROW
            };
        }
        for (l, layer) in self.layers.iter().enumerate().rev() {
            // `cur` holds dL/dz' for this layer (z' = z, or gamma z + beta).
            if let Some(fl) = &self.film[l] {
                let n = layer.out_dim;
                let film = &ws.film[p.film[l]..p.film[l] + 3 * n];
                let (gamma, zpre) = (&film[..n], &film[2 * n..3 * n]);
                for r in 0..n {
                    for v in 0..nv {
                        // dL/dgamma = d z, dL/dbeta = d, dL/dz = d gamma.
                        g_film[r][v] = cur[r][v] * zpre[r][v];
                        g_film[n + r][v] = cur[r][v];
                        cur[r][v] *= gamma[r][v];
                    }
                }
                fl.backward_tile(nv, &g_film[..2 * n], &mut g_latent_tmp[..self.latent_dim]);
                for (g, t) in g_latent.iter_mut().zip(g_latent_tmp.iter()) {
                    for v in 0..nv {
                        g[v] += t[v];
                    }
                }
            }
            layer.backward_tile(nv, &cur[..layer.out_dim], &mut next[..layer.in_dim]);
            let skip = if self.skip_layer == Some(l) || l == 0 {
                self.enc_dim
            } else {
                0
            };
            for (g, s) in g_enc.iter_mut().zip(&next[..skip]) {
                for v in 0..nv {
                    g[v] += s[v];
                }
            }
            if l > 0 {
                // d_{l-1} = (dL/dh_{l-1}) * a'(z'_{l-1}).
                let prev = &self.layers[l - 1];
                let deriv = &ws.deriv[p.deriv[l - 1]..p.deriv[l - 1] + prev.out_dim];
                for ((c, g), da) in cur[..prev.out_dim]
                    .iter_mut()
                    .zip(&next[skip..skip + prev.out_dim])
                    .zip(deriv)
                {
                    for v in 0..nv {
                        c[v] = g[v] * da[v];
                    }
                }
            }
        }
        let (cd, gd) = (self.coord_dim, self.gamma_dim);
        let x = &ws.act[p.x..p.x + cd];
        let enc = &ws.act[p.layer_in[0]..p.layer_in[0] + gd];
        self.encoding
            .backward_tile(nv, cd, x, enc, &g_enc[..gd], &mut gx[..cd]);
        // Latent inputs: through the concatenation and the FiLM maps.
        for (k, row) in gx[cd..].iter_mut().enumerate() {
            for v in 0..nv {
                let concat = if self.latent_concat {
                    g_enc[gd + k][v]
                } else {
                    crate::simd::f32x16::ZERO
                };
                row[v] = concat + g_latent[k][v];
            }
        }
    }
}
