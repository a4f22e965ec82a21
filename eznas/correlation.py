"""Correlation reports: score sampled networks with proxies and rank them against truth."""

from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

from eznas.benchmark import AccuracyTable, load_table
from eznas.data import data_batch
from eznas.metrics import COLUMNS, Correlation, correlate
from eznas.progress import Progress
from eznas.proxies import PROXIES, get_proxy
from eznas.spaces import get_space


@dataclass
class CorrelationReport:
    space: str
    dataset: str
    seed: int
    indices: np.ndarray
    accuracies: np.ndarray
    scores: dict[str, np.ndarray]
    seconds: dict[str, float]  # seconds per network, per proxy
    input_source: str = ""
    results: dict[str, Correlation] = field(init=False)

    def __post_init__(self):
        self.results = {p: correlate(s, self.accuracies) for p, s in self.scores.items()}

    def rows(self) -> list[dict]:
        return [
            {"proxy": p, **r.as_dict(), "sec_per_net": self.seconds[p]}
            for p, r in self.results.items()
        ]

    def markdown(self) -> str:
        head = ["proxy", *COLUMNS, "sec_per_net"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.rows():
            cells = [_fmt(row[h]) for h in head]
            lines.append("| " + " | ".join(cells) + " |")
        title = (
            f"{self.space} / {self.dataset}: {len(self.indices)} networks, seed {self.seed}"
            f"; inputs: {self.input_source or 'none'}"
        )
        return title + "\n\n" + "\n".join(lines) + "\n"

    def save(self, folder: str | os.PathLike) -> tuple[Path, Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"correlation-{self.space}-{self.dataset}-n{len(self.indices)}-s{self.seed}"
        csv_path, md_path = stem.with_suffix(".csv"), stem.with_suffix(".md")
        with csv_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(self.rows()[0]))
            writer.writeheader()
            writer.writerows(self.rows())
        md_path.write_text(self.markdown())
        return csv_path, md_path


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if np.isnan(value) else f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def sample_indices(table: AccuracyTable, n: int | None, seed: int) -> np.ndarray:
    """``n`` distinct benchmark indices drawn by ``seed`` (all of them, sorted, if n is None)."""
    if n is None or n >= len(table):
        return np.arange(len(table))
    if n < 2:
        raise ValueError(f"need at least 2 networks to correlate, got n={n}")
    return np.sort(np.random.default_rng(seed).choice(len(table), size=n, replace=False))


def _score_chunk(space_name, archs, dataset, proxy_names, inputs, labels, seed):
    space = get_space(space_name)
    scores = np.empty((len(archs), len(proxy_names)))
    seconds = np.zeros(len(proxy_names))
    for i, arch in enumerate(archs):
        for j, name in enumerate(proxy_names):
            proxy = get_proxy(name)
            start = time.perf_counter()
            torch.manual_seed(seed)
            model = space.build(arch, dataset)
            batch = inputs[: proxy.batch_size] if inputs is not None else None
            lab = labels[: proxy.batch_size] if labels is not None else None
            scores[i, j] = proxy.score(model, batch, lab, seed=seed, arch=arch, space=space)
            seconds[j] += time.perf_counter() - start
    return scores, seconds


def run_correlation(
    space: str = "nb201",
    dataset: str = "cifar10",
    proxies: list[str] | tuple[str, ...] = ("params", "flops"),
    n: int | None = 1000,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    jobs: int = 1,
    progress: bool = True,
) -> CorrelationReport:
    """Score ``n`` seeded-sampled networks with each proxy and correlate with test accuracy."""
    names = sorted(PROXIES) if list(proxies) == ["all"] else list(proxies)
    for name in names:
        get_proxy(name)
    table = load_table(space, data_dir)
    if dataset not in table.datasets:
        raise ValueError(
            f"dataset {dataset!r} not in ground truth; has: {', '.join(table.datasets)}"
        )
    indices = sample_indices(table, n, seed)
    archs = [table.arch(int(i)) for i in indices]
    needs_data = [get_proxy(p) for p in names if get_proxy(p).needs_data]
    inputs = labels = None
    source = ""
    if needs_data:
        batch_size = max(p.batch_size for p in needs_data)
        inputs, labels, source = data_batch(dataset, batch_size, seed, data_dir)
    chunks = [archs[i : i + 50] for i in range(0, len(archs), 50)]
    parts = []
    meter = Progress(len(archs), "networks scored", enabled=progress)
    with Parallel(n_jobs=jobs, return_as="generator") as parallel:
        calls = (
            delayed(_score_chunk)(space, c, dataset, names, inputs, labels, seed) for c in chunks
        )
        for part in parallel(calls):
            parts.append(part)
            meter.update(len(part[0]))
    meter.close()
    scores = np.concatenate([p[0] for p in parts])
    seconds = np.sum([p[1] for p in parts], axis=0) / len(archs)
    return CorrelationReport(
        space=space,
        dataset=dataset,
        seed=seed,
        indices=indices,
        accuracies=table.column(dataset)[indices],
        scores={p: scores[:, j] for j, p in enumerate(names)},
        seconds={p: float(seconds[j]) for j, p in enumerate(names)},
        input_source=source,
    )
