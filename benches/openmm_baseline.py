#!/usr/bin/env python3
"""OpenMM CPU-platform baseline for the WCA benchmark of benches/particles.rs.

Same workload as `baoab_wca_32768`: N = 32768 particles on a simple-cubic
lattice at number density 0.8 in a periodic cube, WCA repulsion (LJ with
sigma = epsilon = 1, cut at 2^(1/6) sigma; the WCA energy shift does not
change forces), unit masses, Langevin dynamics at kT = 1, gamma = 1,
dt = 0.005, with OpenMM's LangevinMiddleIntegrator (a BAOAB-type splitting).

Units: OpenMM uses nm, ps, kJ/mol and amu; with sigma = 1 nm, epsilon =
1 kJ/mol and m = 1 amu the reduced time unit is exactly 1 ps, so the
reduced numbers carry over unchanged (kT = 1 kJ/mol <-> T = 120.27 K).

Not run by CI (OpenMM is not a build dependency). Run with any Python that
has the `openmm` wheel from PyPI (pip install openmm):

    python3 benches/openmm_baseline.py            # 1 and 2 threads
    python3 benches/openmm_baseline.py --steps 200

It prints particle-steps/s per thread count and writes
benches/results/openmm_baseline.csv, which `cargo bench --bench particles`
reads (if present) to print fieldkern / OpenMM per core.
"""

import argparse
import csv
import os
import time

import openmm as mm
from openmm import unit

KB_KJ_PER_MOL_K = 0.00831446261815324


def build(m=32):
    n = m**3
    box = (n / 0.8) ** (1.0 / 3.0)
    a = box / m
    system = mm.System()
    system.setDefaultPeriodicBoxVectors(
        mm.Vec3(box, 0, 0), mm.Vec3(0, box, 0), mm.Vec3(0, 0, box)
    )
    nb = mm.NonbondedForce()
    nb.setNonbondedMethod(mm.NonbondedForce.CutoffPeriodic)
    nb.setCutoffDistance(2.0 ** (1.0 / 6.0))
    nb.setUseDispersionCorrection(False)
    nb.setUseSwitchingFunction(False)
    nb.setReactionFieldDielectric(1.0)
    positions = []
    for k in range(n):
        system.addParticle(1.0)
        nb.addParticle(0.0, 1.0, 1.0)
        positions.append(
            mm.Vec3(a * (k % m + 0.5), a * ((k // m) % m + 0.5), a * (k // (m * m) + 0.5))
        )
    system.addForce(nb)
    return system, positions, n


def run(threads, steps, warmup):
    system, positions, n = build()
    integrator = mm.LangevinMiddleIntegrator(
        1.0 / KB_KJ_PER_MOL_K * unit.kelvin, 1.0 / unit.picosecond, 0.005 * unit.picosecond
    )
    integrator.setRandomNumberSeed(1)
    platform = mm.Platform.getPlatformByName("CPU")
    context = mm.Context(system, integrator, platform, {"Threads": str(threads)})
    context.setPositions(positions)
    context.setVelocitiesToTemperature(1.0 / KB_KJ_PER_MOL_K * unit.kelvin, 1)
    integrator.step(warmup)
    best = 0.0
    for _ in range(3):
        context.getState()  # synchronise
        t0 = time.perf_counter()
        integrator.step(steps)
        context.getState(getEnergy=True)
        dt = time.perf_counter() - t0
        best = max(best, n * steps / dt)
    return n, best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=200)
    args = ap.parse_args()
    rows = []
    print(f"OpenMM {mm.__version__} CPU platform, WCA N=32768 rho=0.8, LangevinMiddle dt=0.005")
    for threads in (1, 2):
        n, rate = run(threads, args.steps, args.warmup)
        print(f"  {threads} thread(s): {rate:.3e} particle-steps/s")
        rows.append({"workload": "wca_32768_langevin", "threads": threads, "particle_steps_per_s": f"{rate:.6e}"})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "openmm_baseline.csv")
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["workload", "threads", "particle_steps_per_s"])
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
