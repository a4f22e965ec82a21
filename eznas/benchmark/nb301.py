"""NB301 ground truth: the 725 DARTS-space archs of NAS-Bench-Suite-Zero.

Their ``val_accuracy`` is not measured: NAS-Bench-Suite-Zero queried NAS-Bench-301's
surrogate model (v1.0) for it, so every NB301 result built on this table is relative to the
surrogate's prediction of CIFAR-10 validation accuracy.
"""

from __future__ import annotations

import json
import os

from eznas.benchmark.table import AccuracyTable, register_table
from eznas.paths import find_data
from eznas.spaces.nb301 import format_arch, parse_arch

NB301_REFERENCE = "../reference/naslib_zc_nasbench301.json"
"""NAS-Bench-Suite-Zero's NB301 file, beside the data folder in ``../shared/reference``."""


def load_nb301_reference(data_dir: str | os.PathLike | None = None) -> dict[str, dict]:
    """{canonical NB301 arch string: NAS-Bench-Suite-Zero entry} of the 725 CIFAR-10 archs."""
    raw = json.loads(find_data(NB301_REFERENCE, data_dir).read_text())["cifar10"]
    return {format_arch(*parse_arch(key)): entry for key, entry in raw.items()}


@register_table("nb301")
def nb301_table(data_dir: str | os.PathLike | None = None) -> AccuracyTable:
    """CIFAR-10 validation accuracy (%) predicted by NB301's surrogate v1.0 (via
    NAS-Bench-Suite-Zero) for its 725 archs, in the file's order."""
    reference = load_nb301_reference(data_dir)
    accuracy = [entry["val_accuracy"] for entry in reference.values()]
    path = find_data(NB301_REFERENCE, data_dir)
    return AccuracyTable(list(reference), {"cifar10": accuracy}, source=str(path))
