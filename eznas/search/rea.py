"""Regularised (aging) evolution (Real et al.) and NASWOT's Assisted REA (AREA).

Fitness is whatever the context scores: one proxy, several combined (FreeREA^- is REA
with FreeREA's metric, registered in ``freerea.py``) or the ground truth as an oracle.
"""

from __future__ import annotations

from collections import deque

from eznas.search.base import SearchContext, register_search


def check_sizes(population: int, tournament: int) -> None:
    if population < 1 or not 1 <= tournament <= population:
        raise ValueError(
            f"need population >= 1 and 1 <= tournament <= population, "
            f"got population={population}, tournament={tournament}"
        )


def evolve(ctx: SearchContext, population: list[str], tournament: int) -> str:
    """Aging evolution from ``population``: mutate the tournament winner, drop the oldest."""
    alive = deque(population)
    while not ctx.done():
        picks = ctx.rng.choice(len(alive), size=tournament, replace=False)
        sample = [alive[i] for i in picks]
        parent = sample[int(ctx.fitness(sample).argmax())]
        child = ctx.space.mutate(parent, ctx.rng)
        ctx.evaluate(child)
        alive.append(child)
        alive.popleft()
    return ctx.best()


def initial_population(ctx: SearchContext, size: int) -> list[str]:
    archs = []
    while len(archs) < size and not ctx.done():
        arch = ctx.space.sample(ctx.rng)
        ctx.evaluate(arch)
        archs.append(arch)
    return archs


@register_search("rea", proxies=("naswot",))
def rea(ctx: SearchContext, population: int = 10, tournament: int = 3) -> str:
    """REA: random population P, tournament S, mutate the best of the sample, age out."""
    check_sizes(population, tournament)
    return evolve(ctx, initial_population(ctx, population), tournament)


@register_search("area", proxies=("naswot",))
def area(ctx: SearchContext, population: int = 10, tournament: int = 3) -> str:
    """AREA: sample 2P random archs, keep the top P by fitness, then REA."""
    check_sizes(population, tournament)
    pool = initial_population(ctx, 2 * population)
    order = ctx.fitness(pool).argsort(kind="stable")[::-1]
    return evolve(ctx, [pool[i] for i in sorted(order[:population])], tournament)
