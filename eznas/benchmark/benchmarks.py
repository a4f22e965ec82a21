"""A benchmark = a ground-truth table plus the space that builds its archs.

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
    name: str
    space: SearchSpace
    table: AccuracyTable
    info: dict = field(default_factory=dict)  # the sidecar: recipe, command, noise ceiling

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.table.datasets


def space_and_table(
    space: str | SearchSpace,
    table: AccuracyTable | None = None,
    data_dir: str | os.PathLike | None = None,
) -> tuple[SearchSpace, AccuracyTable]:
    """A space instance and its ground truth: ``table`` when given, else the space's own."""
    space = get_space(space) if isinstance(space, str) else space
    return space, load_table(space.name, data_dir) if table is None else table


def shipped_benchmarks() -> list[str]:
    """Names of the benchmarks inside the package."""
    return sorted(p.stem for p in SHIPPED.glob("*.csv"))


def open_benchmark(name: str, data_dir: str | os.PathLike | None = None) -> Benchmark:
    """``"nb201"``, a shipped benchmark's name, or a CSV path with its ``.json`` sidecar."""
    if name in TABLES:
        table = load_table(name, data_dir)
        space = get_space(name)
        space = space if _covers(space, table) else TableSpace(space, table.archs())
        return Benchmark(name, space, table, {"source": table.source})
    path = SHIPPED / f"{name}.csv" if name in shipped_benchmarks() else Path(name)
    if not path.is_file():
        raise ValueError(
            f"unknown benchmark {name!r}: not 'nb201', not shipped "
            f"({', '.join(shipped_benchmarks())}) and no such CSV file"
        )
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text()) if sidecar.is_file() else {"space": "nb201"}
    base = get_space(info.get("space", "nb201"), **info.get("space_options", {}))
    table = AccuracyTable.from_csv(path)
    space = base if _covers(base, table) else TableSpace(base, table.archs())
    return Benchmark(path.stem, space, table, info)


def _covers(space: SearchSpace, table: AccuracyTable) -> bool:
    try:
        return len(table) >= len(space)
    except TypeError:  # an infinite space
        return False
