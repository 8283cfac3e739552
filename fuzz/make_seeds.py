#!/usr/bin/env python3
"""Write the seed corpus of the nf_load fuzz targets (fuzz/seeds/nf_load/):
small valid fieldkern neural-field files (schema version 1, src/nf/load.rs)
covering every encoding, every activation, bias on/off, a skip layer,
latent concatenation and FiLM; plus a copy of tests/data/nf_fixture.safetensors.
Standard library only. tests/nf_load.rs checks that every seed loads.

    python3 fuzz/make_seeds.py
"""

import json
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "seeds" / "nf_load"


class Lcg:
    def __init__(self, seed):
        self.s = seed

    def sym(self, a):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) % 2**64
        return a * (2.0 * (self.s >> 11) / 2**53 - 1.0)


def write(name, arch, tensors):
    """tensors: list of (name, shape, values)."""
    header = {
        "__metadata__": {
            "format": "fieldkern.nf",
            "schema_version": "1",
            "architecture": json.dumps(arch, separators=(",", ":")),
        }
    }
    data = b""
    for tname, shape, values in tensors:
        start = len(data)
        data += struct.pack("<%df" % len(values), *values)
        header[tname] = {"dtype": "F32", "shape": shape, "data_offsets": [start, len(data)]}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    (OUT / name).write_bytes(struct.pack("<Q", len(text)) + text + data)


def mlp(rng, enc_dim, layers, skip=0, latent=0):
    """Weights for `layers` = [(out_dim, activation, param, bias)]."""
    arch_layers, tensors, prev = [], [], enc_dim
    for l, (out, act, param, bias) in enumerate(layers):
        inp = prev + (enc_dim if skip and l == skip else 0)
        entry = {"out_dim": out, "activation": act}
        if param is not None:
            entry["param"] = param
        if not bias:
            entry["bias"] = False
        arch_layers.append(entry)
        tensors.append((f"layers.{l}.weight", [out, inp], [rng.sym(0.8) for _ in range(out * inp)]))
        if bias:
            tensors.append((f"layers.{l}.bias", [out], [rng.sym(0.2) for _ in range(out)]))
        prev = out
    return arch_layers, tensors


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE.parent / "tests" / "data" / "nf_fixture.safetensors", OUT / "fixture.safetensors")
    rng = Lcg(2026)

    # Identity encoding, relu / leaky relu, no bias on the output layer.
    layers, t = mlp(rng, 3, [(6, "relu", None, True), (5, "leaky_relu", 0.05, True), (1, "identity", None, False)])
    write("identity.safetensors", {"in_dim": 3, "encoding": {"type": "identity"}, "layers": layers}, t)

    # Fourier features with a skip connection, SIREN-style sine layers.
    b = [rng.sym(2.0) for _ in range(4 * 2)]
    layers, t = mlp(rng, 8, [(6, "sine", 30.0, True), (6, "sine", None, True), (1, "identity", None, True)], skip=1)
    write("fourier_skip.safetensors",
          {"in_dim": 2, "encoding": {"type": "fourier", "n_frequencies": 4}, "skip_layer": 1, "layers": layers},
          [("encoding.B", [4, 2], b)] + t)

    # Positional encoding without the input, smooth activations, 2 outputs.
    layers, t = mlp(rng, 3 * 4, [(5, "gelu_tanh", None, True), (5, "tanh", None, True),
                                 (4, "sigmoid", None, True), (2, "softplus", None, True)])
    write("positional.safetensors",
          {"in_dim": 3, "encoding": {"type": "positional", "octaves": 2, "include_input": False},
           "skip_layer": 0, "layers": layers}, t)

    # Positional with the input and one octave, silu.
    layers, t = mlp(rng, 1 * 3, [(4, "silu", None, True), (1, "identity", None, True)])
    write("positional_1d.safetensors",
          {"in_dim": 1, "encoding": {"type": "positional", "octaves": 1}, "layers": layers}, t)

    # 3-D hash grid with a concatenated latent code and FiLM on layer 0.
    levels, feats, log2 = 2, 2, 4
    table = [rng.sym(0.1) for _ in range(levels * 2**log2 * feats)]
    latent = 2
    layers, t = mlp(rng, levels * feats + latent, [(4, "silu", None, True), (1, "identity", None, True)])
    film = [("film.0.weight", [8, latent], [rng.sym(0.3) for _ in range(8 * latent)]),
            ("film.0.bias", [8], [1.0] * 4 + [0.0] * 4)]
    write("hash_grid_film.safetensors",
          {"in_dim": 3, "encoding": {"type": "hash_grid", "levels": levels, "features": feats,
                                     "log2_table": log2, "base_resolution": 2, "growth": 1.5},
           "latent_dim": latent, "latent_concat": True, "film": [{"layer": 0}], "layers": layers},
          [("encoding.table", [levels, 2**log2, feats], table)] + t + film)

    # 2-D hash grid, FiLM only (latent not concatenated), leaky relu default slope.
    levels, feats, log2 = 3, 1, 4
    table = [rng.sym(0.1) for _ in range(levels * 2**log2 * feats)]
    layers, t = mlp(rng, levels * feats, [(3, "leaky_relu", None, True), (2, "identity", None, True)])
    film = [("film.0.weight", [4, 1], [rng.sym(0.3) for _ in range(4)]),
            ("film.0.bias", [4], [rng.sym(0.3) for _ in range(4)])]
    write("hash_grid_2d.safetensors",
          {"in_dim": 2, "encoding": {"type": "hash_grid", "levels": levels, "features": feats,
                                     "log2_table": log2, "base_resolution": 3, "growth": 2.0},
           "latent_dim": 1, "film": [{"layer": 1}], "layers": layers},
          [("encoding.table", [levels, 2**log2, feats], table)] + t + film)


if __name__ == "__main__":
    main()
