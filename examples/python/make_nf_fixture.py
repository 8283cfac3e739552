#!/usr/bin/env python3
"""Write tests/data/nf_fixture.safetensors: a small fieldkern neural field
(schema version 1, see src/nf/load.rs) plus evaluation points and the outputs
of a float64 reference evaluated here, with the Python standard library only
(struct + json + math), so CI needs neither PyTorch nor numpy.

    python3 examples/python/make_nf_fixture.py            # (re)write the fixture
    python3 examples/python/make_nf_fixture.py --quick    # check it is up to date

Model: R^3 -> Fourier features (B: 5 x 3) -> 16 SiLU -> 12 tanh
-> [gamma(x), h] (skip at layer 2) -> 2 outputs, no bias in the last layer.
"""

import json
import math
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "tests" / "data" / "nf_fixture.safetensors"


class Lcg:
    """64-bit LCG (Knuth MMIX constants): deterministic test weights."""

    def __init__(self, seed):
        self.s = seed

    def sym(self, a):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) % 2**64
        u = (self.s >> 11) / 2.0**53
        # round to float32 so file and reference hold the same numbers
        return struct.unpack("<f", struct.pack("<f", (2.0 * u - 1.0) * a))[0]


def silu(z):
    return z / (1.0 + math.exp(-z))


ACTS = {"silu": silu, "tanh": math.tanh, "identity": lambda z: z}


def build():
    rng = Lcg(2024)
    d, m = 3, 5
    B = [[rng.sym(1.0) for _ in range(d)] for _ in range(m)]
    enc_dim = 2 * m
    arch_layers = [
        {"out_dim": 16, "activation": "silu"},
        {"out_dim": 12, "activation": "tanh"},
        {"out_dim": 2, "activation": "identity", "bias": False},
    ]
    skip = 2
    layers, prev = [], enc_dim
    for l, spec in enumerate(arch_layers):
        fan_in = prev + (enc_dim if l == skip else 0)
        bound = 1.0 / math.sqrt(fan_in)
        W = [[rng.sym(bound) for _ in range(fan_in)] for _ in range(spec["out_dim"])]
        b = [rng.sym(bound) for _ in range(spec["out_dim"])] if spec.get("bias", True) else None
        layers.append((spec, W, b))
        prev = spec["out_dim"]

    def forward(x):
        ph = [2.0 * math.pi * sum(B[j][k] * x[k] for k in range(d)) for j in range(m)]
        enc = [math.sin(p) for p in ph] + [math.cos(p) for p in ph]
        h = enc
        for l, (spec, W, b) in enumerate(layers):
            inp = enc + h if l == skip else h
            z = [sum(w * v for w, v in zip(row, inp)) + (b[o] if b else 0.0) for o, row in enumerate(W)]
            h = [ACTS[spec["activation"]](v) for v in z]
        return h

    xs = [[rng.sym(1.0) for _ in range(d)] for _ in range(7)]
    ys = [forward(x) for x in xs]
    arch = {
        "in_dim": d,
        "encoding": {"type": "fourier", "n_frequencies": m},
        "skip_layer": skip,
        "layers": arch_layers,
    }
    tensors = [("encoding.B", "F32", [m, d], [v for row in B for v in row])]
    for l, (spec, W, b) in enumerate(layers):
        tensors.append((f"layers.{l}.weight", "F32", [len(W), len(W[0])], [v for row in W for v in row]))
        if b is not None:
            tensors.append((f"layers.{l}.bias", "F32", [len(b)], b))
    tensors.append(("fixture.x", "F64", [len(xs), d], [v for x in xs for v in x]))
    tensors.append(("fixture.y", "F64", [len(ys), 2], [v for y in ys for v in y]))
    return safetensors_bytes(
        {"format": "fieldkern.nf", "schema_version": "1", "architecture": json.dumps(arch)},
        tensors,
    )


def safetensors_bytes(metadata, tensors):
    """Serialise (name, dtype, shape, flat values) as a safetensors file."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, dtype, shape, values in tensors:
        blob = struct.pack("<%d%s" % (len(values), {"F32": "f", "F64": "d"}[dtype]), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # align the data section to 8 bytes
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def main():
    data = build()
    if "--quick" in sys.argv:
        ok = OUT.exists() and OUT.read_bytes() == data
        print("nf fixture up to date" if ok else "FAIL: %s is stale; rerun this script" % OUT)
        return 0 if ok else 1
    OUT.write_bytes(data)
    print("wrote %s (%d bytes)" % (OUT, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
