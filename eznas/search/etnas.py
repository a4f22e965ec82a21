"""ET-NAS (Efficient near-Training-free NAS): degree-gated aging evolution, then a Pareto pick.

Evolution: P random archs scored by the driver proxy (LogSynflow); until the history holds
C archs, the fittest of a tournament of S is mutated and the child is accepted (into the
population, oldest out, and the newGen pool) if its degree is >= its parent's and it is
new. Selection: NASWOT on newGen, the Pareto front of (NASWOT, driver), LossSlope on the
front, each divided by its maximum (absolute value); the answer is the front member closest
to the utopian point (1, 1, 1), or with ``rank`` the best sum of the three ranks.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from deap import base, tools

from eznas.search.base import SearchContext, register_search
from eznas.search.rea import check_sizes


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows of ``points`` no other row dominates, maximising.

    DEAP's non-dominated sort does the work; NaN scores count as the worst value.
    """
    points = np.nan_to_num(np.asarray(points, dtype=float), nan=-np.inf)
    maximise = type("Maximise", (base.Fitness,), {"weights": (1.0,) * points.shape[1]})
    rows = [_Row(i, maximise(tuple(row))) for i, row in enumerate(points)]
    first = tools.sortNondominated(rows, len(rows), first_front_only=True)[0]
    return np.array(sorted(row.index for row in first), dtype=int)


class _Row:
    """A row of scores in the shape DEAP's sorts take: something with a ``fitness``."""

    def __init__(self, index: int, fitness: base.Fitness):
        self.index, self.fitness = index, fitness


def pick(scores: np.ndarray, rank: bool) -> int:
    """Index of the chosen row of (archs x metrics): utopian distance or rank sum."""
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    if rank:
        ranks = (-scores).argsort(axis=0, kind="stable").argsort(axis=0, kind="stable")
        return int(ranks.sum(axis=1).argmin())
    peak = np.abs(scores).max(axis=0)
    norm = scores / np.where(peak > 0, peak, 1.0)
    return int(np.linalg.norm(norm - 1.0, axis=1).argmin())


@register_search("etnas", proxies=("logsynflow",), needs_budget=False)
def etnas(
    ctx: SearchContext,
    population: int = 20,
    cycles: int = 60,
    tournament: int = 5,
    degree: bool = True,
    rank: bool = False,
    front_proxy: str = "naswot",
    final_proxy: str = "lossslope",
    degree_proxy: str = "degree",
) -> str:
    """ET-NAS: evolve by the driver proxy with a degree gate, pick on a Pareto front."""
    check_sizes(population, tournament)
    if cycles < population:
        raise ValueError(f"cycles ({cycles}) must be >= population ({population})")
    space, rng = ctx.space, ctx.rng
    alive: deque[str] = deque()
    history: list[str] = []
    while len(alive) < population and not ctx.done():
        arch = space.sample(rng)
        ctx.evaluate(arch)
        alive.append(arch)
        history.append(arch)
    known = set(history)
    new_gen: list[str] = []
    while len(history) < cycles and not ctx.done():
        picks = rng.choice(len(alive), size=tournament, replace=False)
        sample = [alive[i] for i in picks]
        parent = sample[int(ctx.fitness(sample).argmax())]
        child = space.mutate(parent, rng)
        grows = not degree or ctx.score(child, degree_proxy, count=False) >= ctx.score(
            parent, degree_proxy, count=False
        )
        if grows and child not in known:
            ctx.evaluate(child)
            alive.popleft()
            alive.append(child)
            new_gen.append(child)
        history.append(child)
        known.add(child)
    candidates = new_gen or list(alive)
    driver = ctx.fitness(candidates)
    front_scores = np.array([ctx.score(a, front_proxy) for a in candidates])
    front = pareto_front(np.column_stack([front_scores, driver]))
    final = np.array([ctx.score(candidates[i], final_proxy) for i in front])
    table = np.column_stack([front_scores[front], driver[front], final])
    chosen = candidates[front[pick(table, rank)]]
    ctx.details.update(
        new_gen=len(new_gen), front=[candidates[i] for i in front], history=len(history)
    )
    return chosen
