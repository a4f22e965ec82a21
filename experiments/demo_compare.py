"""The demo's two evolutions on the same held-out networks: is v2 the better default?

Each `eznas demo --seed S` (v2) compares proxies on its held-out networks minus the ones its
selection used; `--evolution eznas` uses all of them. This scores both exported files of a
seed on v2's networks, so the two columns compare like with like:

    eznas demo --seed S --out runs/demo-v2-sS
    eznas demo --evolution eznas --seed S --out runs/demo-eznas-sS
    python experiments/demo_compare.py --runs runs --seed 0 1 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from eznas import Run, open_benchmark
from eznas.correlation import run_correlation
from eznas.demo import DemoConfig, outside_selection, split_networks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="folder of the demo runs")
    parser.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    config = DemoConfig()
    bench = open_benchmark(config.benchmark)
    dataset = bench.dataset(config.dataset)
    taus: dict[str, list[float]] = {"v2": [], "eznas": []}
    for seed in args.seed:
        _, held = split_networks(len(bench.table), config.task, config.holdout, seed)
        held = outside_selection(held, Run.open(args.runs / f"demo-v2-s{seed}" / "evolve"))
        files = {e: str(args.runs / f"demo-{e}-s{seed}" / "eznas_demo.py") for e in taus}
        report = run_correlation(
            bench, dataset, list(files.values()), seed=seed, indices=held, progress=False
        )
        for evolution, file in files.items():
            taus[evolution].append(report.results[file].kendall)
        row = " / ".join(f"{e} {taus[e][-1]:.3f}" for e in taus)
        print(f"seed {seed}: {len(held)} held-out networks, Kendall tau {row}")
    print("mean: " + " / ".join(f"{e} {np.mean(t):.3f}" for e, t in taus.items()))


if __name__ == "__main__":
    main()
