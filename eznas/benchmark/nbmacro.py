"""NAS-Bench-Macro ground truth (``nas-bench-macro_cifar10.json`` in the data folder)."""

from __future__ import annotations

import json
import os

import numpy as np

from eznas.benchmark.table import AccuracyTable, register_table
from eznas.paths import find_data
from eznas.spaces.nbmacro import NBMacroSpace

NBMACRO_JSON = "nas-bench-macro_cifar10.json"


def nbmacro_entries(data_dir: str | os.PathLike | None = None) -> dict[str, dict]:
    """The file as it is: {key: {test_acc: [3 runs], mean_acc, std, params, flops}}.

    ``params`` counts parameters (units, not millions); ``flops`` counts the multiply-adds
    of convolutions and of the classifier's weights only (no BN, ReLU, pooling or biases).
    """
    return json.loads(find_data(NBMACRO_JSON, data_dir).read_text())


@register_table("nbmacro")
def nbmacro_table(data_dir: str | os.PathLike | None = None) -> AccuracyTable:
    """CIFAR-10 test accuracy (%) averaged over the benchmark's three trainings
    (``mean_acc``), all 6,561 archs, row i = the space's i-th arch (keys ascending).
    The single runs are in ``nbmacro_entries``. Equivalent keys share their accuracy, so
    the optimum (93.13 %) is held by the published ``22212220`` and by ``22212202``, which
    comes first in this order."""
    entries = nbmacro_entries(data_dir)
    archs = list(NBMacroSpace())
    missing = [a for a in archs if a not in entries]
    if missing or len(entries) != len(archs):
        raise ValueError(
            f"{NBMACRO_JSON}: {len(entries)} entries, {len(missing)} of the space's "
            f"{len(archs)} archs missing (first: {missing[:3]})"
        )
    accuracy = np.array([entries[a]["mean_acc"] for a in archs])
    return AccuracyTable(
        archs, {"cifar10": accuracy}, source=str(find_data(NBMACRO_JSON, data_dir))
    )
