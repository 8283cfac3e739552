#!/usr/bin/env python3
"""PyTorch reference fixtures for the neural-field kernel (issue 5):
small models built and evaluated in PyTorch, exported with export_torch.py,
checked by tests/nf_torch_fixtures.rs. Needs PyTorch (not on CI: the files
are committed, the test suite only reads them). Regenerate with

    /work/venv-torch/bin/python examples/python/make_torch_fixtures.py [outdir]

(outdir defaults to tests/data/torch; `--quick`, as tests/foreign.rs passes
to every example, only prints a note and exits 0). Deterministic: torch.manual_seed per
fixture, float32 models, CPU.

Layout: one file tests/data/torch/<name>.safetensors per model, an ordinary
fieldkern model file (schema version 1, src/nf/load.rs; the loader ignores
the extra tensors) plus, for the n test points of width D = in_dim +
latent_dim (coordinates first, then the latent code) and M outputs:

  fixture.input          F32 [n, D]      the points (random + edge cases)
  fixture.output         F32 [n, M]      torch float32 forward
  fixture.output_f64     F64 [n, M]      the same weights evaluated in float64
  fixture.output_scale   F64 [n, M]      |b_o| + sum_i |W_oi h_i| (x gamma,
                                         + |beta| with FiLM) of the last
                                         layer, float64: the size of the
                                         terms whose f32 rounding limits the
                                         output's accuracy
  fixture.jacobian       F32 [n, M, D]   torch float32 autograd d out_o / d x_d
                                         (for M = 1 this is the input gradient)
  fixture.jacobian_fd    F64 [n, M, D]   fourth-order central differences
                                         (f(x-2h), f(x-h), f(x+h), f(x+2h)) of
                                         the float64 model, h = 1e-5:
                                         truncation h^4 f^(5) / 30 < 1e-14
                                         even for 2^3 pi octaves, rounding
                                         ~1e-16 |f| / h ~ 1e-11
  fixture.fd_mask        F32 [n]         1 where the finite difference is a
                                         derivative: no ReLU kink (|z| < 1e-3)
                                         and no hash-grid cell face or clamp
                                         boundary (within 1e-4) inside the 2h stencil
  fixture.autograd_mask  F32 [n]         1 except at points exactly on the
                                         hash grid's clamp boundary x_k in
                                         {0, 1}, where the one-sided
                                         conventions differ (torch's clamp
                                         passes the gradient, fieldkern's
                                         documented convention is 0)

The torch modules are written from the formulas in src/nf/*.rs docs:
Fourier gamma = [sin(2 pi B x), cos(2 pi B x)] with 2 pi B rounded once to
f32; NeRF positional [x, sin(2^k pi x), cos(2^k pi x)] per octave (blocks of
in_dim rows, frequency 2^k pi rounded once to f32); the Instant-NGP hash
grid of src/nf/hashgrid.rs (levels N_l = floor(N_min b^l), direct indexing
when (N_l + 1)^d <= T, else (c0 * 1 ^ c1 * 2654435761 ^ c2 * 805459861) mod T,
clamp to [0,1]^d, multilinear weights); skip layer k sees [gamma, h_{k-1}];
latent concat gives gamma' = [gamma(x), z]; FiLM z_l' = g (W h + b) + beta
before layer l's activation, [g; beta] = F z + f.
"""

import math
import os
import sys

if __name__ == "__main__" and "--quick" in sys.argv[1:]:
    # tests/foreign.rs runs every example with --quick; this one needs
    # PyTorch, which CI does not have, and its output is committed.
    print("make_torch_fixtures.py: needs PyTorch; fixtures are committed in tests/data/torch")
    sys.exit(0)

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torch import Sine, export  # noqa: E402

N_POINTS = 48
PRIMES = (1, 2654435761, 805459861)


