"""Program evaluation speed: stacked (one op call per shape group) vs a naive per-block loop.

Prints programs evaluated per second on a fixed task of NB201 networks at B = 1, the speed-up
over a Python loop over networks and blocks measured in the same run, the load time and the
peak RSS. Example (all 80 networks of the CIFAR-10 cache):

    nice -n 10 python experiments/bench_gp.py --stats statistics_cache/nb201-cifar10-rcb-b1-s0.h5
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from pathlib import Path

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
    parser.add_argument("--stats", dest="cache", required=True, help="a statistics cache")
    parser.add_argument("--networks", type=int, default=80)
    parser.add_argument("--programs", type=int, default=100)
    parser.add_argument("--naive-programs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--run", default=None, help="use this run's final population instead of random programs"
    )
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
    if args.run:  # an evolved population shares subtrees, which the stacked evaluation reuses
        state = json.loads((Path(args.run) / "checkpoint.json").read_text())
        programs = [compile_tree(t, pset) for t in state["population"]]
    while len(programs) < args.programs:
        p = compile_tree(gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 4)))
        if np.isfinite(evaluate([p], probe)).all():
            programs.append(p)

    # CPU seconds (process time) as well as wall time: the machine is shared, so wall time
    # depends on the load; shared/one-at-a-time alternate twice to even out drift
    timings = {"shared": [], "single": []}
    for _ in range(2):
        for how in ("shared", "single"):
            wall, cpu = time.perf_counter(), time.process_time()
            if how == "shared":
                evaluate(programs, blocks)
            else:
                for p in programs:
                    evaluate([p], blocks)
            timings[how].append((time.perf_counter() - wall, time.process_time() - cpu))
    sample = programs[: args.naive_programs]
    wall, cpu = time.perf_counter(), time.process_time()
    slow = np.array([naive(p, blocks) for p in sample])
    naive_wall, naive_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    fast = np.concatenate([evaluate([p], blocks) for p in sample])
    fast_wall, fast_cpu = time.perf_counter() - wall, time.process_time() - cpu
    ok = np.isfinite(fast).all(1)
    np.testing.assert_allclose(slow[ok], fast[ok], rtol=1e-4)

    n = len(programs)
    for how, label in (("shared", "shared subtrees"), ("single", "one at a time")):
        w = min(t[0] for t in timings[how])
        c = min(t[1] for t in timings[how])
        print(f"stacked, {label:16s} {n / w:7.2f} programs/s wall, {n / c:7.2f} per CPU-second")
    print(
        f"on the first {len(sample)} programs: naive per-block loop {naive_wall:.1f}s wall / "
        f"{naive_cpu:.1f}s CPU, stacked {fast_wall:.1f}s wall / {fast_cpu:.1f}s CPU: "
        f"speed-up {naive_wall / fast_wall:.1f}x wall, {naive_cpu / fast_cpu:.1f}x CPU"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS: {rss:.2f} GiB")


if __name__ == "__main__":
    main()
