"""Test programs on networks that were never in the evolution task set (EZNAS 3.7).

Held-out networks are scored from their live models with the collector's own
``collect_model`` (same seeded weights and D/N/P batch as the cache), capturing only the kinds
the tested programs use, a chunk of networks at a time so memory stays bounded. This gives
exactly the score the cache would, without writing hundreds of networks to disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from eznas.benchmark.benchmarks import Benchmark, as_benchmark, open_benchmark
from eznas.data import make_batches
from eznas.gp import checkpoint as ck
from eznas.gp.fitness import cache_group, pair_captures, task_indices
from eznas.gp.individual import Individual, combined_scores, parse_individuals
from eznas.gp.program import BlockSet, Program, evaluate
from eznas.gp.run import Run
from eznas.gp.terms import term_values
from eznas.metrics import kendall, spearman
from eznas.runtime import merge_rows, plan_captures
from eznas.spaces.cost import count_params
from eznas.stats import collect_model, open_cache


def holdout_indices(size: int, exclude: Sequence[int], n: int, seed: int) -> np.ndarray:
    """``n`` seeded indices of 0..size-1 outside ``exclude`` (all of them if n >= available)."""
    pool = np.setdiff1d(np.arange(size), np.asarray(exclude, dtype=int))
    if n >= len(pool):
        return pool
    return np.sort(np.random.default_rng(seed).choice(pool, n, replace=False))


def holdout_scores(
    individuals: Sequence[Individual],
    benchmark: Benchmark | str,
    dataset: str,
    indices: Sequence[int],
    **options,
) -> np.ndarray:
    """Scores (individuals, networks) of held-out networks (see ``holdout_parts``);
    rank-combined individuals are ranked among these networks."""
    parts = holdout_parts(individuals, benchmark, dataset, indices, **options)
    return combined_scores(individuals, *parts, partial=True)


def holdout_parts(
    individuals: Sequence[Individual],
    benchmark: Benchmark | str,
    dataset: str,
    indices: Sequence[int],
    *,
    seed: int = 0,
    captures: Sequence[tuple[int, Sequence[str] | None]] = ((1, None),),
    to_scalar: str = "mean",
    pattern: str | None = None,
    chunk: int = 25,
    progress: bool = True,
    label: str = "held-out",
    reinit: Callable[[nn.Module, int], nn.Module] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(scores of every component by its text, values of every network term) on held-out
    networks, built and captured as the collector does (``pattern`` defaults to the
    space's); ``indices`` are rows of the benchmark's table. ``captures`` lists (batch size,
    kinds it provides or None for all), one per cache of a task pair (raw B = 1 beside
    summaries at B = 16): each is captured from its own freshly seeded model, as each cache
    was; ``reinit(model, seed)``, if given, replaces each model first (e.g. the re-initialised
    copy a proxy scores). Each network's component scores are what the exported file
    computes for it alone, infinities included (``evaluate``'s ``per_network``).
    ``combined_scores`` turns the parts into any individual's scores."""
    by_op: dict[str, dict[str, Program]] = {}
    for ind in individuals:
        for c in ind.components:
            by_op.setdefault(c.aggregate, {})[c.text()] = c.program
    kinds = sorted({k for programs in by_op.values() for p in programs.values() for k in p.kinds})
    bench = as_benchmark(benchmark)
    pattern = pattern or bench.space.block_pattern
    plan = [
        (make_batches(dataset, size, seed, bench.data_dir), mine)
        for size, mine in plan_captures(kinds, captures)
    ]
    parts: dict[str, list[np.ndarray]] = {}
    params: list[float] = []
    meter = tqdm(
        total=len(indices), desc=f"{label} {dataset} networks", unit="net", disable=not progress
    )
    for start in range(0, len(indices), chunk):
        stats = []
        for i in indices[start : start + chunk]:
            blocks: list[dict] = []
            for batches, mine in plan:
                torch.manual_seed(seed)  # the collector's weight seed
                model = bench.space.build(bench.table.arch(int(i)), dataset)
                if reinit is not None:
                    model = reinit(model, seed)
                part = collect_model(model, batches, pattern, mine)
                blocks = merge_rows(blocks, part) if blocks else part
            stats.append(blocks)
            params.append(count_params(model))
            meter.update()
        blocks = BlockSet.from_blocks(stats)
        for op, programs in by_op.items():
            values = evaluate(list(programs.values()), blocks, to_scalar, op, per_network=True)
            for text, row in zip(programs, values, strict=True):
                parts.setdefault(text, []).append(row)
    meter.close()
    component_scores = {text: np.concatenate(rows) for text, rows in parts.items()}
    names = sorted({t for ind in individuals for t in ind.terms})
    archs = [bench.table.arch(int(i)) for i in indices]
    return component_scores, term_values(names, bench, dataset, seed, archs, np.array(params))


