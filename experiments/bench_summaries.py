"""Size and cost of summary caches (B = 16, 32) next to EZNAS's raw B = 1 cache.

    OMP_NUM_THREADS=1 nice -n 5 python experiments/bench_summaries.py --n 10

Each setting is one ``collect`` subprocess (one job, one torch thread) on the same seeded
networks, so its wall time (collection, compression, shards, consolidation; not interpreter
start-up) and peak RSS are its own. Sizes: MB per network on disk (gzip) and uncompressed,
the share of T3 (the conv weights, stored in both kinds of cache), and, for the summary
caches, what the raw tensors they replace would take uncompressed at that B (computed from
the shapes table, not collected).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import h5py
import numpy as np
from bench_collect import run_collect  # the same subprocess run (collect + its peak RSS)

from eznas.runtime import FAMILIES, KINDS, parse_kind
from eznas.stats.pipeline import sample_networks

SETTINGS = ((1, False), (16, True), (32, True))
"""(batch size, summaries) of the runs."""


def sizes(path: Path) -> dict[str, float]:
    """Uncompressed MB of all datasets, of T3, and of the 22 raw kinds at the file's B."""
    total = t3 = raw = 0
    with h5py.File(path, "r") as handle:
        for group in handle["networks"].values():
            for name, data in group.items():
                bytes_ = data.size * data.dtype.itemsize
                total += bytes_
                t3 += bytes_ if name == "T3" else 0
            elements = np.prod(group["shapes"][()], axis=2).sum(0)  # per family
            raw += 4 * sum(elements[FAMILIES.index(parse_kind(k).family)] for k in KINDS)
    return {"total": total / 1e6, "T3": t3 / 1e6, "raw": raw / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="networks (seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default="cifar10")
    args = parser.parse_args()
    indices = [int(i) for i in sample_networks(15625, args.n, args.seed)]
    n = len(indices)
    print(f"NB201 {args.dataset}, networks {indices}, one job, one torch thread")
    with tempfile.TemporaryDirectory() as tmp:
        for batch_size, summaries in SETTINGS:
            settings = dict(
                dataset=args.dataset,
                indices=indices,
                batch_size=batch_size,
                summaries=summaries,
                seed=args.seed,
                out=tmp,
            )
            res = run_collect(settings)
            path = Path(res["path"])
            mb = sizes(path)
            what = "summaries" if summaries else "raw"
            line = (
                f"B={batch_size:<2} {what:9}: {path.stat().st_size / 1e6 / n:6.2f} MB/net on "
                f"disk, {mb['total'] / n:6.2f} MB/net uncompressed (T3 {mb['T3'] / n:.2f}), "
                f"{res['seconds'] / n:5.2f} s/net, peak RSS {res['rss_mb']:.0f} MB"
            )
            if summaries:
                line += f"; raw tensors at this B would be {mb['raw'] / n:.0f} MB/net"
            print(line)


if __name__ == "__main__":
    main()
