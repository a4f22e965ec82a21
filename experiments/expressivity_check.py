"""Each anchor's program beside its library proxy: Spearman rho and Kendall tau.

Usage: OMP_NUM_THREADS=1 python experiments/expressivity_check.py [--data DIR] [-n 50]
    [--seed 0] [--proxy naswot meco ...] [--default-batch] [--az-gap]
The programs of ``eznas.gp.anchors`` score ``n`` seeded NB201 networks (CIFAR-10) from live
models (raw kinds at B = 1, summaries at B = 16); the library proxy scores the same
networks at the anchor's batch size (NASWOT and AZ-NAS at 16, MeCo and synflow at 1).
The test ``tests/test_gp_expressivity.py`` asserts rho >= 0.95 on the same 50 networks.

``--default-batch`` adds each library proxy at its own default batch where that differs
(NASWOT 128, AZ-NAS 64): the programs still read B = 16 summaries.
``--az-gap`` shows why AZ-NAS's programs read the stage maps (T6) of the re-initialised
copy: AZ-NAS's own features (stem and cell outputs) of the collector's model, not
re-initialised, against the library; and the programs over the blocks' stage inputs (T5),
which miss the input of a cell without a conv (no block reads it).
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
    Anchor,
    anchor_indices,
    library_scores,
    program_scores,
)
from eznas.metrics import kendall, spearman
from eznas.proxies import get_proxy
from eznas.proxies.az_nas import kaiming_fanin_copy, spectral_entropy
from eznas.proxies.trunk import block_features


def az_gap(bench: Benchmark, indices: np.ndarray, seed: int, library: dict) -> None:
    """Print why the AZ-NAS anchors read the stage maps (T6) of the re-initialised copy."""
    batches = make_batches("cifar10", SUMMARY_BATCH, seed, bench.data_dir)
    entropies = []
    for i in indices:
        torch.manual_seed(seed)
        model = bench.space.build(bench.table.arch(int(i)), "cifar10").train()
        with torch.no_grad():
            entropies.append([spectral_entropy(f) for f in block_features(model, batches.N)])
    entropies = np.array(entropies)
    own = {
        "az_expressivity": entropies.sum(1),
        "az_progressivity": np.diff(entropies, axis=1).min(1),
    }
    inputs = [
        Anchor(proxy, text, SUMMARY_BATCH, kaiming_fanin_copy)
        for proxy, text in (
            ("az_expressivity", "stage_mean:eig_entropy(C_T5_N)"),
            ("az_progressivity", "stage_min_step:eig_entropy(C_T5_N)"),
        )
    ]
    rows = program_scores(inputs, bench, indices, seed=seed)
    print(f"\nAZ-NAS's gap (library at B = {SUMMARY_BATCH}):")
    for anchor, row in zip(inputs, rows, strict=True):
        lib = library[anchor.proxy]
        print(
            f"  {anchor.proxy}: AZ-NAS's features of the collector's model, not re-initialised: "
            f"rho {spearman(own[anchor.proxy], lib):.4f}; over the blocks' stage inputs "
            f"(`{anchor.program}`, no stage without a block): rho {spearman(row, lib):.4f}"
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
        az_gap(bench, indices, args.seed, library)


if __name__ == "__main__":
    main()
