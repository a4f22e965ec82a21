"""Params (and FLOPs) of our NAS-Bench-Macro and NB101 builders against every labelled arch.

Usage: python experiments/space_params_check.py [--data DIR] [--space nbmacro nb101]
NAS-Bench-Macro: all 6,561 keys; ``params`` is a plain count, ``flops`` the multiply-adds
of convs and of the classifier's weights, which ``macs`` below recounts exactly; our
``flops`` proxy (cost.py convention: also BN, ReLU, pooling) is compared by Spearman and
ratio. NB101: all 500 NAS-Bench-Suite-Zero keys, ``params`` and ``flops`` in millions.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from eznas.benchmark.nb101 import nb101_entries
from eznas.benchmark.nbmacro import nbmacro_entries
from eznas.spaces import get_space
from eznas.spaces.cost import count_flops


def macs(model: nn.Module, size: int = 32) -> int:
    """Multiply-adds of Conv2d and Linear weights on one image (NAS-Bench-Macro's count)."""
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kernel = module.kernel_size[0] * module.kernel_size[1]
            total += output[0].numel() * kernel * module.in_channels // module.groups
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return total


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_nbmacro(data_dir: str | None) -> None:
    space = get_space("nbmacro")
    entries = nbmacro_entries(data_dir)
    start = time.perf_counter()
    params_ok = macs_ok = 0
    ours, theirs, mismatches = [], [], []
    for arch in space:
        model = space.build(arch, "cifar10")
        entry = entries[arch]
        params_ok += count(model) == entry["params"]
        macs_ok += macs(model) == entry["flops"]
        if count(model) != entry["params"]:
            mismatches.append(arch)
        ours.append(count_flops(model, (3, 32, 32)))
        theirs.append(entry["flops"] / 1e6)
    ours_a, theirs_a = np.array(ours), np.array(theirs)
    ratio = ours_a / theirs_a
    n = len(space)
    print(
        f"nbmacro: params exact {params_ok}/{n}; conv+linear MACs equal to file flops "
        f"{macs_ok}/{n}; first mismatches {mismatches[:5]}"
    )
    print(
        f"nbmacro: flops proxy vs file: Spearman {spearmanr(ours_a, theirs_a).statistic:.6f}, "
        f"ratio ours/file min {ratio.min():.4f} mean {ratio.mean():.4f} max {ratio.max():.4f}"
        f" ({time.perf_counter() - start:.0f} s)"
    )


def check_nb101(data_dir: str | None) -> None:
    space = get_space("nb101")
    entries = nb101_entries(data_dir)
    start = time.perf_counter()
    params_ok = 0
    diffs, ours, theirs = [], [], []
    for arch, entry in entries:
        model = space.build(arch, "cifar10")
        params = count(model)
        params_ok += params == round(entry["params"] * 1e6)
        diffs.append(abs(params / 1e6 - entry["params"]))
        ours.append(count_flops(model, (3, 32, 32)))
        theirs.append(entry["flops"])
    ours_a, theirs_a = np.array(ours), np.array(theirs)
    ratio = ours_a / theirs_a
    print(
        f"nb101: params exact {params_ok}/{len(entries)} (max |diff| {max(diffs):.6f} M); "
        f"{len(set(a for a, _ in entries))} distinct pruned archs"
    )
    print(
        f"nb101: flops proxy vs file: Spearman {spearmanr(ours_a, theirs_a).statistic:.6f}, "
        f"ratio ours/file min {ratio.min():.4f} mean {ratio.mean():.4f} max {ratio.max():.4f}"
        f" ({time.perf_counter() - start:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--space", nargs="+", default=["nbmacro", "nb101"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    checks = {"nbmacro": check_nbmacro, "nb101": check_nb101}
    for name in args.space:
        checks[name](args.data)


if __name__ == "__main__":
    main()
