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
        let (g_enc, gx) = rest.split_at_mut(self.enc_dim);
        let (cur, next) = bufs.split_at_mut(w);
        for r in g_enc.iter_mut() {
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
                // d_{l-1} = (dL/dh_{l-1}) * a'(z_{l-1}).
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
        let x = &ws.act[p.x..p.x + self.in_dim];
        let enc = &ws.act[p.layer_in[0]..p.layer_in[0] + self.enc_dim];
        self.encoding
            .backward_tile(nv, self.in_dim, x, enc, g_enc, &mut gx[..self.in_dim]);
    }
}