class HashGrid(nn.Module):
    """Instant-NGP multiresolution hash grid, as src/nf/hashgrid.rs."""

    def __init__(self, dims, levels, features, log2_table, base, growth):
        super().__init__()
        self.dims, self.levels, self.features = dims, levels, features
        self.t = 1 << log2_table
        g32 = float(torch.tensor(growth, dtype=torch.float32))
        self.res = [int(math.floor(base * g32 ** l)) for l in range(levels)]
        self.dense = [(r + 1) ** dims <= self.t for r in self.res]
        self.table = nn.Parameter(torch.rand(levels, self.t, features) * 2e-1 - 1e-1)
        self.meta = {"type": "hash_grid", "levels": levels, "features": features,
                     "log2_table": log2_table, "base_resolution": base, "growth": growth}

    def index(self, l, c):
        if self.dense[l]:
            i = torch.zeros_like(c[..., 0])
            for k in reversed(range(self.dims)):
                i = i * (self.res[l] + 1) + c[..., k]
            return i
        h = torch.zeros_like(c[..., 0])
        for k in range(self.dims):
            h = h ^ ((c[..., k] * PRIMES[k]) & 0xFFFFFFFF)
        return h & (self.t - 1)

    def forward(self, x):
        table = self.table.to(x.dtype)
        xc = x.clamp(0.0, 1.0)
        outs = []
        for l in range(self.levels):
            n = float(self.res[l])
            p = xc * torch.tensor(n, dtype=x.dtype)
            cell = torch.where(p >= n, torch.full_like(p, n - 1.0), torch.floor(p)).detach()
            frac = p - cell
            ci = cell.to(torch.int64)
            acc = 0
            for corner in range(1 << self.dims):
                bits = [(corner >> k) & 1 for k in range(self.dims)]
                w = 1
                for k, b in enumerate(bits):
                    w = w * (frac[:, k] if b else 1 - frac[:, k])
                c = ci + torch.tensor(bits, dtype=torch.int64)
                acc = acc + w[:, None] * table[l][self.index(l, c)]
            outs.append(acc)
        return torch.cat(outs, -1)

    def kink_distance(self, x):
        """Per point: distance (in x units) to the nearest cell face or clamp
        boundary over all levels and axes."""
        d = torch.minimum(x.abs(), (x - 1).abs()).min(-1).values
        for n in self.res:
            p = x.clamp(0, 1) * n
            d = torch.minimum(d, ((p - p.round()).abs() / n).min(-1).values)
        return d


class Field(nn.Module):
    def __init__(self, in_dim, encoding, widths, acts, out_dim, skip=0, latent=0,
                 concat=False, film_layers=(), siren=None):
        super().__init__()
        self.in_dim, self.enc_kind, self.skip, self.latent, self.concat = in_dim, encoding[0], skip, latent, concat
        if self.enc_kind == "identity":
            enc_dim, self.enc_meta = in_dim, {"type": "identity"}
        elif self.enc_kind == "fourier":
            m, sigma = encoding[1], encoding[2]
            self.B = torch.randn(m, in_dim) * sigma
            self.two_pi_b = (2 * math.pi * self.B.double()).float()
            enc_dim, self.enc_meta = 2 * m, {"type": "fourier", "n_frequencies": m}
        elif self.enc_kind == "positional":
            self.octaves, self.include_input = encoding[1], encoding[2]
            enc_dim = in_dim * (2 * self.octaves + int(self.include_input))
            self.enc_meta = {"type": "positional", "octaves": self.octaves,
                             "include_input": self.include_input}
        else:
            self.grid = HashGrid(in_dim, *encoding[1:])
            enc_dim, self.enc_meta = self.grid.levels * self.grid.features, self.grid.meta
        enc_dim += latent if concat else 0
        mods, prev = [], enc_dim
        all_widths = list(widths) + [out_dim]
        for l, w in enumerate(all_widths):
            fan_in = prev + (enc_dim if l == skip and skip else 0)
            lin = nn.Linear(fan_in, w)
            if siren is not None:  # Sitzmann et al. init
                bound = 1 / fan_in if l == 0 else math.sqrt(6 / fan_in) / siren[1]
                nn.init.uniform_(lin.weight, -bound, bound)
            mods.append(lin)
            if l < len(widths):
                mods.append(acts[l])
            prev = w
        self.net = nn.Sequential(*mods)
        self.film = [(l, nn.Linear(latent, 2 * all_widths[l])) for l in film_layers]
        for l, f in self.film:
            with torch.no_grad():
                f.weight.uniform_(-0.3, 0.3)
                f.bias[: all_widths[l]].uniform_(0.8, 1.2)
                f.bias[all_widths[l]:].uniform_(-0.2, 0.2)
        self.film_mods = nn.ModuleList([f for _, f in self.film])

    def encode(self, x):
        if self.enc_kind == "identity":
            return x
        if self.enc_kind == "fourier":
            ph = x @ self.two_pi_b.to(x.dtype).T
            return torch.cat([ph.sin(), ph.cos()], -1)
        if self.enc_kind == "positional":
            parts = [x] if self.include_input else []
            for k in range(self.octaves):
                f = torch.tensor(float(torch.tensor(math.pi * 2 ** k, dtype=torch.float32)), dtype=x.dtype)
                parts += [(x * f).sin(), (x * f).cos()]
            return torch.cat(parts, -1)
        return self.grid(x)

    def layers(self):
        mods, out = list(self.net), []
        i = 0
        while i < len(mods):
            act = mods[i + 1] if i + 1 < len(mods) and not isinstance(mods[i + 1], nn.Linear) else None
            out.append((mods[i], act))
            i += 2 if act is not None else 1
        return out

    def forward(self, xz, want_scale=False, kinks=None):
        x, z = xz[:, : self.in_dim], xz[:, self.in_dim:]
        enc = self.encode(x)
        if self.concat:
            enc = torch.cat([enc, z], -1)
        h, scale = enc, None
        films = dict(self.film)
        for l, (lin, act) in enumerate(self.layers()):
            inp = torch.cat([enc, h], -1) if (self.skip and l == self.skip) else h
            w, b = lin.weight.to(xz.dtype), lin.bias.to(xz.dtype)
            pre = nn.functional.linear(inp, w, b)
            s = (inp[:, None, :] * w[None]).abs().sum(-1) + b.abs()
            if l in films:
                gb = z @ films[l].weight.to(xz.dtype).T + films[l].bias.to(xz.dtype)
                g, beta = gb[:, : lin.out_features], gb[:, lin.out_features:]
                pre = g * pre + beta
                s = g.abs() * s + beta.abs()
            if kinks is not None and isinstance(act, (nn.ReLU, nn.LeakyReLU)):
                kinks.append(pre.abs().min(-1).values)
            h = act(pre) if act is not None else pre
            scale = s
        return (h, scale) if want_scale else h

    def export(self, path, extra):
        b = self.B if self.enc_kind == "fourier" else None
        table = self.grid.table if self.enc_kind == "hash_grid" else None
        export(self.net, path, self.in_dim, encoding=self.enc_meta, fourier_b=b,
               skip_layer=self.skip, hash_table=table, latent_dim=self.latent,
               latent_concat=self.concat, film=self.film, extra_tensors=extra)


