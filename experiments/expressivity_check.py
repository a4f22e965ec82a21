"""Each anchor's program beside its library proxy: Spearman rho and Kendall tau.

Usage: OMP_NUM_THREADS=1 python experiments/expressivity_check.py [--data DIR] [-n 50]
    [--seed 0] [--proxy naswot meco ...] [--default-batch] [--az-gap]
The programs of ``eznas.gp.anchors`` score ``n`` seeded NB201 networks (CIFAR-10) from live
models (raw kinds at B = 1, summaries at B = 16); the library proxy scores the same
networks at the anchor's batch size (NASWOT and AZ-NAS at 16, MeCo and synflow at 1).
The test ``tests/test_gp_expressivity.py`` asserts rho >= 0.95 on the same 50 networks.

``--default-batch`` adds each library proxy at its own default batch where that differs
(NASWOT 128, AZ-NAS 64): the programs still read B = 16 summaries.
``--az-gap`` shows where AZ-NAS's programs lose: AZ-NAS's own features (stem and cell
outputs) of the collector's model, not re-initialised, against the library (why the
anchors read the re-initialised copy); and each program on the networks whose every cell
has a block, so a stage input (T5): a cell without a conv has no block, so its output is
no stage and progressivity misses its steps.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from eznas.benchmark.benchmarks import Benchmark, open_benchmark
from eznas.data import make_batches
from eznas.gp.anchors import (
    ANCHORS,
    SUMMARY_BATCH,
    anchor_indices,
    library_scores,
    program_scores,
)
from eznas.metrics import kendall, spearman
from eznas.proxies import get_proxy
from eznas.proxies.az_nas import block_features, kaiming_fanin_copy, spectral_entropy
from eznas.runtime import stage_sites


def az_gap(bench: Benchmark, indices: np.ndarray, seed: int, library: dict, programs: dict) -> None:
    """Print where the AZ-NAS programs lose rank agreement (see the module docstring)."""
    batches = make_batches("cifar10", SUMMARY_BATCH, seed, bench.data_dir)
    entropies, stages = [], []
    for i in indices:
        torch.manual_seed(seed)
        model = bench.space.build(bench.table.arch(int(i)), "cifar10").train()
        with torch.no_grad():
            entropies.append([spectral_entropy(f) for f in block_features(model, batches.N)])
        copy = kaiming_fanin_copy(model, seed)
        stages.append(len(set(stage_sites(copy, batches.N, bench.space.block_pattern))))
    entropies = np.array(entropies)
    own = {
        "az_expressivity": entropies.sum(1),
        "az_progressivity": np.diff(entropies, axis=1).min(1),
    }
    every = np.array(stages) == entropies.shape[1] - 1  # stem + every cell but the last
    print(f"\nAZ-NAS's gap (library at B = {SUMMARY_BATCH}):")
    for proxy, values in own.items():
        print(
            f"  {proxy}: AZ-NAS's features of the collector's model, not re-initialised: "
            f"rho {spearman(values, library[proxy]):.4f}"
        )
        if proxy in programs:
            row, lib = programs[proxy][every], library[proxy][every]
            print(
                f"  {proxy}: the program on the {every.sum()} of {len(every)} networks whose "
                f"every cell has a block (a stage): rho {spearman(row, lib):.4f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxy", nargs="+", default=list(ANCHORS), choices=list(ANCHORS))
    parser.add_argument("--default-batch", action="store_true", help="library at its batch")
    parser.add_argument("--az-gap", action="store_true", help="where AZ-NAS's programs lose")
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
    library = {}
    for anchor, row in zip(anchors, programs, strict=True):
        library[anchor.proxy] = library_scores(anchor, bench, indices, seed=args.seed)
        print(
            f"| {anchor.proxy} | {anchor.batch_size} | `{anchor.program}` "
            f"| {spearman(row, library[anchor.proxy]):.4f} "
            f"| {kendall(row, library[anchor.proxy]):.4f} |"
        )
        default = get_proxy(anchor.proxy).batch_size
        if args.default_batch and default != anchor.batch_size:
            own = library_scores(
                replace(anchor, batch_size=default), bench, indices, seed=args.seed
            )
            print(
                f"| {anchor.proxy} | {default} (library) | same | {spearman(row, own):.4f} "
                f"| {kendall(row, own):.4f} |"
            )
    if args.az_gap:
        for proxy in ("az_expressivity", "az_progressivity"):
            if proxy not in library:
                library[proxy] = library_scores(ANCHORS[proxy], bench, indices, seed=args.seed)
        scores = dict(zip((a.proxy for a in anchors), programs, strict=True))
        az_gap(bench, indices, args.seed, library, scores)


if __name__ == "__main__":
    main()
