"""Params/FLOPs of our NB201 networks against NAS-Bench-Suite-Zero's reference numbers.

Usage: python experiments/nb201_cost_agreement.py [--data DIR]
Prints, per dataset, the largest |params diff| (M), the FLOPs Spearman rho, the largest
FLOPs relative difference, and the unique-cell count of the isomorphism key.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.stats import spearmanr

from eznas.paths import find_data
from eznas.spaces import get_space
from eznas.spaces.cost import count_flops, count_params
from eznas.spaces.nb201 import format_arch

NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
SIZES = {"cifar10": 32, "cifar100": 32, "ImageNet16-120": 16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    space = get_space("nb201")
    reference = json.loads(
        find_data("../reference/naslib_zc_nasbench201.json", args.data).read_text()
    )
    print("| dataset | archs | max abs params diff (M) | FLOPs Spearman | max FLOPs rel diff |")
    print("|---|---|---|---|---|")
    for dataset, entries in reference.items():
        start = time.perf_counter()
        params_diff, ours, theirs = [], [], []
        for key, entry in entries.items():
            arch = format_arch([NASLIB_OPS[int(c)] for c in key.strip("()").split(",")])
            model = space.build(arch, dataset)
            params_diff.append(abs(count_params(model) - entry["params"]["score"]))
            ours.append(count_flops(model, (3, SIZES[dataset], SIZES[dataset])))
            theirs.append(entry["flops"]["score"])
        ours, theirs = np.array(ours), np.array(theirs)
        print(
            f"| {dataset} | {len(entries)} | {max(params_diff):.2e} | "
            f"{spearmanr(ours, theirs).statistic:.5f} | {np.max(np.abs(ours / theirs - 1)):.2e} |"
            f"  ({time.perf_counter() - start:.0f}s)"
        )
    print(f"unique cells by SearchSpace.key: {len({space.key(a) for a in space})} of {len(space)}")


if __name__ == "__main__":
    main()
