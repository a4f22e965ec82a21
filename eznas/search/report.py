"""Multi-run summaries: mean +- std test accuracy next to the optimum, cold and warm time."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eznas.search.base import SearchResult

CSV_FIELDS = (
    "label", "algo", "dataset", "seed", "arch", "accuracy", "evaluated",
    "cold_seconds", "wall_seconds", "hits", "misses",
)  # fmt: skip


@dataclass
class SearchSummary:
    """The runs of one algorithm on one dataset."""

    label: str
    dataset: str
    results: list[SearchResult]
    optimum: float

    def _values(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.results], dtype=float)

    @property
    def accuracy(self) -> tuple[float, float]:
        acc = self._values("accuracy")
        return float(acc.mean()), float(acc.std())

    @property
    def cache_state(self) -> str:
        hits, misses = self._values("hits").sum(), self._values("misses").sum()
        if misses == 0:
            return "warm" if hits else "no proxy"
        return "cold" if hits == 0 else f"{100 * hits / (hits + misses):.0f}% cached"

    def cell(self) -> str:
        mean, std = self.accuracy
        return f"{mean:.2f} +- {std:.2f}"

    def text(self) -> str:
        mean, std = self.accuracy
        return (
            f"{self.label} on {self.dataset}: {mean:.2f} +- {std:.2f} over {len(self.results)} "
            f"runs (optimum {self.optimum:.2f}); archs {self._values('evaluated').mean():.0f}; "
            f"cold {self._values('seconds').mean():.1f} s/run, wall "
            f"{self._values('wall').mean():.1f} s/run ({self.cache_state})"
        )

    def rows(self) -> list[dict]:
        return [{"label": self.label, **r.as_dict()} for r in self.results]


def _joined(cells: list[str]) -> str:
    """One value when every dataset agrees (searched once, scored on all), else a/b/c."""
    return cells[0] if len(set(cells)) == 1 else " / ".join(cells)


def markdown_table(summaries: Sequence[SearchSummary]) -> str:
    """Rows = labels, columns = datasets (accuracy), plus mean cold/wall seconds per run."""
    datasets = list(dict.fromkeys(s.dataset for s in summaries))
    labels = list(dict.fromkeys(s.label for s in summaries))
    by = {(s.label, s.dataset): s for s in summaries}
    head = ["algorithm", *datasets, "runs", "archs/run", "cold s/run", "wall s/run", "cache"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    optimum = {s.dataset: s.optimum for s in summaries}
    lines.append("| optimum | " + " | ".join(f"{optimum[d]:.2f}" for d in datasets) + " |")
    for label in labels:
        row = [by[label, d] for d in datasets if (label, d) in by]
        cells = [by[label, d].cell() if (label, d) in by else "" for d in datasets]

        def per_dataset(name: str, fmt: str, row=row) -> str:
            return _joined([format(s._values(name).mean(), fmt) for s in row])

        runs = _joined([str(len(s.results)) for s in row])
        states = _joined([s.cache_state for s in row])
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {runs} | {per_dataset('evaluated', '.0f')}"
            f" | {per_dataset('seconds', '.1f')} | {per_dataset('wall', '.1f')} | {states} |"
        )
    return "\n".join(lines) + "\n"


def save_runs(summaries: Sequence[SearchSummary], path: str | os.PathLike) -> Path:
    """Every run of every summary as one CSV row."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for summary in summaries:
            writer.writerows(summary.rows())
    return path
