"""Accuracy at the top of a proxy's ranking: what a search that trusted the proxy would get.

Kendall tau weighs every pair alike; a search keeps only the best-scored networks. For each
proxy this prints the mean and best accuracy of its k best-scored networks and the share of
them in the top 5 % by accuracy. Scores come through the score cache, so on networks
``eznas correlate`` has scored the script is instant. ``--returned`` places the archs a
search returned (its ``saved`` CSV) in each proxy's ranking: how close the search got.

    python experiments/top_of_ranking.py --proxy eznas_nb201 params -n 0 --dataset cifar10
"""

from __future__ import annotations

import argparse
import csv

import numpy as np

from eznas.correlation import run_correlation
from eznas.proxies.scoring import DEFAULT_CACHE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", nargs="+", required=True)
    parser.add_argument("--benchmark", default="nb201")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("-n", type=int, default=1000, help="networks sampled (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, nargs="+", default=[1, 5, 10, 50, 100, 500])
    parser.add_argument("--score-cache", default=str(DEFAULT_CACHE))
    parser.add_argument("--returned", help="a search's CSV (eznas search --out): rank its archs")
    args = parser.parse_args()
    report = run_correlation(
        args.benchmark,
        args.dataset,
        args.proxy,
        n=args.n or None,
        seed=args.seed,
        cache=args.score_cache,
    )
    acc = report.accuracies
    top5 = np.quantile(acc, 0.95)
    print(
        f"{report.space} / {report.dataset}: {len(acc)} networks, optimum {acc.max():.2f}, "
        f"top 5 % from {top5:.2f}"
    )
    print("| proxy | k | mean accuracy | best | in top 5 % |\n| --- | --- | --- | --- | --- |")
    orders = {  # best first; a NaN score ranks last
        name: np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
        for name, scores in report.scores.items()
    }
    for name, order in orders.items():
        for k in (k for k in args.top if k <= len(acc)):
            best = acc[order[:k]]
            print(
                f"| {name} | {k} | {best.mean():.2f} | {best.max():.2f} | "
                f"{100 * np.mean(best >= top5):.0f} % |"
            )
    if args.returned:
        with open(args.returned, newline="") as f:
            returned = [row["arch"] for row in csv.DictReader(f)]
        archs = [report.benchmark.table.arch(int(i)) for i in report.indices]
        for name, order in orders.items():
            rank = {archs[j]: r for r, j in enumerate(order, 1)}
            missing = [a for a in returned if a not in rank]
            if missing:
                raise SystemExit(f"{missing[0]!r} of {args.returned} is not among the networks")
            ranks = np.array([rank[a] for a in returned])
            print(
                f"{name}: the {len(ranks)} returned archs rank {ranks.min()}-{ranks.max()} "
                f"(median {np.median(ranks):g}; {np.sum(ranks <= 10)} in the top 10)"
            )


if __name__ == "__main__":
    main()
