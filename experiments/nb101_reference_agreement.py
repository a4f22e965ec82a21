"""Spearman agreement of our NB101 proxy scores with NAS-Bench-Suite-Zero's, key by key.

Usage: python experiments/nb101_reference_agreement.py [--data DIR] [--proxy ...]
       [--sample N] [--cheap params flops synflow]
The reference file's 500 keys prune to 301 arch strings; each string is scored once
(seed 0, CIFAR-10 batch of the proxy's default size) and compared with the reference's
score of every key naming it. Proxies in ``--cheap`` use all 500 keys, the others the
keys of ``--sample`` arch strings drawn by seed 0 (an NB101 network takes 10-30 s per
gradient proxy on one CPU thread).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from eznas.benchmark.nb101 import nb101_entries
from eznas.correlation import REFERENCE_NAMES
from eznas.metrics import spearman
from eznas.proxies.scoring import Scorer
from eznas.spaces import get_space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument(
        "--proxy", nargs="+", default=["params", "flops", "synflow", "snip", "grad_norm"]
    )
    parser.add_argument("--cheap", nargs="+", default=["params", "flops", "synflow"])
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument(
        "--score-cache", dest="cache", default=None, help="score cache file (shared with correlate)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    entries = nb101_entries(args.data)
    archs = sorted({arch for arch, _ in entries})
    rng = np.random.default_rng(0)
    sampled = set(rng.choice(archs, size=min(args.sample, len(archs)), replace=False).tolist())
    scorer = Scorer(get_space("nb101"), "cifar10", seed=0, data_dir=args.data, cache=args.cache)
    print("| proxy | reference name | keys | arch strings scored | Spearman | s per network |")
    print("|---|---|---|---|---|---|")
    for name in args.proxy:
        theirs_name = REFERENCE_NAMES[name]
        wanted = archs if name in args.cheap else sorted(sampled)
        start = time.perf_counter()
        ours = {arch: scorer(arch, name) for arch in wanted}
        seconds = (time.perf_counter() - start) / len(wanted)
        keys = [(arch, entry[theirs_name]) for arch, entry in entries if arch in ours]
        rho = spearman(np.array([ours[a] for a, _ in keys]), np.array([t for _, t in keys]))
        print(
            f"| {name} | {theirs_name} | {len(keys)} | {len(wanted)} | {rho:.4f} | {seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
