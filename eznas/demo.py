"""The whole pipeline on one benchmark, end to end: ``eznas demo``.

space -> statistics -> evolved program -> exported proxy -> comparison -> search, on the
benchmark shipped inside the package (no download, no network) or, with ``--benchmark
nb201 --data DIR``, on NATS-Bench and real images. Every stage writes into one folder and
is skipped or resumed when the demo runs again with the same settings.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eznas.benchmark.benchmarks import DEFAULT_SHIPPED, Benchmark, open_benchmark

if TYPE_CHECKING:
    from eznas.gp.run import Run

DEMO_PROXIES = (
    "params", "flops", "naswot", "synflow", "logsynflow", "snip", "grad_norm", "jacob_cov",
    "skip", "degree",
)  # fmt: skip
"""Hand-designed proxies compared with the evolved one (the cheap ones of the library)."""


@dataclass(frozen=True)
class Evolution:
    """One way the demo can evolve: what it collects, how it evolves, how it chooses."""

    description: str
    captures: tuple[dict, ...]  # ``collect`` options, one cache each (joined as one pair)
    options: dict  # EvolveConfig settings beyond the demo's own
    per_pair: int
    select: str  # the run's choice the demo exports


EVOLUTIONS = {
    "v2": Evolution(
        "up to 3 block programs over B = 1 statistics and B = 16 summaries, each with its "
        "network op, log-rank combined with params, started from MeCo and NASWOT; the export "
        "chosen on 100 live selection networks",
        ({}, {"batch_size": 16, "summaries": True}),
        {
            "to_scalar": "l2",
            "components": 3,
            "net_ops": ["mean", "sum", "min_step", "last_first", "std", "amax"],
            "terms": ["params"],
            "needs_values": True,
            "hall_of_fame": 20,
            "select_networks": 100,
            "start": ["meco", "naswot"],
        },
        per_pair=30,
        select="selection",
    ),
    "eznas": Evolution(
        "EZNAS's own: one block program over B = 1 statistics, averaged over blocks; the export "
        "chosen on the task networks",
        ({},),
        {},
        per_pair=20,
        select="task",
    ),
}
"""The demo's evolutions (``--evolution``); v2 is the default because it ranks the shipped
benchmark's held-out networks better (see the README)."""


@dataclass
class DemoConfig:
    benchmark: str = DEFAULT_SHIPPED
    dataset: str | None = None  # default: the benchmark's first dataset
    task: int = 150  # networks whose statistics the evolution sees
    population: int = 100
    generations: int = 30
    holdout: int = 500  # never-seen networks for the comparison
    proxies: tuple[str, ...] = DEMO_PROXIES
    evaluations: int = 150  # FreeREA budget in evaluated archs
    seed: int = 0
    evolution: str = "v2"
    out: str = "runs/demo"
    data_dir: str | None = None
    jobs: int = 1

    def __post_init__(self) -> None:
        for name in ("task", "population", "holdout", "evaluations"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2, got {getattr(self, name)}")
        if self.evolution not in EVOLUTIONS:
            raise ValueError(f"evolution {self.evolution!r}: use one of {', '.join(EVOLUTIONS)}")
        if self.generations < 0:
            raise ValueError(f"generations must be >= 0, got {self.generations}")


@dataclass
class DemoSummary:
    benchmark: str
    dataset: str
    program: str
    formula: str
    proxy_file: str
    correlations: list[dict]  # proxy, kendall, spearman, sec_per_net (held-out networks)
    searches: list[dict]  # metric, arch, accuracy, evaluated, seconds
    optimum: float
    n_benchmark: int
    noise_ceiling: float | None
    stages: dict[str, float] = field(default_factory=dict)  # stage -> wall seconds

    def text(self) -> str:
        lines = [
            f"eznas demo on {self.benchmark} / {self.dataset} ({self.n_benchmark} archs; "
            f"seed-to-seed Kendall ceiling {_num(self.noise_ceiling)})",
            "",
            f"evolved program: {self.program}",
            f"formula per block: {self.formula}",
            f"exported to: {self.proxy_file}",
            "",
            "held-out networks | Kendall tau | Spearman rho | s/net",
        ]
        for row in sorted(self.correlations, key=lambda r: -np.nan_to_num(r["kendall"], nan=-9)):
            lines.append(
                f"  {row['proxy']:<22} {_num(row['kendall']):>7} {_num(row['spearman']):>8} "
                f"{row['sec_per_net']:8.3f}"
            )
        lines += ["", f"FreeREA (benchmark optimum {self.optimum:.2f}):"]
        for s in self.searches:
            lines.append(
                f"  {s['metric']:<22} {s['accuracy']:6.2f}  ({s['evaluated']} archs, "
                f"{s['seconds']:.1f} s)  {s['arch']}"
            )
        total = sum(self.stages.values())
        stages = ", ".join(f"{k} {v:.0f}s" for k, v in self.stages.items())
        lines += ["", f"time: {stages}; total {total / 60:.1f} min"]
        return "\n".join(lines)


def _num(value) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}"


