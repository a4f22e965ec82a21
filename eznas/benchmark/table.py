"""Ground-truth accuracy tables: the NB201 CSV format and its AccuracyTable interface."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eznas.errors import UnknownKeyError
from eznas.paths import find_data

NB201_CSV = "nb201_accuracies.csv"


class AccuracyTable:
    """Test accuracy (%) of every architecture of a space, per dataset.

    Rows are addressed by benchmark index (row i is NATS-Bench index i for NB201) or by
    arch string; ``archs`` lists the strings in index order.
    """

    def __init__(self, archs: list[str], accuracies: dict[str, np.ndarray], source: str = ""):
        self._archs = list(archs)
        self._index = {a: i for i, a in enumerate(self._archs)}
        if len(self._index) != len(self._archs):
            raise ValueError(f"duplicate arch strings in accuracy table {source}")
        for name, values in accuracies.items():
            if len(values) != len(self._archs):
                raise ValueError(f"column {name!r} has {len(values)} rows, expected {len(archs)}")
        self._acc = {k: np.asarray(v, dtype=np.float64) for k, v in accuracies.items()}
        self.source = source

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> AccuracyTable:
        """Read ``index,arch,<dataset>...`` rows; ``index`` must run 0..n-1 in order."""
        path = Path(path)
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            if header[:2] != ["index", "arch"] or len(header) < 3:
                raise ValueError(
                    f"{path}: header {header!r} must start with 'index,arch' and name datasets"
                )
            rows = list(reader)
        archs = []
        columns = np.empty((len(rows), len(header) - 2))
        for i, row in enumerate(rows):
            if int(row[0]) != i:
                raise ValueError(f"{path}: row {i + 2} has index {row[0]}, expected {i}")
            archs.append(row[1])
            columns[i] = [float(x) for x in row[2:]]
        acc = {name: columns[:, j] for j, name in enumerate(header[2:])}
        return cls(archs, acc, source=str(path))

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(self._acc)

    def __len__(self) -> int:
        return len(self._archs)

    def archs(self) -> list[str]:
        return list(self._archs)

    def index(self, arch: str) -> int:
        try:
            return self._index[arch]
        except KeyError:
            raise UnknownKeyError(
                f"arch {arch!r} is not in the accuracy table {self.source}"
            ) from None

    def arch(self, index: int) -> str:
        if not 0 <= index < len(self._archs):
            raise IndexError(f"index {index} out of range 0..{len(self._archs) - 1}")
        return self._archs[index]

    def column(self, dataset: str) -> np.ndarray:
        try:
            return self._acc[dataset]
        except KeyError:
            raise ValueError(
                f"dataset {dataset!r} not in table {self.source}; has: {', '.join(self._acc)}"
            ) from None

    def accuracy(self, arch_or_index: str | int, dataset: str) -> float:
        """Test accuracy (%) by arch string or benchmark index."""
        i = (
            arch_or_index
            if isinstance(arch_or_index, int | np.integer)
            else self.index(arch_or_index)
        )
        return float(self.column(dataset)[i])

    def optimum(self, dataset: str) -> tuple[str, float]:
        """The best arch of ``dataset`` and its accuracy."""
        col = self.column(dataset)
        best = int(np.argmax(col))
        return self._archs[best], float(col[best])


TableLoader = Callable[[str | os.PathLike | None], AccuracyTable]
TABLES: dict[str, TableLoader] = {}
"""Space name -> reader of that space's ground truth from the data folder."""


def register_table(space: str) -> Callable[[TableLoader], TableLoader]:
    """Decorator registering ``fn(data_dir) -> AccuracyTable`` as the ground truth of ``space``."""

    def add(fn: TableLoader) -> TableLoader:
        if space in TABLES:
            raise ValueError(f"ground truth for {space!r} is already registered")
        TABLES[space] = fn
        return fn

    return add


@register_table("nb201")
def nb201_table(data_dir: str | os.PathLike | None = None) -> AccuracyTable:
    """NATS-Bench TSS test accuracies (``nb201_accuracies.csv``), row i = index i."""
    return AccuracyTable.from_csv(find_data(NB201_CSV, data_dir))


def load_table(
    space: str = "nb201", data_dir: str | os.PathLike | None = None, path: str | None = None
) -> AccuracyTable:
    """The ground truth of ``space``: an explicit CSV/NATS file, else the data folder's."""
    if path is not None:
        if str(path).endswith(".csv"):
            return AccuracyTable.from_csv(path)
        from eznas.benchmark.natsbench import table_from_natsbench

        return table_from_natsbench(path)
    if space not in TABLES:
        known = ", ".join(sorted(TABLES))
        raise ValueError(f"no ground-truth table known for space {space!r}; known: {known}")
    return TABLES[space](data_dir)
