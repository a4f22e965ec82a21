"""Adapter for users holding an official NATS-Bench TSS file (not exercised here: no file).

``nats_bench.create(path, 'tss', fast_mode=True)`` opens the benchmark lazily; we read the
200-epoch test accuracy averaged over seeds, the same numbers nb201_accuracies.csv holds.
"""

from __future__ import annotations

import os

import numpy as np

from eznas.benchmark.table import AccuracyTable

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def table_from_natsbench(path: str | os.PathLike) -> AccuracyTable:
    """Build the full TSS AccuracyTable from a NATS-Bench file or folder (slow: 15,625 reads)."""
    from nats_bench import create

    api = create(str(path), "tss", fast_mode=True, verbose=False)
    archs = [api.arch(i) for i in range(len(api))]
    acc = {
        ds: np.array(
            [
                api.get_more_info(i, ds, hp="200", is_random=False)["test-accuracy"]
                for i in range(len(api))
            ]
        )
        for ds in DATASETS
    }
    return AccuracyTable(archs, acc, source=str(path))
