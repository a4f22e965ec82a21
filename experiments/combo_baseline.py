"""The combination baseline statistics-only evolution must beat (issue 16, capability 6).

For each run, the plain search over log-rank combinations of library proxies, chosen on
the same task networks the run evolved on: every candidate proxy is scored on each
dataset's task networks (the networks the run's caches drew, as the evolver drew them),
every combination of 1..k candidates is ranked by its smallest Kendall tau over the
datasets (the evolver's fitness, on all task networks at once rather than random draws),
and the best is tested on the held-out networks of ``heldout_table.py`` (the correlate
sample minus every run's task networks). Scores come from the score cache at the correlate
seed. Example:

    OMP_NUM_THREADS=1 python experiments/combo_baseline.py runs/v2sum3-s0 runs/v2sum3-s1 \\
        runs/v2sum3-s2 --dataset cifar10 cifar100 ImageNet16-120 -k 4 \\
        --score-cache score_cache/scores.sqlite
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from heldout_table import held_out

from eznas import Run, open_benchmark
from eznas.correlation import run_correlation
from eznas.gp.fitness import cache_group, task_indices
from eznas.metrics import correlate, kendall
from eznas.ranks import logrank
from eznas.stats import open_cache

CANDIDATES = (
    "naswot", "logsynflow", "synflow", "snip", "grad_norm", "jacob_cov", "meco", "zico",
    "az_expressivity", "az_progressivity", "az_trainability", "swap", "zen", "params", "flops",
)  # fmt: skip
"""Library proxies under about 3 s per network on one CPU thread (vkdnw and tenas_ntk cost
far more on CIFAR-100 and ImageNet16-120, where they backpropagate once per class)."""


def run_task_sets(run: Run) -> dict[str, np.ndarray]:
    """The task networks of each dataset of ``run`` (table rows), as its evolver drew them."""
    found = {}
    for entry in run.config.caches:
        with open_cache(cache_group(entry)[0]) as cache:
            dataset = cache.attrs["dataset"]
            found[dataset] = task_indices(cache.networks(), run.config.n_task, run.config.seed)
    return found


def best_combination(scores: dict[str, np.ndarray], accs: dict[str, np.ndarray], names, k: int):
    """(names, min Kendall over datasets) of the best log-rank combination of 1..k names;
    ``scores[dataset]`` is networks x names."""
    best = ((), -np.inf)
    for size in range(1, k + 1):
        for combo in itertools.combinations(range(len(names)), size):
            taus = [kendall(logrank(scores[d][:, combo]), accs[d]) for d in scores]
            value = min(taus) if np.all(np.isfinite(taus)) else -np.inf
            if value > best[1]:
                best = (tuple(names[i] for i in combo), value)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders of `eznas evolve`")
    parser.add_argument("-n", type=int, default=1000, help="size of the correlate sample")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and the scores")
    parser.add_argument("--dataset", nargs="+", default=["cifar10"])
    parser.add_argument("--proxy", nargs="+", default=list(CANDIDATES), help="candidates")
    parser.add_argument("-k", type=int, default=4, help="most proxies per combination")
    parser.add_argument("--score-cache", default="score_cache/scores.sqlite")
    parser.add_argument(
        "--also-exclude", nargs="+", default=[], metavar="RUN",
        help="runs whose task networks are left out too (same held-out set as their table)",
    )  # fmt: skip
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    runs = [Run.open(folder) for folder in args.runs]
    bench = open_benchmark("nb201", args.data)
    others = [Run.open(folder) for folder in args.also_exclude]
    held = held_out(runs + others, bench, args.n, args.seed, args.data)
    for run in runs:
        scores, accs = {}, {}
        for dataset, indices in run_task_sets(run).items():
            report = run_correlation(
                bench, dataset, args.proxy, seed=args.seed, indices=indices, cache=args.score_cache
            )
            scores[dataset] = np.column_stack([report.scores[p] for p in args.proxy])
            accs[dataset] = bench.table.column(dataset)[indices]
        names, tau = best_combination(scores, accs, args.proxy, args.k)
        combo = f"combo:logrank({','.join(names)})" if len(names) > 1 else names[0]
        print(f"\n{run.folder.name}: {combo}, min task Kendall tau {tau:.3f}")
        for dataset in args.dataset:
            report = run_correlation(
                bench, dataset, [combo], seed=args.seed, indices=held, cache=args.score_cache
            )
            result = correlate(report.scores[combo], bench.table.column(dataset)[held])
            print(f"  {dataset}: held-out Kendall tau {result.kendall:.3f}, Spearman rho "
                  f"{result.spearman:.3f}, NaN {result.nan}")  # fmt: skip


if __name__ == "__main__":
    main()
