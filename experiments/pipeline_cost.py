"""Wall time and peak memory of the issue-16 pipeline: collect, then evolve, on NB201.

Each stage is one ``eznas`` subprocess; stages that may share the machine run two at a
time (``--jobs``), as a user on 2 cores would. Prints per stage its wall seconds and peak
RSS, then the total wall time and the largest peak (the target: collection + a 100 x 50
evolution over 3 x 80 networks in <= 30 min on 2 cores, peak <= 12 GiB). The folder is
kept, so the run can be exported or tested afterwards. Example, on an otherwise idle
machine:

    python experiments/pipeline_cost.py --out /tmp/cost --seed 0
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in GiB) of one command, its output in ``log``."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed: see {log}")
    return time.perf_counter() - start, usage.ru_maxrss / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for caches and run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-n", type=int, default=80, help="task networks per dataset")
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2, help="collections at once")
    parser.add_argument("--data", default=None, help="data folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    eznas = [sys.executable, "-m", "eznas"]
    data = ["--data", args.data] if args.data else []
    stats, seed = args.out / "stats", str(args.seed)
    collects = {}
    for dataset in DATASETS:
        common = [*eznas, "collect", "--dataset", dataset, "-n", str(args.n), "--seed", seed]
        common += ["--out", str(stats), *data]
        collects[f"collect {dataset} B=1"] = [*common, "--batch-size", "1"]
        collects[f"collect {dataset} B=16 summaries"] = [
            *common, "--batch-size", "16", "--summaries"
        ]  # fmt: skip
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            name: pool.submit(timed, command, args.out / f"{name.replace(' ', '-')}.log")
            for name, command in collects.items()
        }
        results = {name: future.result() for name, future in futures.items()}
    pairs = [
        f"{stats}/nb201-{d}-rcb-b1-s{seed}.h5+{stats}/nb201-{d}-rcb-b16-s{seed}-sum.h5"
        for d in DATASETS
    ]
    evolve = [
        *eznas, "evolve", "--stats", *pairs, "--population", str(args.population),
        "--generations", str(args.generations), "--seed", seed, "--to-scalar", "l2",
        "--components", "3", "--net-ops", "mean", "sum", "min_step", "last_first", "std",
        "amax", "--terms", "params", "--needs-values", "--start", "meco", "naswot",
        "--select-networks", "100", "--out", str(args.out / "run"), *data,
    ]  # fmt: skip
    results["evolve + selection"] = timed(evolve, args.out / "evolve.log")
    total = time.perf_counter() - started
    print("| stage | wall s | peak RSS GiB |\n|---|---|---|")
    for name, (wall, rss) in results.items():
        print(f"| {name} | {wall:.0f} | {rss:.2f} |")
    peak = max(rss for _, rss in results.values())
    print(
        f"\ntotal wall {total / 60:.1f} min on {args.jobs} collections at once; peak {peak:.2f} GiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
