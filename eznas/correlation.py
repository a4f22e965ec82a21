"""Correlation reports: score sampled networks with proxies and rank them against truth."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from eznas.benchmark import AccuracyTable
from eznas.benchmark.benchmarks import Benchmark, as_benchmark
from eznas.data import data_batch
from eznas.metrics import COLUMNS, Correlation, correlate, spearman
from eznas.paths import find_data
from eznas.proxies import PROXIES, check_spaces, get_proxy
from eznas.proxies.combo import aggregate, is_combo, scored_proxies
from eznas.proxies.scoring import DEFAULT_CACHE, ScoreCache, Scorer


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
    cached: int = 0  # scores answered by the score cache (warm)
    cache: str | os.PathLike | None = None  # where params for plots are looked up
    benchmark: Benchmark | None = None  # the ground truth the indices point into
    # combos' component scores (by proxy name), saved so parts of a split table can be joined
    components: dict[str, np.ndarray] = field(default_factory=dict)
    # which networks, in file names: n{N} for a seeded sample, rows{a}-{b} for given rows, so
    # the parts of a table scored by --indices do not overwrite each other
    networks: str = ""
    results: dict[str, Correlation] = field(init=False)

    def __post_init__(self):
        self.results = {p: correlate(s, self.accuracies) for p, s in self.scores.items()}
        self.networks = self.networks or f"n{len(self.indices)}"

    @property
    def stem(self) -> str:
        return f"{self.space}-{self.dataset}-{self.networks}-s{self.seed}"

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
            f"; inputs: {self.input_source or 'none'}; {self.cached} scores from cache"
        )
        return title + "\n\n" + "\n".join(lines) + "\n"

    def save(self, folder: str | os.PathLike) -> tuple[Path, Path, Path]:
        """The table (CSV and markdown) and every network's scores, so a reader can check the
        table or correlate the scores in another way without scoring again."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"correlation-{self.stem}"
        csv_path, md_path = stem.with_suffix(".csv"), stem.with_suffix(".md")
        scores_path = stem.with_name(stem.name + "-scores.csv")
        with csv_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(self.rows()[0]))
            writer.writeheader()
            writer.writerows(self.rows())
        md_path.write_text(self.markdown())
        table = as_benchmark(self.benchmark or self.space).table
        with scores_path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "arch", "accuracy", *self.scores, *self.components])
            columns = [self.indices, self.accuracies, *self.scores.values()]
            columns += self.components.values()
            for index, *values in zip(*columns, strict=True):
                arch = table.arch(int(index))
                writer.writerow([int(index), arch, *(repr(float(v)) for v in values)])
        return csv_path, md_path, scores_path

    def plot(self, folder: str | os.PathLike) -> list[Path]:
        """One score-vs-accuracy PNG per proxy, dots coloured by parameter count."""
        params = self.scores.get("params")
        if params is None:
            bench = as_benchmark(self.benchmark or self.space)
            scorer = Scorer(bench.space, self.dataset, self.seed, cache=self.cache)
            params = np.array([scorer(bench.table.arch(int(i)), "params") for i in self.indices])
        return [
            plot_scatter(
                scores,
                self.accuracies,
                params,
                Path(folder) / f"scatter-{self.stem}-{Path(name).stem}.png",
                f"{name} / {self.dataset}: n={len(scores)}",
            )
            for name, scores in self.scores.items()
        ]


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


def _score_chunk(space, archs, dataset, proxy_names, seed, data_dir, cache_path, inits, size):
    scorer = Scorer(
        space, dataset, seed, data_dir=data_dir, cache=cache_path, inits=inits, batch_size=size
    )
    scores = np.empty((len(archs), len(proxy_names)))
    seconds = np.zeros(len(proxy_names))
    for i, arch in enumerate(archs):  # network-major: proxies sharing a computation reuse it
        for j, name in enumerate(proxy_names):
            before = scorer.compute_seconds
            scores[i, j] = scorer(arch, name)
            seconds[j] += scorer.compute_seconds - before
    return scores, seconds, scorer.hits


