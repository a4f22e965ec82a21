"""Each anchor's program beside its library proxy: Spearman rho and Kendall tau.

Usage: OMP_NUM_THREADS=1 python experiments/expressivity_check.py [--data DIR] [-n 50]
    [--seed 0] [--proxy naswot meco ...]
The programs of ``eznas.gp.anchors`` score ``n`` seeded NB201 networks (CIFAR-10) from live
models (raw kinds at B = 1, summaries at B = 16); the library proxy scores the same
networks at the anchor's batch size (NASWOT and AZ-NAS at 16, MeCo and synflow at 1).
The test ``tests/test_gp_expressivity.py`` asserts rho >= 0.95 on the same 50 networks.
"""

from __future__ import annotations

import argparse
import time

import torch

from eznas.benchmark.benchmarks import open_benchmark
from eznas.gp.anchors import ANCHORS, anchor_indices, library_scores, program_scores
from eznas.metrics import kendall, spearman


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxy", nargs="+", default=list(ANCHORS), choices=list(ANCHORS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    bench = open_benchmark("nb201", args.data)
    indices = anchor_indices(bench, args.n, args.seed)
    anchors = [ANCHORS[p] for p in args.proxy]
    start = time.perf_counter()
    programs = program_scores(anchors, bench, indices, seed=args.seed)
    print(f"{len(indices)} NB201 networks, cifar10, seed {args.seed}")
    print(f"programs scored in {time.perf_counter() - start:.1f} s")
    print("| proxy | B | program | Spearman rho | Kendall tau |")
    print("|---|---|---|---|---|")
    for anchor, row in zip(anchors, programs, strict=True):
        library = library_scores(anchor, bench, indices, seed=args.seed)
        print(
            f"| {anchor.proxy} | {anchor.batch_size} | `{anchor.program}` "
            f"| {spearman(row, library):.4f} | {kendall(row, library):.4f} |"
        )


if __name__ == "__main__":
    main()
