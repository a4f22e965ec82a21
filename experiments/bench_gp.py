"""Program evaluation speed: stacked (one op call per shape group) vs a naive per-block loop.

Prints programs evaluated per second on a fixed task of NB201 networks at B = 1, the speed-up
over a Python loop over networks and blocks measured in the same run, the load time and the
peak RSS. Example (all 80 networks of the CIFAR-10 cache):

    nice -n 10 python experiments/bench_gp.py --cache statistics_cache/nb201-cifar10-rcb-b1-s0.h5
"""

from __future__ import annotations

import argparse
import random
import resource
import time

import numpy as np
import torch
from deap import gp

from eznas.gp.fitness import load_pair, task_indices
from eznas.gp.program import KINDS, TO_SCALAR, compile_tree, evaluate, make_pset, run
from eznas.stats import open_cache


def naive(program, blocks) -> np.ndarray:
    """One op call per node per block: the Python loop over networks and layers."""
    sums, counts = np.zeros(blocks.n_networks), np.zeros(blocks.n_networks)
    with torch.no_grad():
        for g in blocks.groups:
            for row, net in enumerate(g.net):
                one = {k: t[row : row + 1] for k, t in g.tensors.items()}
                sums[net] += float(TO_SCALAR["mean"](run(program.root, one).double())[0])
                counts[net] += 1
    return sums / counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True)
    parser.add_argument("--networks", type=int, default=80)
    parser.add_argument("--programs", type=int, default=100)
    parser.add_argument("--naive-programs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    with open_cache(args.cache) as cache:
        indices = task_indices(cache.networks(), args.networks, args.seed)
    pair = load_pair(args.cache, indices, KINDS)
    blocks = pair.blocks
    load = time.perf_counter() - started
    n_blocks = sum(len(g.net) for g in blocks.groups)
    print(
        f"loaded {blocks.n_networks} networks, {n_blocks} RCBs, {len(blocks.groups)} shape "
        f"groups, 22 kinds in {load:.1f}s"
    )

    random.seed(args.seed)
    pset, probe = make_pset(), blocks.subset(range(min(4, blocks.n_networks)))
    programs = []
    while len(programs) < args.programs:
        p = compile_tree(gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 4)))
        if np.isfinite(evaluate([p], probe)).all():
            programs.append(p)

    started = time.perf_counter()
    stacked = evaluate(programs, blocks)
    t_stacked = time.perf_counter() - started
    started = time.perf_counter()
    for p in programs:
        evaluate([p], blocks)
    t_single = time.perf_counter() - started
    sample = programs[: args.naive_programs]
    started = time.perf_counter()
    slow = np.array([naive(p, blocks) for p in sample])
    t_naive = (time.perf_counter() - started) / len(sample)
    ok = np.isfinite(stacked[: len(sample)]).all(1)
    np.testing.assert_allclose(slow[ok], stacked[: len(sample)][ok], rtol=1e-4)

    rate = len(programs) / t_stacked
    print(f"stacked, shared subtrees: {rate:.2f} programs/s ({t_stacked:.1f}s for {len(programs)})")
    print(f"stacked, one at a time:   {len(programs) / t_single:.2f} programs/s")
    print(f"naive per-block loop:     {1 / t_naive:.3f} programs/s ({len(sample)} programs)")
    print(f"speed-up over naive:      {rate * t_naive:.1f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS: {rss:.2f} GiB")


if __name__ == "__main__":
    main()
