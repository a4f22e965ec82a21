"""Do evolved programs transfer? Their scores on other spaces' labelled networks.

Each run's chosen individual is scored, exactly as its exported file scores a model, on the
labelled networks of NAS-Bench-Macro, NB101 and NB301 (all of them, or a seeded sample of
``-n``), beside library proxies on the same networks. A run whose task set spans spaces
is tested on each space's networks outside every task and selection set of the runs given
(so no held-out network influenced an evolution or a choice). The program is used as it is; only
the block pattern is the space's own (Conv-BN-ReLU in NAS-Bench-Macro and NB101, where
T1 is the BN output, T2 the ReLU output and T4 the conv output, as in NB201's ReLU-Conv-BN
blocks). Inputs are CIFAR-10 images; NB301's labels are the NB301 surrogate's predictions.

    OMP_NUM_THREADS=1 python experiments/transfer_table.py runs/v2sum3-s0 runs/v2sum3-s1 \\
        runs/v2sum3-s2 --benchmark nbmacro nb101 nb301 -n 1000 --select validation \\
        --proxy meco naswot synflow params flops --out reports/transfer
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from heldout_table import program_scores, task_networks

from eznas import Run, open_benchmark
from eznas.correlation import run_correlation, sample_indices
from eznas.metrics import correlate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders of `eznas evolve` on NB201")
    parser.add_argument("--benchmark", nargs="+", default=["nbmacro", "nb101", "nb301"])
    parser.add_argument("-n", type=int, default=1000, help="networks per space at most")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and the scores")
    parser.add_argument("--select", nargs="+", default=["validation"])
    parser.add_argument("--proxy", nargs="+", default=["meco", "naswot", "synflow", "params"])
    parser.add_argument("--score-cache", default="score_cache/scores.sqlite")
    parser.add_argument("--out", type=Path, default=None, help="folder for the program scores")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    runs = [Run.open(folder) for folder in args.runs]
    chosen = [
        (run, select, run.individual(int(select) if select.isdigit() else select))
        for run in runs
        for select in args.select
    ]
    for name in args.benchmark:
        bench = open_benchmark(name, args.data)
        n = args.n if args.n < len(bench.table) else None
        used = set().union(*(task_networks(run, name, args.data) for run in runs))
        sample = sample_indices(bench.table, n, args.seed)
        indices = np.array([i for i in sample if int(i) not in used], dtype=int)
        dataset = bench.dataset(None)
        acc = bench.table.column(dataset)[indices]
        pattern = bench.space.block_pattern
        scores = program_scores(chosen, bench, dataset, indices, args.seed, args.out, pattern)
        report = run_correlation(
            bench, dataset, args.proxy, seed=args.seed, indices=indices, cache=args.score_cache
        )
        print(
            f"\n{name} ({dataset}, {pattern} blocks): {len(indices)} of {len(sample)} sampled"
            " labelled networks (outside every task and selection set of the runs)\n"
        )
        print("| proxy | Kendall tau | Spearman rho | NaN |\n|---|---|---|---|")
        for (run, select, ind), row in zip(chosen, scores, strict=True):
            result = correlate(row, acc)
            text = ind.text(run.config.aggregate)
            print(f"| {run.folder.name} ({select}) `{text}` | {result.kendall:.3f} | "
                  f"{result.spearman:.3f} | {result.nan} |")  # fmt: skip
        for proxy in args.proxy:
            result = correlate(report.scores[proxy], acc)
            print(f"| {proxy} | {result.kendall:.3f} | {result.spearman:.3f} | {result.nan} |")


if __name__ == "__main__":
    main()