def _with_combos(
    requested: list[str], scored: list[str], scores: np.ndarray, seconds: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Score and seconds columns of the requested proxies; a combo aggregates its components
    over the sampled networks and costs the sum of their seconds."""
    column = {p: j for j, p in enumerate(scored)}
    out_scores, out_seconds = {}, {}
    for name in requested:
        parts = get_proxy(name).components if is_combo(name) else (name,)
        picked = scores[:, [column[p] for p in parts]]
        out_scores[name] = aggregate(name, picked) if is_combo(name) else picked[:, 0]
        out_seconds[name] = float(sum(seconds[column[p]] for p in parts))
    return out_scores, out_seconds


def run_correlation(
    benchmark: Benchmark | str = "nb201",
    dataset: str | None = None,
    proxies: list[str] | tuple[str, ...] = ("params", "flops"),
    n: int | None = 1000,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = True,
    cache: str | os.PathLike | ScoreCache | None = DEFAULT_CACHE,
    inits: int = 1,
    batch_size: int | None = None,
    indices: Sequence[int] | None = None,
) -> CorrelationReport:
    """Score ``n`` seeded-sampled networks with each proxy and correlate with test accuracy.

    Scores go through the score cache (``cache=None`` disables it), so a rerun is instant
    and an interrupted run resumes; ``seconds`` stay the cold computation time.
    ``batch_size`` overrides every proxy's default batch size; ``indices`` (rows of the
    benchmark's table) replace the seeded sample.
    """
    names = sorted(PROXIES) if list(proxies) == ["all"] else list(proxies)
    for name in names:
        get_proxy(name)
    requested, names = names, scored_proxies(names)  # combos: score their components
    bench = as_benchmark(benchmark)
    space, table, dataset, data_dir = (
        bench.space,
        bench.table,
        bench.dataset(dataset),
        bench.data_dir,
    )
    check_spaces(names, space.name)
    given = indices is not None
    indices = sample_indices(table, n, seed) if indices is None else np.asarray(indices, int)
    archs = [table.arch(int(i)) for i in indices]
    source = ""
    if any(get_proxy(p).needs_data for p in names):
        source = data_batch(dataset, 1, seed, data_dir)[2]
    # chunks amortise a worker's set-up; at least 10 per worker keep the meter moving when
    # each network takes tens of seconds
    size = max(1, min(50, math.ceil(len(archs) / (10 * max(jobs, 1)))))
    chunks = [archs[i : i + size] for i in range(0, len(archs), size)]
    parts = []
    meter = tqdm(total=len(archs), desc="networks scored", unit="net", disable=not progress)
    with Parallel(n_jobs=jobs, return_as="generator") as parallel:
        calls = (
            delayed(_score_chunk)(
                space, c, dataset, names, seed, data_dir, cache, inits, batch_size
            )
            for c in chunks
        )
        for part in parallel(calls):
            parts.append(part)
            meter.update(len(part[0]))
    meter.close()
    scores = np.concatenate([p[0] for p in parts])
    seconds = np.sum([p[1] for p in parts], axis=0) / len(archs)
    components = {
        get_proxy(name).name: scores[:, j] for j, name in enumerate(names) if name not in requested
    }
    scores, seconds = _with_combos(requested, names, scores, seconds)
    return CorrelationReport(
        space=space.id,
        dataset=dataset,
        seed=seed,
        indices=indices,
        accuracies=table.column(dataset)[indices],
        scores=scores,
        seconds=seconds,
        input_source=source,
        cached=sum(p[2] for p in parts),
        cache=cache,
        benchmark=bench,
        components=components,
        networks=rows_label(indices) if given else "",
    )


def rows_label(indices: Sequence[int]) -> str:
    """``rows{a}-{b}`` for a run of consecutive rows, else their count and a content hash."""
    rows = np.asarray(indices, dtype=np.int64)
    if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return f"rows{rows[0]}-{rows[-1]}"
    digest = hashlib.sha1(rows.tobytes()).hexdigest()[:8]
    return f"rows{len(rows)}x{digest}"


# NAS-Bench-Suite-Zero op codes and edge order (see ../shared/reference/README.md): its
# key lists the edges (1,2) (1,3) (1,4) (2,3) (2,4) (3,4), while an NB201 string lists them
# by target node, (1,2) (1,3) (2,3) (1,4) (2,4) (3,4); key position -> string position:
_NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_NASLIB_EDGE_ORDER = (0, 1, 3, 2, 4, 5)
REFERENCE_FILE = "../reference/naslib_zc_nasbench201.json"
REFERENCE_NAMES = {
    "params": "params",
    "flops": "flops",
    "synflow": "synflow",
    "grad_norm": "grad_norm",
    "snip": "snip",
    "grasp": "grasp",
    "fisher": "fisher",
    "jacob_cov": "jacov",
    "naswot": "nwot",
}
"""Our proxy name -> NAS-Bench-Suite-Zero's, for the proxies both compute."""


def naslib_arch(key: str) -> str:
    """The NB201 arch string of a NAS-Bench-Suite-Zero key such as ``"(0, 2, 3, 2, 3, 1)"``."""
    from eznas.spaces.nb201 import format_arch

    codes = [int(c) for c in key.strip("()").split(",")]
    return format_arch([_NASLIB_OPS[codes[i]] for i in _NASLIB_EDGE_ORDER])


def load_reference(
    dataset: str, data_dir: str | os.PathLike | None = None
) -> dict[str, dict[str, float]]:
    """{NB201 arch string: {our proxy name: NAS-Bench-Suite-Zero score}} for ``dataset``."""
    raw = json.loads(find_data(REFERENCE_FILE, data_dir).read_text())
    if dataset not in raw:
        raise ValueError(f"dataset {dataset!r} not in the reference; has: {', '.join(raw)}")
    return {
        naslib_arch(key): {ours: entry[theirs]["score"] for ours, theirs in REFERENCE_NAMES.items()}
        for key, entry in raw[dataset].items()
    }


def agreement(ours: dict[str, float], theirs: dict[str, float]) -> tuple[float, int]:
    """Spearman rho between two {arch: score} maps over the archs both scored finitely."""
    common = [a for a in ours if a in theirs]
    x = np.array([ours[a] for a in common], dtype=np.float64)
    y = np.array([theirs[a] for a in common], dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return spearman(x[keep], y[keep]), int(keep.sum())


def plot_scatter(
    scores: np.ndarray,
    accuracies: np.ndarray,
    params: np.ndarray,
    path: str | os.PathLike,
    title: str,
) -> Path:
    """Score-vs-accuracy scatter coloured by parameter count (as the proxy papers draw it)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    keep = np.isfinite(scores)
    fig, ax = plt.subplots(figsize=(5, 4))
    dots = ax.scatter(
        accuracies[keep], scores[keep], c=params[keep], s=8, cmap="viridis", alpha=0.8
    )
    fig.colorbar(dots, ax=ax, label="parameters (M)")
    ax.set_xlabel("test accuracy (%)")
    ax.set_ylabel("score")
    ax.set_title(f"{title} ({int((~keep).sum())} NaN dropped)", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
