"""Seconds per network of proxies on one thread, warm, each component and term apart.

The issue-16 cost target (an exported proxy scores a network in <= 0.3 s on one thread) and
the rule that picks the shipped program use this number: ``n`` seeded networks of the
benchmark (``correlate``'s sample), each scored by every proxy through the Scorer without a
score cache, after one warm-up network (data batches, imports); a combo or a multi-component
file is timed per member, in the order eznas scores them (the members of an exported file
share one capture, which the first member pays). Run it on an otherwise idle machine:

    OMP_NUM_THREADS=1 python experiments/proxy_cost.py eznas_nb201 runs_choice.py -n 100 \\
        --seed 781 --dataset cifar10
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from eznas import open_benchmark
from eznas.correlation import sample_indices
from eznas.proxies import get_proxy
from eznas.proxies.scoring import Scorer


def member_seconds(
    proxy: str, bench, dataset: str, archs: list[str], data: str | None
) -> dict[str, float]:
    """{member: mean warm seconds per network} of ``proxy`` (one member if it is plain)."""
    found = get_proxy(proxy)
    members = list(getattr(found, "components", [proxy]))
    scorer = Scorer(bench.space, dataset, 0, data_dir=data, cache=None)
    for member in members:  # warm-up: batches, imports, first-call allocations
        scorer(archs[0], member)
    seconds = np.zeros(len(members))
    for arch in archs[1:]:
        for j, member in enumerate(members):
            start = time.perf_counter()
            scorer(arch, member)
            seconds[j] += time.perf_counter() - start
    return dict(zip(members, seconds / (len(archs) - 1), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proxies", nargs="+", help="proxy names, combos or exported files")
    parser.add_argument("-n", type=int, default=100, help="networks timed (after one warm-up)")
    parser.add_argument("--seed", type=int, default=781, help="seed of the network sample")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--benchmark", default="nb201")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    bench = open_benchmark(args.benchmark, args.data)
    archs = [bench.table.arch(int(i)) for i in sample_indices(bench.table, args.n + 1, args.seed)]
    print(f"{bench.name} / {args.dataset}: {args.n} networks (seed {args.seed}), one thread\n")
    print("| proxy | s/net | members (s/net each) |\n|---|---|---|")
    for proxy in args.proxies:
        parts = member_seconds(proxy, bench, args.dataset, archs, args.data)
        detail = ", ".join(f"{m.rsplit('/', 1)[-1]} {s:.3f}" for m, s in parts.items())
        print(f"| {proxy.rsplit('/', 1)[-1]} | {sum(parts.values()):.3f} | {detail} |", flush=True)


if __name__ == "__main__":
    main()
