"""Choose the program a run exports on networks no fitness saw, scored live (``select``).

The hall of fame is ranked by fitness on random 20-network draws, so its order is partly
luck, and a validation split of 20 networks per pair cannot tell programs 0.05 tau apart:
measured on NB201, the program it chose ranged 0.67-0.77 tau on held-out networks across
seeds. Selection networks are drawn outside every cache of the run (the same rows for each
of its pairs) and scored from live seeded models, as held-out networks are
(``eznas.gp.holdout``), so they cost no memory during evolution. The candidates are the hall
of fame and, for k in ``ENSEMBLES``, the union of the components and terms of its k best
members combined by log-rank: an ensemble averages out its members' separate mistakes. The
chosen candidate has the best mean Kendall tau over the run's pairs; with ``within`` (a
library proxy such as ``depth``), the tau inside groups of networks that proxy scores alike,
so a program is chosen for what that count cannot already tell.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from eznas.benchmark.benchmarks import Benchmark, open_benchmark
from eznas.gp.fitness import cache_group, pair_captures
from eznas.gp.holdout import holdout_indices, holdout_parts
from eznas.gp.individual import Individual, combined_scores, parse_individuals
from eznas.gp.terms import term_values
from eznas.metrics import kendall, kendall_within
from eznas.stats import open_cache

ENSEMBLES = (2, 3)  # ensembles of the best k hall-of-fame members among the candidates
SEED_OFFSET = 7919  # selection draws never share their seed with task or held-out draws


def ensemble(members: Sequence[Individual]) -> Individual:
    """One individual whose rank combination holds every distinct component and term of
    ``members``."""
    components = {c.text(): c for m in members for c in m.components}
    terms = dict.fromkeys(t for m in members for t in m.terms)
    return Individual(tuple(components.values()), tuple(terms))


def selection_networks(
    caches: Sequence[str], n: int, seed: int, data_dir: str | os.PathLike | None = None
) -> dict[str, np.ndarray]:
    """{benchmark name: ``n`` seeded rows of its table outside every network of the run's
    ``caches`` on it}."""
    cached: dict[str, set[int]] = {}
    for entry in caches:
        with open_cache(cache_group(entry)[0]) as cache:
            name = cache.attrs.get("benchmark", cache.attrs["space"])
            cached.setdefault(name, set()).update(int(i) for i in cache.networks())
    return {
        name: holdout_indices(
            len(open_benchmark(name, data_dir).table), sorted(found), n, seed + SEED_OFFSET
        )
        for name, found in cached.items()
    }


def select(
    hall_of_fame: Sequence[str],
    caches: Sequence[str],
    n: int,
    seed: int,
    *,
    to_scalar: str,
    default: str = "mean",
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
    within: str | None = None,
) -> dict:
    """Score every candidate on ``n`` selection networks per pair; returns the record the
    run keeps: ``chosen`` [text, mean tau], ``networks`` per benchmark, and ``candidates``
    [text, mean tau, tau per pair] best first (and ``within`` when given)."""
    members = parse_individuals(hall_of_fame, default)
    networks = selection_networks(caches, n, seed, data_dir)
    benches: dict[str, Benchmark] = {}
    pairs = []  # (component and term scores, accuracy, groups or None) per pair
    for entry in caches:
        attrs, captures = pair_captures(entry)
        name = attrs.get("benchmark", attrs["space"])
        bench = benches.setdefault(name, open_benchmark(name, data_dir))
        rows, dataset = networks[name], attrs["dataset"]
        parts = holdout_parts(
            members,
            bench,
            dataset,
            rows,
            seed=int(attrs["seed"]),
            captures=captures,
            to_scalar=to_scalar,
            pattern=attrs["pattern"],
            progress=progress,
            label="selection",
        )
        acc = bench.table.column(dataset)[rows]
        groups = None
        if within:  # scored like a network term: the pair's seed, the persistent score cache
            archs = [bench.table.arch(int(i)) for i in rows]
            groups = term_values([within], bench, dataset, int(attrs["seed"]), archs)[within]
        pairs.append((parts, acc, groups))

    def tau(scores: np.ndarray, acc: np.ndarray, groups: np.ndarray | None) -> float:
        if groups is None:
            return float(kendall(scores, acc))
        return float(kendall_within(scores, acc, groups))

    def taus(ind: Individual) -> list[float]:
        return [tau(combined_scores([ind], *parts)[0], acc, groups) for parts, acc, groups in pairs]

    def mean(per_pair: list[float]) -> float:
        return float(np.mean(per_pair)) if np.all(np.isfinite(per_pair)) else float("nan")

    table = [
        [text, mean(p), p]
        for text, p in ((t, taus(m)) for t, m in zip(hall_of_fame, members, strict=True))
    ]

    def best_first(row: list) -> float:
        return np.inf if np.isnan(row[1]) else -row[1]  # NaN last

    order = sorted(range(len(members)), key=lambda i: best_first(table[i]))
    known = {m.text(default) for m in members}  # hall-of-fame texts may spell out `mean:`
    for k in (k for k in ENSEMBLES if k <= len(members)):
        group = ensemble([members[i] for i in order[:k]])
        text = group.text(default)
        if text not in known:
            known.add(text)
            per_pair = taus(group)
            table.append([text, mean(per_pair), per_pair])
    table.sort(key=best_first)
    record = {
        "chosen": table[0][:2],
        "networks": {name: [int(i) for i in rows] for name, rows in networks.items()},
        "candidates": table,
    }
    if within:
        record["within"] = within
    return record