def points(field, n, gen):
    """Random points plus edge cases for the encoding."""
    d, k = field.in_dim, field.latent
    if field.enc_kind == "hash_grid":
        x = torch.rand(n, d, generator=gen)
        edge = torch.tensor([[0.0] * d, [1.0] * d, [0.5] * d, [0.25] * d,
                             [-0.2] + [0.3] * (d - 1), [1.3] + [0.6] * (d - 1),
                             [1.0 / 3.0] * d, [0.999999] * d])
        # a vertex of the finest level, and points just inside cell faces
        r = field.grid.res[-1]
        edge = torch.cat([edge, torch.full((1, d), 3.0 / r), torch.full((1, d), 3.0 / r + 1e-3)])
    else:
        x = torch.rand(n, d, generator=gen) * 2 - 1
        edge = torch.tensor([[0.0] * d, [1.0] * d, [-1.0] * d, [2.0] + [-1.5] * (d - 1),
                             [1e-4] * d, [-3.0] * d])
    x[: len(edge)] = edge
    if k:
        x = torch.cat([x, torch.rand(n, k, generator=gen) * 2 - 1], -1)
    return x


def make(name, field, outdir, gen):
    x = points(field, N_POINTS, gen)
    n, D = x.shape
    with torch.no_grad():
        y = field(x)
        kinks = []
        y64, scale = field(x.double(), want_scale=True, kinks=kinks)
    M = y.shape[1]
    xg = x.clone().requires_grad_(True)
    yg = field(xg)
    jac = torch.zeros(n, M, D)
    for o in range(M):
        (g,) = torch.autograd.grad(yg[:, o].sum(), xg, retain_graph=True)
        jac[:, o, :] = g
    h = 1e-5
    fd = torch.zeros(n, M, D, dtype=torch.float64)
    x64 = x.double()
    with torch.no_grad():
        for d in range(D):
            e = torch.zeros(D, dtype=torch.float64)
            e[d] = h
            fd[:, :, d] = (8 * (field(x64 + e) - field(x64 - e))
                           - (field(x64 + 2 * e) - field(x64 - 2 * e))) / (12 * h)
    fd_mask = torch.ones(n)
    auto_mask = torch.ones(n)
    for z in kinks:
        fd_mask[z < 1e-3] = 0
    if field.enc_kind == "hash_grid":
        xc = x[:, : field.in_dim].double()
        fd_mask[field.grid.kink_distance(xc) < 1e-4] = 0
        on_edge = ((xc == 0) | (xc == 1)).any(-1)
        auto_mask[on_edge] = 0
    path = os.path.join(outdir, name + ".safetensors")
    field.export(path, {
        "fixture.input": x, "fixture.output": y, "fixture.output_f64": y64,
        "fixture.output_scale": scale, "fixture.jacobian": jac, "fixture.jacobian_fd": fd,
        "fixture.fd_mask": fd_mask, "fixture.autograd_mask": auto_mask,
    })
    rel = ((y.double() - y64).abs() / torch.maximum(y64.abs(), scale)).max().item()
    print("%-24s %6d bytes  D=%d M=%d  torch f32 vs f64 output: %.2e  fd points %d/%d"
          % (name, os.path.getsize(path), D, M, rel, int(fd_mask.sum()), n))


