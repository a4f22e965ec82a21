"""Robustness of program evaluation: many random, mutated and crossed programs on real statistics.

Programs come from DEAP's generators over the whole primitive set (``genFull``, ``genGrow``,
``genHalfAndHalf`` at depths 1-10) and from DEAP's ``mutUniform`` and ``cxOnePoint`` applied to
them, as evolution would make them. Each is evaluated by ``eznas.gp.program.evaluate`` on a
real statistics cache. The script counts exceptions that escape (must be 0), checks that
every result row is either finite or all-NaN (a non-finite score marks the program
invalid), and prints programs/s and the peak RSS. Example (the numbers in the README):

    OMP_NUM_THREADS=1 python experiments/bench_programs.py --programs 10000 --networks 4
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from deap import gp

from eznas.gp.fitness import load_pair
from eznas.gp.program import KINDS, compile_tree, evaluate, make_pset
from eznas.stats import collect

GENERATORS = (gp.genFull, gp.genGrow, gp.genHalfAndHalf)


def random_programs(n: int, seed: int, max_depth: int = 10) -> list[gp.PrimitiveTree]:
    """``n`` trees: a third fresh from DEAP's generators at depths 1..max_depth, a third
    mutated and a third crossed (DEAP's own operators), all seeded."""
    rng = random.Random(seed)
    random.seed(seed)  # DEAP's generators and operators draw from the module RNG
    pset = make_pset()
    trees: list[gp.PrimitiveTree] = []
    while len(trees) < n:
        depth = rng.randint(1, max_depth)
        make = rng.choice(GENERATORS)
        tree = gp.PrimitiveTree(make(pset, min_=depth, max_=depth))
        roll = rng.random()
        if roll < 1 / 3 and trees:
            (tree,) = gp.mutUniform(tree, lambda pset, type_: gp.genFull(pset, 0, 2), pset)
        elif roll < 2 / 3 and trees:
            other = gp.PrimitiveTree(rng.choice(trees))
            tree, _ = gp.cxOnePoint(gp.PrimitiveTree(tree), other)
        trees.append(tree)
    return trees


def check(trees: list[gp.PrimitiveTree], blocks, chunk: int = 50) -> dict:
    """Evaluate in chunks; count escaped exceptions and rows mixing finite and non-finite."""
    escaped, mixed, valid = [], 0, 0
    pset = make_pset()
    started = time.perf_counter()
    for start in range(0, len(trees), chunk):
        part = trees[start : start + chunk]
        try:
            programs = [compile_tree(str(t), pset) for t in part]
            scores = evaluate(programs, blocks)
        except Exception as err:  # noqa: BLE001  (counting what escapes is the point)
            escaped.append(f"{type(err).__name__}: {err}"[:200])
            continue
        finite = np.isfinite(scores)
        mixed += int((finite.any(1) & ~finite.all(1)).sum())
        mixed += int((~finite.all(1) & ~np.isnan(scores).all(1)).sum())
        valid += int(finite.all(1).sum())
    seconds = time.perf_counter() - started
    return {
        "programs": len(trees),
        "escaped": escaped,
        "mixed_rows": mixed,
        "valid": valid,
        "seconds": seconds,
        "per_second": len(trees) / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--networks", type=int, default=4)
    parser.add_argument("--dataset", default="ImageNet16-120")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stats", default=None, help="an existing cache (default: collect one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.stats or collect(
            "nb201", args.dataset, n=args.networks, seed=args.seed, out=Path(tmp), progress=False
        )
        pair = load_pair(str(path), None, KINDS, n_task=args.networks, seed=args.seed)
    blocks = pair.blocks
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"statistics: {blocks.n_networks} NB201 {args.dataset} networks, "
        f"{sum(len(g.net) for g in blocks.groups)} blocks; RSS after loading {rss:.0f} MB"
    )
    trees = random_programs(args.programs, args.seed)
    sizes = [len(t) for t in trees]
    print(
        f"programs: {len(trees)}, nodes min/median/max {min(sizes)}/{int(np.median(sizes))}/"
        f"{max(sizes)}, height max {max(t.height for t in trees)}"
    )
    result = check(trees, blocks)
    print(
        f"escaped exceptions: {len(result['escaped'])}; rows mixing finite and non-finite: "
        f"{result['mixed_rows']}; valid {result['valid']} of {result['programs']}; "
        f"{result['per_second']:.0f} programs/s ({result['seconds']:.0f} s); "
        f"peak RSS {result['peak_rss_mb']:.0f} MB"
    )
    for line in result["escaped"][:10]:
        print("  " + line)


if __name__ == "__main__":
    main()