def holdout_report(
    individuals: Sequence[Individual],
    benchmark: Benchmark | str,
    datasets: Sequence[str],
    exclude: dict[str, Sequence[int]],
    n: int,
    *,
    seed: int = 0,
    default: str | None = None,
    **options,
) -> dict:
    """Kendall tau and Spearman rho per individual and dataset on ``n`` held-out networks,
    keyed by the individuals' texts (bare trees for the run's ``default`` network op)."""
    bench = as_benchmark(benchmark)
    table = bench.table
    report = {}
    for dataset in datasets:
        indices = holdout_indices(len(table), exclude.get(dataset, []), n, seed + 1)
        scores = holdout_scores(individuals, bench, dataset, indices, seed=seed, **options)
        acc = np.array([table.accuracy(int(i), dataset) for i in indices])
        report[dataset] = {
            ind.text(default): {
                "kendall": kendall(row, acc),
                "spearman": spearman(row, acc),
                "n": int((~np.isnan(row)).sum()),  # the networks the metrics used
            }
            for ind, row in zip(individuals, scores, strict=True)
        }
    return report


def run_holdout_test(
    run: Run | str | os.PathLike,
    n: int = 1000,
    benchmark: Benchmark | str | None = None,
    data_dir: str | os.PathLike | None = None,
    **options,
) -> dict:
    """Test a run's final best, its two best-ever programs and the hall of fame's best on the
    whole task set; saves ``test.json`` in the run.

    Every network of a task set (and the run's selection networks) is excluded, whatever
    seed drew it. ``benchmark`` defaults to
    the one the statistics were collected on, opened from ``data_dir``; ``options`` go to
    ``holdout_scores`` (``chunk``, ``progress``).
    """
    run = run if isinstance(run, Run) else Run.open(run)
    config = run.config
    final, hall_of_fame = run.choose("final")[0], [t for t, _ in run.hall_of_fame[:2]]
    task_best = run.choose("task")[0]
    texts = list(dict.fromkeys([final, *hall_of_fame, task_best]))
    exclude: dict[str, list[int]] = {}
    attrs: dict = {}
    for entry in config.caches:
        with open_cache(cache_group(entry)[0]) as cache:
            attrs = dict(cache.attrs)
            chosen = task_indices(cache.networks(), config.n_task, config.seed)
            exclude.setdefault(attrs["dataset"], []).extend(int(i) for i in chosen)
    if config.select_networks:  # they chose the program: never held out
        from eznas.gp.selection import selection_networks

        chosen = selection_networks(config.caches, config.select_networks, config.seed, data_dir)
        for rows in exclude.values():
            rows.extend(int(i) for i in chosen.get(attrs.get("benchmark", attrs["space"]), []))
    captures = pair_captures(config.caches[0])[1]  # every pair is collected alike
    if not isinstance(benchmark, Benchmark):
        benchmark = open_benchmark(benchmark or attrs.get("benchmark", attrs["space"]), data_dir)
    report = holdout_report(
        parse_individuals(texts, config.aggregate),
        benchmark,
        list(exclude),
        exclude,
        n,
        seed=int(attrs["seed"]),
        default=config.aggregate,
        captures=captures,
        to_scalar=config.to_scalar,
        pattern=attrs["pattern"],
        **options,
    )
    result = {
        "n": n,
        "final_best": final,
        "hall_of_fame": hall_of_fame,
        "task_best": task_best,
        "datasets": report,
    }
    ck.write_json(run.folder / "test.json", result)
    return result


def markdown(result: dict) -> str:
    """One row per program and dataset: Kendall tau, Spearman rho, networks."""
    lines = ["| program | dataset | Kendall tau | Spearman rho | n |", "|---|---|---|---|---|"]
    for dataset, programs in result["datasets"].items():
        for text, r in programs.items():
            lines.append(
                f"| `{text}` | {dataset} | {r['kendall']:.3f} | {r['spearman']:.3f} | {r['n']} |"
            )
    return "\n".join(lines)
