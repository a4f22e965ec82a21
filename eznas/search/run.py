"""Run a registered search once or over many seeds and score the answers against truth.

The search seed drives the evolution; the proxy seed fixes the data batch and weight
initialisations, so runs with different search seeds share cached scores.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from eznas.benchmark.benchmarks import Benchmark, as_benchmark
from eznas.data import load_images
from eznas.proxies.scoring import DEFAULT_CACHE, ScoreCache, Scorer
from eznas.search.base import ORACLE, SearchContext, SearchResult, get_search
from eznas.search.budget import Budget
from eznas.search.report import SearchSummary


def _options(algo, options: dict) -> dict:
    allowed = algo.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"search {algo.name!r} has no option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    return options


def search(
    algo: str = "freerea",
    benchmark: Benchmark | str = "nb201",
    dataset: str | None = None,
    proxy: str | Sequence[str] | None = None,
    seed: int = 0,
    *,
    time_budget: float | None = None,
    evaluations: int | None = None,
    proxy_seed: int = 0,
    inits: int | None = None,
    cache: ScoreCache | str | os.PathLike | None = DEFAULT_CACHE,
    scorer: Scorer | None = None,
    **options,
) -> SearchResult:
    """One run of search ``algo`` over ``benchmark``'s space (restricted to its labelled archs
    when the table does not cover it); ``proxy`` (names, ``"oracle"`` or exported files)
    replaces the algorithm's default fitness; ``options`` go to the algorithm."""
    spec = get_search(algo)
    options = _options(spec, options)
    budget = Budget(time_budget, evaluations)
    proxies = (proxy,) if isinstance(proxy, str) else tuple(proxy or spec.proxies)
    if spec.needs_budget and budget.unlimited:
        raise ValueError(f"search {algo!r} needs --time-budget and/or --evaluations")
    if ORACLE in proxies and evaluations is None:
        raise ValueError("the oracle costs no time: give an evaluation budget")
    bench = as_benchmark(benchmark)
    space, table, data_dir = bench.space, bench.table, bench.data_dir
    dataset = bench.dataset(dataset)
    if scorer is None:
        scorer = Scorer(
            space, dataset, proxy_seed, data_dir=data_dir, cache=cache, inits=inits or spec.inits
        )
    load_images(dataset, data_dir)  # read the images before the clock starts (cached per process)
    hits, misses = scorer.hits, scorer.misses
    ctx = SearchContext(space, np.random.default_rng(seed), scorer, budget, proxies, table)
    start = time.perf_counter()
    arch = spec.fn(ctx, **options)
    wall = time.perf_counter() - start
    # cold time = what the proxies cost when computed + the search's own work
    cold = ctx.seconds + max(wall - ctx.scorer_wall, 0.0)
    trajectory = [(s, table.accuracy(a, dataset)) for s, a in ctx.trajectory()]
    trajectory.append((cold, table.accuracy(arch, dataset)))
    return SearchResult(
        algo=algo,
        dataset=dataset,
        seed=seed,
        arch=arch,
        accuracy=table.accuracy(arch, dataset),
        evaluated=ctx.evaluations,
        seconds=cold,
        wall=wall,
        hits=scorer.hits - hits,
        misses=scorer.misses - misses,
        trajectory=trajectory,
        details=ctx.details,
    )


def search_runs(
    algo: str = "freerea",
    runs: int = 30,
    seed: int = 0,
    *,
    benchmark: Benchmark | str = "nb201",
    dataset: str | None = None,
    proxy: str | Sequence[str] | None = None,
    cache: ScoreCache | str | os.PathLike | None = DEFAULT_CACHE,
    proxy_seed: int = 0,
    inits: int | None = None,
    progress: bool = True,
    label: str | None = None,
    **kwargs,
) -> SearchSummary:
    """``runs`` searches with seeds ``seed .. seed+runs-1`` sharing one Scorer and table."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    spec = get_search(algo)
    bench = as_benchmark(benchmark)
    dataset = bench.dataset(dataset)
    if cache is not None and not isinstance(cache, ScoreCache):
        cache = ScoreCache(cache)
    scorer = Scorer(
        bench.space,
        dataset,
        proxy_seed,
        data_dir=bench.data_dir,
        cache=cache,
        inits=inits or spec.inits,
    )
    results = [
        search(algo, bench, dataset, proxy, seed + i, scorer=scorer, **kwargs)
        for i in tqdm(range(runs), desc=f"{algo} runs", unit="run", disable=not progress)
    ]
    _, best = bench.table.optimum(dataset)
    return SearchSummary(label or algo, dataset, results, optimum=best)
