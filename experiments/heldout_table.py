"""An evolved run's programs beside library proxies on the same held-out NB201 networks.

The networks are the proxy tables' seeded sample (``correlate -n N --seed S``) minus every
network any of the run's task sets used, so no held-out network ever influenced evolution
or the choice of a program. The run's programs are scored from live models exactly as its
statistics were collected; library proxies go through the score cache. Prints one Kendall
tau / Spearman rho table per dataset. Example (CIFAR-10 images stand in for the inputs of
CIFAR-100 and ImageNet16-120):

    OMP_NUM_THREADS=1 python experiments/heldout_table.py runs/v2sum3-s0 -n 200 \\
        --dataset cifar10 --proxy az_nas vkdnw_agg meco naswot params
"""

from __future__ import annotations

import argparse

import numpy as np

from eznas import Run, open_benchmark
from eznas.correlation import run_correlation, sample_indices
from eznas.gp.fitness import cache_group, task_indices
from eznas.gp.holdout import holdout_scores
from eznas.metrics import correlate
from eznas.stats import open_cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run folder of `eznas evolve`")
    parser.add_argument("-n", type=int, default=1000, help="size of the correlate sample")
    parser.add_argument("--seed", type=int, default=0, help="seed of the correlate sample")
    parser.add_argument("--dataset", nargs="+", default=["cifar10"])
    parser.add_argument("--select", nargs="+", default=["validation", "task", "0", "final"])
    parser.add_argument("--proxy", nargs="+", default=["az_nas", "vkdnw_agg", "meco", "params"])
    parser.add_argument("--score-cache", default="score_cache/scores.sqlite")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    run = Run.open(args.run)
    bench = open_benchmark("nb201", args.data)
    task, captures = set(), []
    for entry in run.config.caches:
        with open_cache(cache_group(entry)[0]) as cache:
            task |= {int(i) for i in task_indices(cache.networks(), run.config.n_task,
                                                  run.config.seed)}  # fmt: skip
    for member in cache_group(run.config.caches[0]):
        with open_cache(member) as cache:
            attrs = dict(cache.attrs)
            captures.append((int(attrs["batch_size"]), list(cache.kinds)))
    sample = sample_indices(bench.table, args.n, args.seed)
    held = np.array([i for i in sample if int(i) not in task])
    print(f"{len(held)} of the {len(sample)} sampled networks are outside every task set")
    chosen = {}
    for select in args.select:
        key = int(select) if select.isdigit() else select
        chosen[select] = run.individual(key)
    for dataset in args.dataset:
        acc = bench.table.column(dataset)[held]
        rows = []
        scores = holdout_scores(
            list(chosen.values()),
            bench,
            dataset,
            held,
            seed=int(attrs["seed"]),
            captures=captures,
            to_scalar=run.config.to_scalar,
            pattern=attrs["pattern"],
        )
        for (select, ind), row in zip(chosen.items(), scores, strict=True):
            rows.append((f"evolved ({select}) {ind.text(run.config.aggregate)}", row))
        report = run_correlation(
            bench, dataset, args.proxy, seed=args.seed, indices=held, cache=args.score_cache
        )
        rows += [(name, report.scores[name]) for name in args.proxy]
        print(f"\n{dataset}: {len(held)} held-out networks\n")
        print("| proxy | Kendall tau | Spearman rho | NaN |\n|---|---|---|---|")
        for name, row in rows:
            result = correlate(row, acc)
            print(f"| {name} | {result.kendall:.3f} | {result.spearman:.3f} | {result.nan} |")


if __name__ == "__main__":
    main()
