"""Parameter counts (and FLOPs) of our NB301 networks against NAS-Bench-Suite-Zero's 725.

Usage: OMP_NUM_THREADS=1 python experiments/nb301_params_check.py [--data DIR]
The reference stores params in millions rounded to 6 decimals, i.e. exact integer counts;
prints how many of the 725 networks match exactly, the distribution of the differences
(ours - reference, in parameters), the FLOPs agreement (our counting convention, see
``eznas.proxies.cost``) and the number of distinct isomorphism keys. Exits 1 on any
parameter mismatch.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import numpy as np
from scipy.stats import spearmanr

from eznas.benchmark.nb301 import load_nb301_reference
from eznas.spaces import get_space
from eznas.spaces.cost import count_flops, count_params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    space = get_space("nb301")
    reference = load_nb301_reference(args.data)
    start = time.perf_counter()
    diffs, ours_flops, their_flops = [], [], []
    for arch, entry in reference.items():
        model = space.build(arch, "cifar10")
        diffs.append(round(count_params(model) * 1e6) - round(entry["params"]["score"] * 1e6))
        ours_flops.append(count_flops(model, (3, 32, 32)))
        their_flops.append(entry["flops"]["score"])
    seconds = (time.perf_counter() - start) / len(reference)
    exact = sum(d == 0 for d in diffs)
    print(f"params exact: {exact} / {len(reference)} networks (units: parameters)")
    print(f"differences (ours - reference: count): {dict(sorted(Counter(diffs).items()))}")
    ours, theirs = np.array(ours_flops), np.array(their_flops)
    rel = np.abs(ours - theirs) / theirs
    print(
        f"FLOPs (M): Spearman {spearmanr(ours, theirs)[0]:.6f}, relative difference "
        f"median {np.median(rel):.4f} max {rel.max():.4f}, ours/reference mean "
        f"{np.mean(ours / theirs):.4f}"
    )
    keys = len({space.key(arch) for arch in reference})
    print(f"distinct isomorphism keys: {keys}; seconds per network (build + count): {seconds:.3f}")
    return 0 if exact == len(reference) else 1


if __name__ == "__main__":
    sys.exit(main())
