"""The evolution task dataset and the min-Kendall fitness (EZNAS 3.6).

Per statistics cache (one (space, dataset) pair) a fixed, seeded set of up to 80 networks
forms the task set. Each generation draws ``s`` pairs and 20 networks from each; a
program's fitness is its minimum Kendall tau over the drawn pairs, which is what stops
programs over-fitting one fixed subset. Workers keep loaded task sets in a module-level
cache so each process reads the statistics once, not once per program.

A task pair may read several caches of the same networks, written ``raw.h5+summary.h5``:
e.g. EZNAS's raw tensors at B = 1 and summaries at B = 16, collected with the same space,
dataset, pattern and seed (so the same networks with the same weights; only the data
batches differ in size). Their blocks are matched one to one and each kind is read from the
first cache that holds it, so programs can combine both.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np

from eznas.errors import BadFileError
from eznas.gp.individual import Individual, combined_scores, parse_individuals
from eznas.gp.program import BlockSet, Program, evaluate
from eznas.gp.terms import term_values
from eznas.metrics import kendall
from eznas.runtime import ALL_KINDS, match_kinds

GROUP_KEYS = ("space", "dataset", "pattern", "seed")
"""What caches read as one task pair must share (the batch size and storage may differ)."""


@dataclass(frozen=True)
class TaskSpec:
    """What to load: caches (or ``a.h5+b.h5`` groups), how many networks per pair, with
    which seed, which kinds (names or shell patterns; None: every kind the caches hold)."""

    caches: tuple[str, ...]
    n_task: int = 80
    seed: int = 0
    kinds: tuple[str, ...] | None = None
    to_scalar: str = "mean"
    aggregate: str = "mean"
    terms: tuple[str, ...] = ()  # network terms beyond @params, scored by the library
    over_pairs: str = "min"  # how a draw's per-pair taus become one fitness (OVER_PAIRS)


@dataclass
class TaskPair:
    """One (space, dataset) pair of the task set: its networks, accuracies and statistics."""

    name: str
    indices: np.ndarray  # benchmark indices of the task networks
    accuracy: np.ndarray
    blocks: BlockSet
    terms: dict[str, np.ndarray]  # network term (``params``, library proxies) -> per network

    def term_values(self, positions: Sequence[int]) -> dict[str, np.ndarray]:
        """The network terms of the networks at ``positions``."""
        return {name: values[np.asarray(positions)] for name, values in self.terms.items()}


def pair_name(attrs: dict) -> str:
    return f"{attrs.get('space', '?')}-{attrs.get('dataset', '?')}"


def task_indices(networks: Sequence[int], n_task: int, seed: int) -> np.ndarray:
    """The fixed random task networks of one cache (sorted), ``n_task`` of them at most."""
    networks = np.sort(np.asarray(networks))
    if n_task >= len(networks):
        return networks
    return np.sort(np.random.default_rng(seed).choice(networks, n_task, replace=False))


def cache_group(entry: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """The cache files of one task pair: a path, a ``+``-joined group of paths, or a list."""
    if isinstance(entry, (str, os.PathLike)):
        text = str(entry)
        return [text] if Path(text).is_file() or "+" not in text else text.split("+")
    return [str(p) for p in entry]


def pair_captures(
    entry: str | os.PathLike | Sequence[str | os.PathLike],
) -> tuple[dict, list[tuple[int, list[str]]]]:
    """Root attributes of a task pair's first cache, and (batch size, kinds) per cache of the
    pair: how an exported proxy or a held-out test captures statistics as they were
    collected (raw B = 1 beside summaries at B = 16 are two captures)."""
    from eznas.stats import open_cache

    attrs, captures = {}, []
    for member in cache_group(entry):
        with open_cache(member) as cache:
            attrs = attrs or dict(cache.attrs)
            captures.append((int(cache.attrs["batch_size"]), list(cache.kinds)))
    return attrs, captures


def _check_group(caches: list, indices: list[int]) -> None:
    """Caches of one pair must hold the same networks, with the same blocks in order."""
    first = caches[0]
    for other in caches[1:]:
        for key in GROUP_KEYS:
            if first.attrs.get(key) != other.attrs.get(key):
                raise BadFileError(
                    f"{other.path} has {key}={other.attrs.get(key)!r} but {first.path} has "
                    f"{first.attrs.get(key)!r}: one task pair needs the same networks and weights"
                )
        if first.networks() != other.networks():
            raise BadFileError(
                f"{other.path} and {first.path} hold different networks "
                f"({len(other.networks())} and {len(first.networks())}); collect both with "
                "the same --n/--indices and --seed"
            )
        for i in indices:
            if first.block_names(i) != other.block_names(i):
                raise BadFileError(
                    f"network {i} has other blocks in {other.path} than in {first.path}"
                )


def load_pair(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    indices: Sequence[int] | None,
    kinds: Sequence[str] | None = None,
    n_task: int = 80,
    seed: int = 0,
    terms: Sequence[str] = (),
) -> TaskPair:
    """Statistics of ``indices`` (default: the task networks) from one cache or a group of
    caches of the same networks (see ``cache_group``); ``kinds`` (names or shell patterns such
    as ``*_D``, matched against the kinds held) None loads every kind held;
    ``terms`` are library proxies scored on the same networks (``params`` always is)."""
    from eznas.stats import open_cache

    caches = []
    try:
        for member in cache_group(path):
            caches.append(open_cache(member))
        first = caches[0]
        if indices is None:
            indices = task_indices(first.networks(), n_task, seed)
        indices = [int(i) for i in indices]
        _check_group(caches, indices)
        held = {k: c for c in reversed(caches) for k in c.kinds}  # the first holder wins
        order = [k for k in ALL_KINDS if k in held]
        lacking = [p for p in kinds or () if not any(fnmatchcase(k, p) for k in order)]
        if lacking:
            raise BadFileError(f"{path} holds no {', '.join(lacking)}")
        kinds = match_kinds(kinds or (), order) or order
        meta = [first.meta(i) for i in indices]
        accuracy = np.array([m["accuracy"] for m in meta], dtype=float)
        attrs = first.attrs
        values = term_values(
            terms,
            attrs.get("benchmark", attrs["space"]),
            attrs["dataset"],
            int(attrs["seed"]),
            [m["arch"] for m in meta],
            np.array([m["params"] for m in meta], dtype=float),
        )
        blocks = BlockSet.build(lambda kind: held[kind].read(kind, indices), kinds)
        return TaskPair(pair_name(dict(attrs)), np.asarray(indices), accuracy, blocks, values)
    finally:
        for cache in caches:
            cache.close()


_LOADED: dict[TaskSpec, list[TaskPair]] = {}


def load_task(spec: TaskSpec) -> list[TaskPair]:
    """The task pairs of ``spec``, loaded once per process."""
    if spec not in _LOADED:
        _LOADED.clear()
        _LOADED[spec] = [
            load_pair(p, None, spec.kinds, spec.n_task, spec.seed, spec.terms) for p in spec.caches
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
    return combined_scores(individuals, component_scores, pair.term_values(positions))


OVER_PAIRS = {"min": np.min, "mean": np.mean}
"""How a draw's per-pair Kendall taus become one fitness: ``min`` is EZNAS's (the worst
pair decides); ``mean`` averages out the noise of small per-pair draws."""


def pair_kendall(
    individuals: Sequence[Individual],
    pairs: Sequence[TaskPair],
    sample: Draw,
    to_scalar: str = "mean",
    over_pairs: str = "min",
    cases: int = 0,
) -> np.ndarray:
    """Fitness of each individual: Kendall tau per drawn pair, reduced by ``over_pairs``
    (min or mean); NaN when any pair's scores are invalid. ``cases`` > 0 returns a matrix
    (individuals, 1 + drawn pairs x cases): the fitness, then the tau on each of ``cases``
    consecutive chunks of every drawn pair's networks (lexicase selection's cases,
    ``eznas.gp.evolve``), computed from the same scores."""
    taus = np.full((len(individuals), len(sample)), np.nan)
    chunk_taus = np.full((len(individuals), len(sample), cases), np.nan)
    for j, (p, positions) in enumerate(sample):
        scores = scores_on(individuals, pairs[p], positions, to_scalar)
        acc = pairs[p].accuracy[positions]
        chunks = np.array_split(np.arange(len(positions)), cases) if cases else []
        for i, row in enumerate(scores):
            if np.isfinite(row).all():
                taus[i, j] = kendall(row, acc)
                for c, chunk in enumerate(chunks):
                    chunk_taus[i, j, c] = kendall(row[chunk], acc[chunk])
    out = OVER_PAIRS[over_pairs](taus, axis=1)
    out[np.isnan(taus).any(1)] = np.nan
    if not cases:
        return out
    return np.column_stack([out, chunk_taus.reshape(len(individuals), -1)])


def fitness_chunk(spec: TaskSpec, sample: Draw, texts: Sequence[str], cases: int = 0) -> np.ndarray:
    """Worker entry point: fitness of individuals given as texts (picklable, small)."""
    individuals = parse_individuals(texts, spec.aggregate)
    pairs = load_task(spec)
    return pair_kendall(individuals, pairs, sample, spec.to_scalar, spec.over_pairs, cases)