@contextmanager
def _stage(stages: dict[str, float], name: str, verbose: bool) -> Iterator[None]:
    if verbose:
        print(f"[demo] {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    stages[name] = time.perf_counter() - start
    if verbose:
        print(f"[demo] {name} done in {stages[name]:.1f} s", file=sys.stderr, flush=True)


def split_networks(n_table: int, task: int, holdout: int, seed: int) -> tuple[list, list]:
    """Seeded disjoint task and held-out benchmark rows."""
    if task + 2 > n_table:
        raise ValueError(f"task {task} leaves fewer than 2 of {n_table} archs to hold out")
    order = np.random.default_rng(seed).permutation(n_table)
    task_rows = sorted(int(i) for i in order[:task])
    held = sorted(int(i) for i in order[task : task + holdout])
    return task_rows, held


def outside_selection(held: list[int], run: Run) -> list[int]:
    """``held`` minus the run's selection networks: they chose the export, so a comparison
    that includes them flatters it."""
    chosen = {int(i) for rows in run.selection["networks"].values() for i in rows}
    return [i for i in held if i not in chosen]


def run_demo(config: DemoConfig | None = None, verbose: bool = True) -> DemoSummary:
    """Collect, evolve, export, compare and search; returns (and saves) the summary."""
    from eznas.correlation import run_correlation
    from eznas.gp import checkpoint as ck
    from eznas.gp.evolve import EvolveConfig, evolve
    from eznas.gp.run import Run
    from eznas.proxies.scoring import ScoreCache
    from eznas.search.run import search
    from eznas.stats import collect

    config = config or DemoConfig()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    stages: dict[str, float] = {}
    bench: Benchmark = open_benchmark(config.benchmark, config.data_dir)
    dataset = bench.dataset(config.dataset)  # an unknown dataset fails before any work
    task, held = split_networks(len(bench.table), config.task, config.holdout, config.seed)
    scores = ScoreCache(out / "scores.sqlite")

    how = EVOLUTIONS[config.evolution]
    with _stage(stages, f"collect statistics of {len(task)} task networks", verbose):
        caches = [
            collect(
                bench,
                dataset,
                indices=task,
                seed=config.seed,
                out=out / "statistics",
                jobs=config.jobs,
                progress=verbose,
                **capture,
            )
            for capture in how.captures
        ]

    run = out / "evolve"
    with _stage(stages, f"evolve {config.population} programs x {config.generations}", verbose):
        evolve_config = EvolveConfig(
            caches=["+".join(str(c) for c in caches)],
            population=config.population,
            generations=config.generations,
            seed=config.seed,
            n_task=len(task),
            per_pair=min(how.per_pair, len(task)),
            jobs=config.jobs,
            **how.options,
        )
        resume = (run / ck.CHECKPOINT).exists()
        if resume and Run.open(run).config != evolve_config:
            raise ValueError(f"{run} holds an evolution with other settings; use another --out")
        evolved = evolve(
            None if resume else evolve_config,
            run,
            resume=resume,
            verbose=verbose,
            data_dir=config.data_dir,
        )
    if how.select == "selection":
        held = outside_selection(held, evolved)

    with _stage(stages, "export the best program", verbose):
        program = evolved.choose(how.select)[0]
        proxy_file = evolved.export(out / "eznas_demo.py", select=how.select, name="eznas_demo")
        expr = str(evolved.formula(how.select))

    with _stage(stages, f"compare proxies on {len(held)} held-out networks", verbose):
        report = run_correlation(
            bench,
            dataset,
            [*config.proxies, str(proxy_file)],
            seed=config.seed,
            jobs=config.jobs,
            progress=verbose,
            cache=scores,
            indices=held,
        )
        correlations = [
            {
                "proxy": "eznas (evolved)" if name == str(proxy_file) else name,
                "kendall": r.kendall,
                "spearman": r.spearman,
                "sec_per_net": report.seconds[name],
            }
            for name, r in report.results.items()
        ]

    searches = []
    with _stage(stages, f"FreeREA searches ({config.evaluations} archs each)", verbose):
        for label, proxy in (("eznas (evolved)", str(proxy_file)), ("FreeREA metric", None)):
            result = search(
                "freerea",
                bench,
                dataset,
                proxy,
                config.seed,
                evaluations=config.evaluations,
                cache=scores,
            )
            searches.append(
                {
                    "metric": label,
                    "arch": result.arch,
                    "accuracy": result.accuracy,
                    "evaluated": result.evaluated,
                    "seconds": result.seconds,
                }
            )

    summary = DemoSummary(
        benchmark=bench.name,
        dataset=dataset,
        program=program,
        formula=expr,
        proxy_file=str(proxy_file),
        correlations=correlations,
        searches=searches,
        optimum=bench.table.optimum(dataset)[1],
        n_benchmark=len(bench.table),
        noise_ceiling=bench.info.get("seed_to_seed_kendall"),
        stages=stages,
    )
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2, default=float) + "\n")
    (out / "summary.txt").write_text(summary.text() + "\n")
    return summary
