#!/usr/bin/env python3
"""PyTorch CPU baseline for benches/nf.rs (issue 5's goals: fieldkern >= 2x
PyTorch at batch >= 4096 and >= 20x at batch <= 64, same thread count).

Not run by CI (PyTorch is not installed there). Run it with a PyTorch venv,
on an otherwise idle machine, then the bench:

    /work/venv-torch/bin/python benches/torch_baseline.py            # eager
    /work/venv-torch/bin/python benches/torch_baseline.py --compile  # + torch.compile
    cargo bench --bench nf -- --warm-up-time 1 --measurement-time 2

It writes benches/results/torch_baseline.csv (columns call, variant,
threads, batch, points_per_s; '#' lines are comments), which benches/nf.rs
reads, if present, to print fieldkern/torch ratios next to its own table.

The model is benches/nf.rs's, weights included (the same 64-bit LCG):
x in R^3 -> gamma(x) = [sin(2 pi B x), cos(2 pi B x)] with B 48 x 3
(16 frequencies per axis, 96 features; 2 pi B rounded once to f32, as
src/nf/encode.rs does) -> Linear(96, 64) SiLU -> Linear(64, 64) SiLU ->
Linear(64, 64) SiLU -> Linear(64, 1); float32, eval mode. Forward runs
under torch.inference_mode(); forward + input gradient at batch 4096 uses
autograd (torch.autograd.grad of sum(y) w.r.t. x). Each figure is the best
of several timed repetitions after warm-up, torch.set_num_threads(t) for
t in 1, 2 (interop threads 1).
"""

import math
import os
import platform
import sys
import time

import torch
from torch import nn

BATCHES = [1, 64, 4096, 65536]
HERE = os.path.dirname(os.path.abspath(__file__))
CSV = os.path.join(HERE, "results", "torch_baseline.csv")
MASK = (1 << 64) - 1


def lcg_weights():
    """benches/nf.rs `weights()`: s = s * 6364136223846793005 +
    1442695040888963407 (mod 2^64), value ((s >> 40) / 2^24 * 2 - 1) * a in f32."""
    s = 0x12345678
    f32 = lambda v: float(torch.tensor(v, dtype=torch.float32))  # noqa: E731

    def r(a):
        nonlocal s
        s = (s * 6364136223846793005 + 1442695040888963407) & MASK
        return f32(f32(f32(f32((s >> 40) / float(1 << 24)) * 2.0) - 1.0) * a)

    b = torch.tensor([r(4.0) for _ in range(48 * 3)], dtype=torch.float32).reshape(48, 3)
    layers, prev = [], 96
    for width in (64, 64, 64, 1):
        bound = f32(1.0 / math.sqrt(prev))
        w = torch.tensor([r(bound) for _ in range(width * prev)], dtype=torch.float32)
        bias = torch.tensor([r(bound) for _ in range(width)], dtype=torch.float32)
        layers.append((w.reshape(width, prev), bias))
        prev = width
    return b, layers


class FourierField(nn.Module):
    def __init__(self):
        super().__init__()
        b, layers = lcg_weights()
        self.register_buffer("two_pi_b_t", (2 * math.pi * b.double()).float().T.contiguous())
        mods = []
        for i, (w, bias) in enumerate(layers):
            lin = nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(w)
                lin.bias.copy_(bias)
            mods.append(lin)
            if i < 3:
                mods.append(nn.SiLU())
        self.mlp = nn.Sequential(*mods)

    def forward(self, x):
        ph = x @ self.two_pi_b_t
        return self.mlp(torch.cat([ph.sin(), ph.cos()], -1))


def points(n):
    i = torch.arange(3 * n, dtype=torch.int64)
    return (((i * 7919) % 1000).to(torch.float32) / 500.0 - 1.0).reshape(n, 3)


def best_time(f, budget=0.4):
    """Best seconds per call: warm-up, then batches of calls (so tiny batches
    are not timer-bound), best batch mean over ~budget seconds (>= 5 batches)."""
    for _ in range(3):
        f()
    t = time.perf_counter()
    f()
    once = max(time.perf_counter() - t, 1e-7)
    inner = int(min(max(1e-3 / once, 1), 1000))
    reps = int(min(max(budget / (once * inner), 5), 2000))
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(inner):
            f()
        best = min(best, (time.perf_counter() - t) / inner)
    return best


def measure(model, variant, rows):
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for n in BATCHES:
            x = points(n)
            with torch.inference_mode():
                t = best_time(lambda: model(x))
            rows.append(("forward", variant, threads, n, n / t))
            print("%-18s %-8s %7d %8d %14.4e" % ("forward", variant, threads, n, n / t), flush=True)
        n = 4096
        x = points(n).requires_grad_(True)

        def fg():
            y = model(x)
            return torch.autograd.grad(y.sum(), x)[0]

        t = best_time(fg)
        rows.append(("forward+gradient", variant, threads, n, n / t))
        print("%-18s %-8s %7d %8d %14.4e" % ("forward+gradient", variant, threads, n, n / t), flush=True)


def main():
    torch.set_num_interop_threads(1)
    load_before = os.getloadavg()[0]
    model = FourierField().eval()
    with torch.inference_mode():
        y = model(points(4))
    print("torch %s, %s; reference outputs at the bench's first 4 points: %s"
          % (torch.__version__, platform.processor() or platform.machine(), y.flatten().tolist()))
    print("%-18s %-8s %7s %8s %14s" % ("call", "variant", "threads", "batch", "points/s"))
    rows = []
    measure(model, "eager", rows)
    if "--compile" in sys.argv[1:]:
        try:
            compiled = torch.compile(model)
            with torch.inference_mode():
                compiled(points(64))
            measure(compiled, "compile", rows)
        except Exception as e:  # no C compiler, unsupported backend, ...
            print("torch.compile failed, eager figures only: %s" % (str(e).splitlines() or [e])[0])
    os.makedirs(os.path.dirname(CSV), exist_ok=True)
    with open(CSV, "w") as f:
        f.write("# benches/torch_baseline.py: torch %s, %d CPUs, %s, 1-min load average %.1f before,"
                " %.1f after (well above 0: a shared machine, figures preliminary)\n"
                % (torch.__version__, os.cpu_count(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   load_before, os.getloadavg()[0]))
        f.write("# read by benches/nf.rs (fieldkern/torch ratios); best of several repetitions\n")
        f.write("call,variant,threads,batch,points_per_s\n")
        for r in rows:
            f.write("%s,%s,%d,%d,%.6e\n" % r)
    print("wrote", CSV)
    return 0


if __name__ == "__main__":
    sys.exit(main())
