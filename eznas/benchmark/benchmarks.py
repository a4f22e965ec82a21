"""A benchmark = a ground-truth table, the space that builds its archs, and where data lives.

Every stage (collect, correlate, search, held-out tests, the demo) takes one ``Benchmark``
(or a name that opens one), so the space, its ground truth and the data folder are resolved
once and travel together.

Three kinds open the same way: ``"nb201"`` (NATS-Bench TSS from the data folder), a
benchmark shipped inside the package (``eznas/bench/data/<name>.csv``, built by
``eznas bench build``), or any CSV with the JSON sidecar that ``bench build`` writes. The
sidecar names the space and its options; when the table holds only a sample of the space,
the space is restricted to it (``TableSpace``) so searches propose only archs with known
accuracy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from eznas.benchmark.table import TABLES, AccuracyTable, load_table
from eznas.spaces import SearchSpace, get_space
from eznas.spaces.table import TableSpace

SHIPPED = Path(__file__).resolve().parent.parent / "bench" / "data"
DEFAULT_SHIPPED = "nb201-c8n1-digits"


@dataclass
class Benchmark:
    """What a stage needs to know about a benchmark; ``data_dir`` is where its images are
    read from (None: ``$EZNAS_DATA``, else ``../shared/data``)."""

    name: str
    space: SearchSpace
    table: AccuracyTable
    data_dir: str | os.PathLike | None = None
    info: dict = field(default_factory=dict)  # the sidecar: recipe, command, noise ceiling

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.table.datasets

    def dataset(self, name: str | None = None) -> str:
        """``name`` checked against the ground truth's datasets (default: its first)."""
        if name is None:
            return self.datasets[0]
        if name not in self.datasets:
            raise ValueError(
                f"dataset {name!r} not in benchmark {self.name!r}; has: {', '.join(self.datasets)}"
            )
        return name


def as_benchmark(benchmark: Benchmark | str) -> Benchmark:
    """A Benchmark as given, or opened by name (data from the default location)."""
    return open_benchmark(benchmark) if isinstance(benchmark, str) else benchmark


def shipped_benchmarks() -> list[str]:
    """Names of the benchmarks inside the package."""
    return sorted(p.stem for p in SHIPPED.glob("*.csv"))


def open_benchmark(name: str, data_dir: str | os.PathLike | None = None) -> Benchmark:
    """A space with registered ground truth (``"nb201"``...), a shipped benchmark's name, or a
    CSV path with its ``.json`` sidecar; images and tables are read from ``data_dir``."""
    if name in TABLES:
        table = load_table(name, data_dir)
        space = get_space(name)
        space = space if _covers(space, table) else TableSpace(space, table.archs())
        return Benchmark(name, space, table, data_dir, {"source": table.source})
    path = SHIPPED / f"{name}.csv" if name in shipped_benchmarks() else Path(name)
    if not path.is_file():
        raise ValueError(
            f"unknown benchmark {name!r}: not a space with ground truth "
            f"({', '.join(sorted(TABLES))}), not shipped ({', '.join(shipped_benchmarks())}) "
            "and no such CSV file"
        )
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text()) if sidecar.is_file() else {"space": "nb201"}
    base = get_space(info.get("space", "nb201"), **info.get("space_options", {}))
    table = AccuracyTable.from_csv(path)
    space = base if _covers(base, table) else TableSpace(base, table.archs())
    return Benchmark(path.stem, space, table, data_dir, info)


def _covers(space: SearchSpace, table: AccuracyTable) -> bool:
    try:
        return len(table) >= len(space)
    except TypeError:  # an infinite space
        return False
