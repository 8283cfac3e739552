#!/usr/bin/env python3
"""Turn the CSV files of the particle examples into PNG plots.

    ./charged_particles && ./mips_abp && ./kuramoto_sweep && ./pedestrian_crowd   # the CSVs
    python3 examples/plot_particles.py [folder with the CSVs]

Needs matplotlib (not a dependency of the library or its tests).
"""

import csv
import sys
from pathlib import Path


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; install it to make the plots")
        return 0
    made = []
    p = folder / "charged_particles.csv"
    if p.exists():
        r = rows(p)
        t = [float(x["t"]) for x in r]
        plt.figure()
        plt.plot(t, [float(x["dx_plus"]) for x in r], label="q = +1")
        plt.plot(t, [float(x["dx_minus"]) for x in r], label="q = -1")
        plt.xlabel("t")
        plt.ylabel("mean x displacement")
        plt.legend()
        plt.savefig(folder / "charged_particles.png", dpi=120)
        made.append("charged_particles.png")
    p = folder / "mips_snapshots.csv"
    if p.exists():
        r = rows(p)
        last = max(int(x["step"]) for x in r)
        pts = [(float(x["x"]), float(x["y"])) for x in r if int(x["step"]) == last]
        plt.figure(figsize=(6, 6))
        plt.scatter([a for a, _ in pts], [b for _, b in pts], s=2)
        plt.gca().set_aspect("equal")
        plt.title(f"ABPs at step {last}")
        plt.savefig(folder / "mips_snapshot.png", dpi=120)
        made.append("mips_snapshot.png")
    p = folder / "kuramoto_r_vs_K.csv"
    if p.exists():
        r = rows(p)
        k = [float(x["K"]) for x in r]
        plt.figure()
        plt.plot(k, [float(x["r"]) for x in r], "o", label="simulation")
        plt.plot(k, [float(x["theory"]) for x in r], "-", label="sqrt(1 - 2 gamma / K)")
        plt.xlabel("K")
        plt.ylabel("r")
        plt.legend()
        plt.savefig(folder / "kuramoto_r_vs_K.png", dpi=120)
        made.append("kuramoto_r_vs_K.png")
    p = folder / "pedestrian_crowd.csv"
    if p.exists():
        r = rows(p)
        t = [float(x["t"]) for x in r]
        plt.figure()
        plt.plot(t, [float(x["rg_vision_cone"]) for x in r], label="vision cone")
        plt.plot(t, [float(x["rg_no_steering"]) for x in r], label="no steering")
        plt.xlabel("t")
        plt.ylabel("radius of gyration")
        plt.legend()
        plt.savefig(folder / "pedestrian_crowd.png", dpi=120)
        made.append("pedestrian_crowd.png")
    print("wrote " + (", ".join(made) if made else "nothing (no CSV found)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
