"""The evolution task dataset and the min-Kendall fitness (EZNAS 3.6).

Per statistics cache (one (space, dataset) pair) a fixed, seeded set of up to 80 networks
forms the task set. Each generation draws ``s`` pairs and 20 networks from each; a
program's fitness is its minimum Kendall tau over the drawn pairs, which is what stops
programs over-fitting one fixed subset. Workers keep loaded task sets in a module-level
cache so each process reads the statistics once, not once per program.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eznas.gp.individual import Individual, combined_scores, parse_individuals
from eznas.gp.program import KINDS, BlockSet, Program, evaluate
from eznas.metrics import kendall


@dataclass(frozen=True)
class TaskSpec:
    """What to load: caches, how many networks per cache, with which seed, which kinds."""

    caches: tuple[str, ...]
    n_task: int = 80
    seed: int = 0
    kinds: tuple[str, ...] = KINDS
    to_scalar: str = "mean"
    aggregate: str = "mean"


@dataclass
class TaskPair:
    """One (space, dataset) pair of the task set: its networks, accuracies and statistics."""

    name: str
    indices: np.ndarray  # benchmark indices of the task networks
    accuracy: np.ndarray
    blocks: BlockSet
    params: np.ndarray  # millions, per network: the complexity term ``@params``

    def terms(self, positions: Sequence[int]) -> dict[str, np.ndarray]:
        """The complexity terms of the networks at ``positions``."""
        return {"params": self.params[np.asarray(positions)]}


def pair_name(attrs: dict) -> str:
    return f"{attrs.get('space', '?')}-{attrs.get('dataset', '?')}"


def task_indices(networks: Sequence[int], n_task: int, seed: int) -> np.ndarray:
    """The fixed random task networks of one cache (sorted), ``n_task`` of them at most."""
    networks = np.sort(np.asarray(networks))
    if n_task >= len(networks):
        return networks
    return np.sort(np.random.default_rng(seed).choice(networks, n_task, replace=False))


def load_pair(
    path: str, indices: Sequence[int] | None, kinds: Sequence[str], n_task: int = 80, seed: int = 0
) -> TaskPair:
    """Statistics of ``indices`` (default: the cache's task networks) from one cache file."""
    from eznas.stats import open_cache

    cache = open_cache(path)
    if indices is None:
        indices = task_indices(cache.networks(), n_task, seed)
    indices = [int(i) for i in indices]
    meta = [cache.meta(i) for i in indices]
    accuracy = np.array([m["accuracy"] for m in meta], dtype=float)
    params = np.array([m["params"] for m in meta], dtype=float)
    blocks = BlockSet.build(lambda kind: cache.read(kind, indices), kinds)
    return TaskPair(pair_name(dict(cache.attrs)), np.asarray(indices), accuracy, blocks, params)


_LOADED: dict[TaskSpec, list[TaskPair]] = {}


def load_task(spec: TaskSpec) -> list[TaskPair]:
    """The task pairs of ``spec``, loaded once per process."""
    if spec not in _LOADED:
        _LOADED.clear()
        _LOADED[spec] = [
            load_pair(p, None, spec.kinds, spec.n_task, spec.seed) for p in spec.caches
        ]
    return _LOADED[spec]


def split_positions(size: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(fitness, validation) positions of a pair's task networks: a seeded ``fraction`` is
    kept out of every fitness draw and only helps choose the program a run exports."""
    order = np.random.default_rng(seed).permutation(size)
    held = int(round(fraction * size))
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


Draw = list[tuple[int, list[int]]]
"""A generation's sample: (pair number, positions of its networks in the task pair)."""


def draw(rng: random.Random, sizes: Sequence[int], s: int = 4, per_pair: int = 20) -> Draw:
    """``min(s, pairs)`` pairs and ``per_pair`` networks from each, from ``rng``."""
    pairs = sorted(rng.sample(range(len(sizes)), min(s, len(sizes))))
    return [(p, sorted(rng.sample(range(sizes[p]), min(per_pair, sizes[p])))) for p in pairs]


def scores_on(
    individuals: Sequence[Individual], pair: TaskPair, positions: Sequence[int], to_scalar: str
) -> np.ndarray:
    """(individuals, networks) scores on the networks at ``positions`` of ``pair``; each
    distinct component is evaluated once, with every other component of its network op."""
    blocks = pair.blocks.subset(positions)
    by_op: dict[str, dict[str, Program]] = {}
    for ind in individuals:
        for c in ind.components:
            by_op.setdefault(c.aggregate, {})[c.text()] = c.program
    component_scores = {}
    for op, programs in by_op.items():
        values = evaluate(list(programs.values()), blocks, to_scalar, op)
        component_scores.update(zip(programs, values, strict=True))
    return combined_scores(individuals, component_scores, pair.terms(positions))


def min_kendall(
    individuals: Sequence[Individual],
    pairs: Sequence[TaskPair],
    sample: Draw,
    to_scalar: str = "mean",
) -> np.ndarray:
    """Fitness of each individual: min Kendall tau over the drawn pairs; NaN when invalid."""
    taus = np.full((len(individuals), len(sample)), np.nan)
    for j, (p, positions) in enumerate(sample):
        scores = scores_on(individuals, pairs[p], positions, to_scalar)
        acc = pairs[p].accuracy[positions]
        for i, row in enumerate(scores):
            if np.isfinite(row).all():
                taus[i, j] = kendall(row, acc)
    out = taus.min(1)
    out[np.isnan(taus).any(1)] = np.nan
    return out


def fitness_chunk(spec: TaskSpec, sample: Draw, texts: Sequence[str]) -> np.ndarray:
    """Worker entry point: fitness of individuals given as texts (picklable, small)."""
    individuals = parse_individuals(texts, spec.aggregate)
    return min_kendall(individuals, load_task(spec), sample, spec.to_scalar)
