"""How much of a proxy's ranking is the network's depth?

Usage: python experiments/depth_strata.py --benchmark nbmacro -n 300 --proxy naswot meco eznas_nb201
On the networks ``eznas correlate -n N --seed S`` samples, prints per proxy its Kendall tau
with accuracy over all of them, the same within groups of equal ``depth`` (the library's
longest-path conv count; groups of at least ``--min-group`` networks, weighted by size), and
its tau with depth. Written to explain why NB201-evolved programs transfer poorly to
NAS-Bench-Macro, where depth ranks the networks far better than it ranks NB201's.
Scores come through the score cache, so proxies already scored cost nothing.
"""

from __future__ import annotations

import argparse

from scipy.stats import kendalltau

from eznas.benchmark.benchmarks import open_benchmark
from eznas.correlation import run_correlation
from eznas.metrics import kendall_within
from eznas.proxies.scoring import DEFAULT_CACHE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="nbmacro")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("-n", type=int, default=300, help="networks (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--proxy", nargs="+", default=["params", "flops"])
    parser.add_argument("--min-group", type=int, default=10)
    parser.add_argument("--score-cache", dest="cache", default=str(DEFAULT_CACHE))
    args = parser.parse_args()
    bench = open_benchmark(args.benchmark, args.data)
    proxies = [p for p in args.proxy if p != "depth"]
    report = run_correlation(
        bench, args.dataset, [*proxies, "depth"], n=args.n or None, seed=args.seed, cache=args.cache
    )
    accuracy, depth = report.accuracies, report.scores["depth"]
    groups = len(set(depth.tolist()))
    print(
        f"{bench.name}: {len(depth)} networks, depth {depth.min():.0f}-{depth.max():.0f} "
        f"({groups} values); depth vs accuracy tau {kendalltau(depth, accuracy)[0]:.3f}\n"
    )
    print("| proxy | tau | tau within equal depth | tau with depth |")
    print("| --- | --- | --- | --- |")
    for name in proxies:
        score = report.scores[name]
        print(
            f"| {name} | {kendalltau(score, accuracy)[0]:.3f} "
            f"| {kendall_within(score, accuracy, depth, args.min_group):.3f} "
            f"| {kendalltau(score, depth)[0]:.3f} |"
        )


if __name__ == "__main__":
    main()
