"""NAS-Bench-101 ground truth: the 500 archs NAS-Bench-Suite-Zero published with scores.

The file's 500 keys are random 7 x 7 specs, not distinct cells: pruned they are 301
different arch strings and 292 different cells (NB101 graph hashes); a cell listed twice
carries one of NB101's three trainings per listing (e.g. the bare input -> output cell
appears 55 times with 83.16, 83.46 or 83.58 %). The table therefore has one row per cell.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import numpy as np

from eznas.benchmark.table import AccuracyTable, register_table
from eznas.paths import find_data
from eznas.spaces.nb101 import canonical_spec, from_naslib, graph_hash

NB101_REFERENCE = "../reference/naslib_zc_nasbench101.json"


def nb101_entries(data_dir: str | os.PathLike | None = None) -> list[tuple[str, dict]]:
    """(canonical NB101 arch, entry) for each of the file's 500 keys, in file order; an
    entry holds ``val_accuracy`` (%), ``params`` (millions), ``flops`` (millions) and
    NASLib's proxy scores as plain numbers."""
    raw = json.loads(find_data(NB101_REFERENCE, data_dir).read_text())
    return [(from_naslib(key), entry) for key, entry in raw["nasbench101"]["cifar10"].items()]


@register_table("nb101")
def nb101_table(data_dir: str | os.PathLike | None = None) -> AccuracyTable:
    """CIFAR-10 *validation* accuracy (%) after 108 epochs (NAS-Bench-Suite-Zero's
    ``val_accuracy``) of the file's 292 distinct NB101 cells, each the mean over the
    file's listings of that cell, named by its first listing, in order of first listing.
    Not test accuracy, and a sample of NB101: searches stay inside it."""
    cells: dict[str, list[float]] = defaultdict(list)
    names: dict[str, str] = {}
    for arch, entry in nb101_entries(data_dir):
        cell = graph_hash(*canonical_spec(arch))
        names.setdefault(cell, arch)
        cells[cell].append(entry["val_accuracy"])
    accuracy = np.array([np.mean(values) for values in cells.values()])
    source = str(find_data(NB101_REFERENCE, data_dir))
    return AccuracyTable(list(names.values()), {"cifar10": accuracy}, source=source)
