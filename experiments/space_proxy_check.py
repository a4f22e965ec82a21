"""Blocks per network and every registered proxy on networks of the non-NB201 spaces.

Usage: python experiments/space_proxy_check.py [--data DIR] [--space nbmacro nb101] [-n 50]
For each space: Conv-BN-ReLU (the space's block pattern) blocks found by data flow,
min/mean/max over ``n`` labelled archs drawn by seed 0; then each proxy once on the
table's first arch with CIFAR-10 images (its default batch), printing the score and
seconds, or the error it raised.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from eznas.benchmark.benchmarks import open_benchmark
from eznas.data import data_batch
from eznas.proxies import PROXIES
from eznas.stats import find_blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--space", nargs="+", default=["nbmacro", "nb101"])
    parser.add_argument("-n", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = data_batch("cifar10", 2, 0, args.data)[0]
    for name in args.space:
        bench = open_benchmark(name, args.data)
        archs = bench.table.archs()
        pick = np.random.default_rng(0).choice(len(archs), size=min(args.n, len(archs)))
        counts = []
        for i in pick:
            torch.manual_seed(0)
            model = bench.space.build(archs[i], "cifar10")
            counts.append(len(find_blocks(model, x, bench.space.block_pattern)))
        print(
            f"{name}: {bench.space.block_pattern} blocks per network over {len(pick)} archs: "
            f"min {min(counts)} mean {np.mean(counts):.1f} max {max(counts)}"
        )
        arch = archs[0]
        for proxy in PROXIES.values():
            inputs, labels, _ = data_batch("cifar10", proxy.batch_size, 0, args.data)
            torch.manual_seed(0)
            model = bench.space.build(arch, "cifar10")
            start = time.perf_counter()
            try:
                score = proxy.score(model, inputs, labels, seed=0, arch=arch, space=bench.space)
                outcome = f"{score:.6g}"
            except Exception as error:  # report every failure, whatever its type
                outcome = f"FAILS: {type(error).__name__}: {error}"
            print(f"  {name} {proxy.name}: {outcome} ({time.perf_counter() - start:.2f} s)")


if __name__ == "__main__":
    main()
