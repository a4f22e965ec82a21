"""Benchmark the statistics collector: overhead vs bare passes, MB/network, peak RSS, rate.

    nice -n 10 python experiments/bench_collect.py --n 6 --reps 3

Overhead = collect_model time / time of the bare forward+backward passes (D, N, P) of the
same networks and inputs (min over ``reps`` interleaved repetitions, one process, one torch
thread by default: on a shared machine multi-threaded timings are mostly contention). The
end-to-end rate (``collect()`` wall time: sampling, batches, collection, compression, shard
and index writes, consolidation; not interpreter start-up) and the on-disk sizes come from
one ``collect`` subprocess per setting, so their peak RSS is their own. Existing caches in
statistics_cache/ are listed with their uncompressed size (the RAM to read all of one).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import torch
import torch.nn.functional as F

from eznas.benchmark import load_table
from eznas.data import make_batches
from eznas.spaces import get_space
from eznas.stats import collect_model
from eznas.stats.pipeline import sample_networks

SETTINGS = (
    (1, "float32", "gzip"),
    (1, "float32", "lzf"),
    (1, "float32", "none"),
    (1, "float16", "gzip"),
    (8, "float32", "gzip"),
)
"""(batch size, dtype, compression) of the end-to-end runs."""

RUN = """
import json, resource, sys, time
from eznas.stats import collect
start = time.perf_counter()
path = collect(progress=False, **json.loads(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - start, "path": str(path),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bare(model, batches) -> None:
    for x in "DNP":
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(batches[x]), batches.labels).backward()


def overhead(indices, dataset: str, reps: int) -> tuple[float, float]:
    space, table = get_space("nb201"), load_table("nb201")
    batches = make_batches(dataset, 1, 0)
    t_bare = t_collect = 0.0
    for i in indices:
        torch.manual_seed(0)
        model = space.build(table.arch(i), dataset)
        bare(model, batches)  # warm-up
        best_b = best_c = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            bare(model, batches)
            mid = time.perf_counter()
            collect_model(model, batches)
            best_b, best_c = min(best_b, mid - start), min(best_c, time.perf_counter() - mid)
        t_bare, t_collect = t_bare + best_b, t_collect + best_c
    return t_bare, t_collect


def run_collect(settings: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(settings)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def uncompressed_mb(path: Path) -> float:
    total = 0

    def add(name, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += obj.size * obj.dtype.itemsize

    with h5py.File(path, "r") as handle:
        handle.visititems(add)
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="networks (seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for the overhead timing"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    indices = [int(i) for i in sample_networks(15625, args.n, args.seed)]
    print(f"networks {indices} on {args.dataset}, torch threads {torch.get_num_threads()}")

    t_bare, t_collect = overhead(indices, args.dataset, args.reps)
    print(
        f"in-memory collect_model: {t_collect / len(indices):.3f} s/net, bare fwd+bwd x3: "
        f"{t_bare / len(indices):.3f} s/net, overhead {t_collect / t_bare:.2f}x"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for batch_size, dtype, compression in SETTINGS:
            settings = dict(
                dataset=args.dataset,
                indices=indices,
                batch_size=batch_size,
                dtype=dtype,
                compression=compression,
                seed=args.seed,
                out=str(Path(tmp) / compression),
            )
            res = run_collect(settings)
            path = Path(res["path"])
            mb = path.stat().st_size / 1e6 / len(indices)
            raw = uncompressed_mb(path) / len(indices)
            print(
                f"B={batch_size} {dtype} {compression}: {mb:.1f} MB/net on disk "
                f"({raw:.1f} MB raw), end-to-end {res['seconds'] / len(indices):.2f} s/net = "
                f"{len(indices) / res['seconds']:.2f} nets/s"
                + (f" ({res['seconds'] / t_bare:.1f}x bare)" if batch_size == 1 else "")
                + f", peak RSS {res['rss_mb']:.0f} MB"
            )
    for path in sorted(Path("statistics_cache").glob("*.h5")):
        print(
            f"{path}: {path.stat().st_size / 1e6:.0f} MB on disk, "
            f"{uncompressed_mb(path):.0f} MB uncompressed"
        )


if __name__ == "__main__":
    main()
