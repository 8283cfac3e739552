#!/usr/bin/env python3
"""Export a PyTorch neural field to a fieldkern safetensors file (schema
version 1, documented in src/nf/load.rs), loadable from C with
`fk_nf_model_load(path, 0, &model)`.

Not run by the test suite: PyTorch is not installed on the CI machines (a CPU
wheel is ~200 MB; the committed fixture tests/data/nf_fixture.safetensors is
written by make_nf_fixture.py with the standard library instead). Usage:

    python3 examples/python/export_torch.py out.safetensors   # exports a demo model

    from export_torch import FieldSpec, export
    export(my_sequential, "field.safetensors", in_dim=3,
           encoding={"type": "fourier", "n_frequencies": 48}, fourier_b=B)

What it accepts: an `nn.Sequential` of `nn.Linear` layers, each optionally
followed by one activation module (ReLU, LeakyReLU, SiLU, GELU(approximate=
"tanh"), Tanh, Sigmoid, Softplus(beta=1, threshold=20), or `Sine(omega_0)`
below); the encoding (identity, Fourier matrix B with gamma(x) =
[sin(2 pi B x), cos(2 pi B x)], or NeRF positional encoding
[x, sin(2^k pi x), cos(2^k pi x), ...]) is described separately because it
has no weights to train (B is stored as a tensor). A skip connection
(`skip_layer = k`: layer k sees [gamma(x), h_{k-1}], encoding first) must be
implemented that way in your module's forward().

Hash-grid encodings (type "hash_grid", `hash_table=` [L, 2^log2_table, F]),
latent codes (`latent_dim=`, `latent_concat=`) and FiLM maps (`film=[(layer,
nn.Linear(K, 2 out))]`, gamma rows first) are keyword arguments of export();
examples/python/make_torch_fixtures.py uses all of them.

JAX / Flax: the same file can be written from a Flax `nn.Dense` stack:
Flax stores kernels as [in, out], so write `kernel.T` as `layers.{l}.weight`
and `bias` as `layers.{l}.bias` with the same metadata (use
`safetensors.flax.save_file(tensors, path, metadata=...)`).
"""

import json
import struct
import sys

import torch
from torch import nn


class Sine(nn.Module):
    """SIREN activation sin(omega_0 z) (Sitzmann et al. 2020)."""

    def __init__(self, omega_0=30.0):
        super().__init__()
        self.omega_0 = omega_0

    def forward(self, z):
        return torch.sin(self.omega_0 * z)


def activation_entry(module):
    """(name, param) of a torch activation module, in fieldkern's names."""
    if module is None:
        return "identity", None
    if isinstance(module, nn.ReLU):
        return "relu", None
    if isinstance(module, nn.LeakyReLU):
        return "leaky_relu", float(module.negative_slope)
    if isinstance(module, nn.SiLU):
        return "silu", None
    if isinstance(module, nn.GELU):
        if module.approximate != "tanh":
            raise ValueError("fieldkern implements GELU(approximate='tanh') only")
        return "gelu_tanh", None
    if isinstance(module, nn.Tanh):
        return "tanh", None
    if isinstance(module, nn.Sigmoid):
        return "sigmoid", None
    if isinstance(module, nn.Softplus):
        if module.beta != 1 or module.threshold != 20:
            raise ValueError("fieldkern implements Softplus(beta=1, threshold=20) only")
        return "softplus", None
    if isinstance(module, Sine):
        return "sine", float(module.omega_0)
    raise ValueError("unsupported activation module %r" % (module,))


def export(sequential, path, in_dim, encoding=None, fourier_b=None, skip_layer=0,
           hash_table=None, latent_dim=0, latent_concat=False, film=(), extra_tensors=None):
    """Writes `sequential` (+ encoding) to `path`.

    hash_table: the [L, 2^log2_table, F] table of a "hash_grid" encoding;
    latent_dim / latent_concat: a latent code of that width follows the
    in_dim coordinates of every input point (concatenated to gamma(x) when
    latent_concat); film: (layer, nn.Linear(latent_dim, 2 out_layer)) pairs,
    gamma rows first; extra_tensors: {name: tensor} stored as well (F32 or
    F64; the loader ignores names outside the schema).
    """
    encoding = encoding or {"type": "identity"}
    mods = list(sequential)
    layers, tensors, i = [], [], 0
    while i < len(mods):
        lin = mods[i]
        if not isinstance(lin, nn.Linear):
            raise ValueError("expected nn.Linear at position %d, got %r" % (i, lin))
        act = mods[i + 1] if i + 1 < len(mods) and not isinstance(mods[i + 1], nn.Linear) else None
        name, param = activation_entry(act)
        l = len(layers)
        entry = {"out_dim": lin.out_features, "activation": name, "bias": lin.bias is not None}
        if param is not None:
            entry["param"] = param
        layers.append(entry)
        tensors.append(("layers.%d.weight" % l, lin.weight))
        if lin.bias is not None:
            tensors.append(("layers.%d.bias" % l, lin.bias))
        i += 2 if act is not None else 1
    if encoding["type"] == "fourier":
        tensors.insert(0, ("encoding.B", torch.as_tensor(fourier_b)))
    if encoding["type"] == "hash_grid":
        tensors.insert(0, ("encoding.table", torch.as_tensor(hash_table)))
    arch = {"in_dim": in_dim, "encoding": encoding, "skip_layer": skip_layer, "layers": layers}
    if latent_dim:
        arch["latent_dim"] = latent_dim
        arch["latent_concat"] = bool(latent_concat)
    if film:
        arch["film"] = []
        for k, (layer, lin) in enumerate(film):
            arch["film"].append({"layer": layer})
            tensors.append(("film.%d.weight" % k, lin.weight))
            tensors.append(("film.%d.bias" % k, lin.bias))
    tensors.extend((extra_tensors or {}).items())
    meta = {"format": "fieldkern.nf", "schema_version": "1", "architecture": json.dumps(arch)}
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, t in tensors:
        t = torch.as_tensor(t).detach().cpu()
        if t.dtype == torch.float64:
            dtype, data = "F64", t.contiguous().numpy().astype("<f8").tobytes()
        else:
            dtype, data = "F32", t.to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    if len(sys.argv) < 2 or sys.argv[1] == "--quick":
        print(__doc__)
        return 0
    torch.manual_seed(0)
    B = torch.randn(48, 3) * 4.0
    net = nn.Sequential(
        nn.Linear(96, 64), nn.SiLU(),
        nn.Linear(64, 64), nn.SiLU(),
        nn.Linear(64, 64), nn.SiLU(),
        nn.Linear(64, 1),
    )
    export(net, sys.argv[1], in_dim=3, encoding={"type": "fourier", "n_frequencies": 48}, fourier_b=B)
    x = torch.rand(4, 3) * 2 - 1
    ph = 2 * torch.pi * x @ B.T
    print("wrote", sys.argv[1], "; reference outputs:", net(torch.cat([ph.sin(), ph.cos()], -1)).squeeze(-1).tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
