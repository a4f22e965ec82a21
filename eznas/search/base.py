"""The search registry (``@register_search("freerea")``) and the context every search uses.

A search algorithm is ``fn(ctx, **options) -> arch``. The context owns everything the
algorithms share: the space and seeded RNG, proxy scores through the Scorer (so the
score cache and cold-time accounting work the same for all of them), the budget, the
fitness of a set of archs, and the record of what was evaluated when.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from eznas.benchmark import AccuracyTable
from eznas.proxies import check_spaces, get_proxy
from eznas.proxies.combo import is_combo
from eznas.proxies.scoring import Scorer
from eznas.ranks import AGGREGATORS
from eznas.search.budget import IDLE_LIMIT, Budget
from eznas.spaces import SearchSpace

ORACLE = "oracle"  # fitness = ground-truth test accuracy (a reference, not a proxy)
SearchFn = Callable[..., str]


@dataclass(frozen=True)
class SearchAlgorithm:
    """A registered search: its function, default proxies and initialisations per score."""

    name: str
    fn: SearchFn
    proxies: tuple[str, ...]
    inits: int = 1
    needs_budget: bool = True
    description: str = ""

    def options(self) -> tuple[str, ...]:
        """Keyword options the algorithm accepts (everything after ``ctx``)."""
        return tuple(inspect.signature(self.fn).parameters)[1:]


SEARCHES: dict[str, SearchAlgorithm] = {}


def register_search(
    name: str, *, proxies: Sequence[str], inits: int = 1, needs_budget: bool = True
) -> Callable[[SearchFn], SearchFn]:
    """Register ``fn(ctx, **options) -> arch`` as ``name`` with its default fitness proxies."""

    def add(fn: SearchFn) -> SearchFn:
        if name in SEARCHES:
            raise ValueError(f"search {name!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        SEARCHES[name] = SearchAlgorithm(
            name, fn, tuple(proxies), inits, needs_budget, doc[0] if doc else ""
        )
        return fn

    return add


def get_search(name: str) -> SearchAlgorithm:
    try:
        return SEARCHES[name]
    except KeyError:
        raise ValueError(
            f"unknown search {name!r}; available: {', '.join(sorted(SEARCHES))}"
        ) from None


def combine(
    scores: np.ndarray,
    aggregator: str = "zsum",
    groups: Sequence[tuple[str | None, Sequence[int]]] = (),
) -> np.ndarray:
    """One fitness per row of raw scores (archs x proxies), relative to all rows (every
    arch evaluated so far), higher is better.

    ``groups`` first turns each (aggregator, column indices) into one column: a combo's
    members by its aggregator, a plain proxy's one column (aggregator None) as it is; so a
    combo can be one of several proxies. A single column is used as is; several are
    aggregated by ``aggregator`` (see ``eznas.proxies.combo``), by default FreeREA's: each
    min-max normalised, summed, minus their standard deviation. Non-finite fitness (NaN,
    NASWOT's -inf) becomes -inf.
    """
    scores = np.asarray(scores, dtype=float)
    if groups:
        scores = np.column_stack(
            [AGGREGATORS[a](scores[:, cols]) if a else scores[:, cols[0]] for a, cols in groups]
        )
    fitness = scores[:, 0].copy() if scores.shape[1] == 1 else AGGREGATORS[aggregator](scores)
    fitness[~np.isfinite(fitness)] = -np.inf
    return fitness


@dataclass
class SearchContext:
    """Shared state of one search run; algorithms call ``evaluate``, ``fitness``, ``done``."""

    space: SearchSpace
    rng: np.random.Generator
    scorer: Scorer
    budget: Budget
    proxies: tuple[str, ...]
    table: AccuracyTable | None = None
    seen: dict[str, np.ndarray] = field(default_factory=dict)  # arch -> raw fitness scores
    scored: set[str] = field(default_factory=set)  # archs any proxy was computed for
    events: list[tuple[float, str]] = field(default_factory=list)  # (seconds, arch) on arrival
    aggregator: str = "zsum"  # how several proxies combine (a lone combo: its own)
    groups: list[tuple[str | None, list[int]]] = field(default_factory=list)  # see combine
    idle: int = 0
    scorer_wall: float = 0.0  # wall time spent inside the scorer (cache lookups included)
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if ORACLE in self.proxies and self.table is None:
            raise ValueError("the oracle fitness needs a ground-truth table")
        if any(is_combo(p) for p in self.proxies):  # score the members, combine each combo
            columns: list[str] = []
            for name in self.proxies:
                combo = get_proxy(name) if is_combo(name) else None
                members = combo.components if combo else (name,)
                at = list(range(len(columns), len(columns) + len(members)))
                self.groups.append((combo.aggregator if combo else None, at))
                columns += members
            if len(self.groups) == 1:  # a lone combo is the whole fitness
                self.aggregator, self.groups = self.groups[0][0], []
            self.proxies = tuple(columns)
        check_spaces([p for p in self.proxies if p != ORACLE], self.space.name)
        self._start = self.scorer.compute_seconds

    @property
    def seconds(self) -> float:
        """Cold-equivalent search time so far: the proxies' real computation."""
        return self.scorer.compute_seconds - self._start

    @property
    def evaluations(self) -> int:
        return len(self.scored)

    def done(self) -> bool:
        return self.budget.exhausted(self.seconds, self.evaluations) or self.idle >= IDLE_LIMIT

    def score(self, arch: str, proxy: str, count: bool = True) -> float:
        """One proxy score of ``arch`` (``"oracle"`` reads the ground truth).

        ``count=False`` for checks (FLOPs/params limits) that should cost time but not
        count as an evaluated architecture.
        """
        if count:
            self.scored.add(arch)
        if proxy == ORACLE:
            return self.table.accuracy(arch, self.scorer.dataset)
        start = time.perf_counter()
        value = self.scorer(arch, proxy)
        self.scorer_wall += time.perf_counter() - start
        return value

    def evaluate(self, arch: str) -> np.ndarray:
        """Raw fitness scores of ``arch`` (computed once per run)."""
        if arch in self.seen:
            self.idle += 1
            return self.seen[arch]
        self.idle = 0
        row = np.array([self.score(arch, p) for p in self.proxies], dtype=float)
        self.seen[arch] = row
        self.events.append((self.seconds, arch))
        return row

    def fitness(self, archs: Sequence[str]) -> np.ndarray:
        """Fitness of evaluated ``archs``, normalised over everything evaluated so far."""
        for arch in archs:
            if arch not in self.seen:
                self.evaluate(arch)
        row = {a: i for i, a in enumerate(self.seen)}
        fitness = combine(np.array(list(self.seen.values())), self.aggregator, self.groups)
        return fitness[[row[a] for a in archs]]

    def best(self, archs: Sequence[str] | None = None) -> str:
        """The fittest of ``archs`` (default: every arch evaluated in this run)."""
        archs = list(self.seen) if archs is None else list(archs)
        if not archs:
            raise ValueError("the budget ended before any architecture was evaluated")
        return archs[int(np.argmax(self.fitness(archs)))]

    def trajectory(self) -> list[tuple[float, str]]:
        """(seconds, best arch so far) each time a new arch arrived, by the run's metric."""
        points, archs = [], []
        table = np.array(list(self.seen.values()))
        for i, (seconds, arch) in enumerate(self.events):
            archs.append(arch)
            fit = combine(table[: i + 1], self.aggregator, self.groups)
            points.append((seconds, archs[int(np.argmax(fit))]))
        return points


@dataclass
class SearchResult:
    """One run: the chosen arch, its true accuracy, cost and trajectory."""

    algo: str
    dataset: str
    seed: int
    arch: str
    accuracy: float
    evaluated: int
    seconds: float  # cold-equivalent: proxies' real computation + the search's own overhead
    wall: float  # this run's wall time (small when the score cache was warm)
    hits: int
    misses: int
    trajectory: list[tuple[float, float]]  # (cold seconds, test accuracy of best so far)
    details: dict = field(default_factory=dict)

    @property
    def cache_state(self) -> str:
        if self.misses == 0:
            return "warm" if self.hits else "none"
        return "cold" if self.hits == 0 else f"partly warm ({self.hits}/{self.hits + self.misses})"

    def line(self) -> str:
        return (
            f"seed {self.seed:>3}  acc {self.accuracy:6.2f}  archs {self.evaluated:>4}  "
            f"cold {self.seconds:7.1f} s  wall {self.wall:7.1f} s  {self.cache_state}  "
            f"{self.arch}"
        )

    def as_dict(self) -> dict:
        return {
            "algo": self.algo,
            "dataset": self.dataset,
            "seed": self.seed,
            "arch": self.arch,
            "accuracy": self.accuracy,
            "evaluated": self.evaluated,
            "cold_seconds": round(self.seconds, 3),
            "wall_seconds": round(self.wall, 3),
            "hits": self.hits,
            "misses": self.misses,
        }