def fixtures():
    """(name, constructor) pairs; each constructor runs after its own seed."""
    H = [20, 20]
    return [
        ("identity_relu", lambda: Field(3, ("identity",), H, [nn.ReLU(), nn.ReLU()], 1)),
        ("identity_leaky_relu", lambda: Field(3, ("identity",), H, [nn.LeakyReLU(0.1), nn.LeakyReLU(0.1)], 1)),
        ("identity_silu", lambda: Field(3, ("identity",), H, [nn.SiLU(), nn.SiLU()], 1)),
        ("identity_gelu_tanh", lambda: Field(3, ("identity",), H, [nn.GELU(approximate="tanh")] * 2, 1)),
        ("identity_tanh", lambda: Field(3, ("identity",), H, [nn.Tanh(), nn.Tanh()], 1)),
        ("identity_sigmoid", lambda: Field(3, ("identity",), H, [nn.Sigmoid(), nn.Sigmoid()], 1)),
        ("identity_softplus_threshold", softplus_field),
        ("siren", lambda: Field(3, ("identity",), [24, 24], [Sine(30.0), Sine(20.0)], 1, siren=(30.0, 20.0))),
        ("fourier_silu", lambda: Field(3, ("fourier", 12, 1.0), H, [nn.SiLU(), nn.SiLU()], 1)),
        ("fourier_skip_softplus", lambda: Field(3, ("fourier", 8, 1.0), [16, 16, 16], [nn.Softplus()] * 3, 1, skip=2)),
        ("positional_gelu_skip", lambda: Field(3, ("positional", 3, True), [16, 16], [nn.GELU(approximate="tanh")] * 2, 1, skip=1)),
        ("positional_noinput_tanh", lambda: Field(2, ("positional", 4, False), H, [nn.Tanh(), nn.Tanh()], 1)),
        ("hashgrid3d_relu", lambda: Field(3, ("hash_grid", 4, 2, 8, 3, 1.5), [16], [nn.ReLU()], 1)),
        ("hashgrid2d_silu_vec", lambda: Field(2, ("hash_grid", 3, 2, 6, 4, 2.0), [16], [nn.SiLU()], 3)),
        ("latent_concat_skip_tanh", lambda: Field(3, ("positional", 2, True), [16, 16], [nn.Tanh()] * 2, 1, skip=1, latent=4, concat=True)),
        ("latent_film_siren", lambda: Field(3, ("identity",), [20, 20], [Sine(30.0), Sine(30.0)], 1, latent=3, film_layers=(0, 1), siren=(30.0, 30.0))),
        ("latent_concat_film_gelu_vec", lambda: Field(3, ("fourier", 6, 1.0), [16, 16], [nn.GELU(approximate="tanh")] * 2, 3, latent=2, concat=True, film_layers=(1,))),
        ("einstein_r4_sym10", lambda: Field(4, ("fourier", 8, 0.5), [24, 24], [nn.Tanh(), nn.SiLU()], 10)),
    ]


def softplus_field():
    """Softplus with first-layer weights large enough that pre-activations
    cross PyTorch's threshold 20 (where softplus(z) = z) at the edge points."""
    f = Field(3, ("identity",), [20, 20], [nn.Softplus(), nn.Softplus()], 1)
    with torch.no_grad():
        f.net[0].weight.mul_(12.0)
    return f


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "torch")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    for i, (name, ctor) in enumerate(fixtures()):
        torch.manual_seed(1000 + i)
        field = ctor()
        gen = torch.Generator().manual_seed(2000 + i)
        make(name, field, outdir, gen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
