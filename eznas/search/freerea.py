"""FreeREA (Cavagnero et al.): training-free REA with two parents, crossover and top-N.

Each step runs one tournament of size n; its two fittest archs are mutated (two children)
and crossed (a third). The oldest arch dies and the population is cut back to its N
fittest. The metric is LogSynflow, NASWOT (each averaged over 3 initialisations) and the
skip metric, normalised, summed, minus their std (``base.combine``). Constrained mode
admits only children within the FLOPs/params limits, regenerating until one is.
FreeREA^- is plain REA with the same metric.
"""

from __future__ import annotations

from collections.abc import Callable

from eznas.search.base import SearchContext, register_search
from eznas.search.rea import check_sizes, evolve, initial_population

FREEREA_PROXIES = ("naswot", "logsynflow", "skip")
MAX_TRIES = 1000  # regenerations before a constraint is declared unsatisfiable here


def feasibility(
    ctx: SearchContext, max_flops: float | None, max_params: float | None
) -> Callable[[str], bool]:
    """arch -> within the limits (raw FLOPs and parameter counts, e.g. 1e8 and 8e5)."""
    for name, value in (("max_flops", max_flops), ("max_params", max_params)):
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")

    def ok(arch: str) -> bool:  # params first: it needs no forward pass
        if max_params is not None and ctx.score(arch, "params", count=False) * 1e6 > max_params:
            return False
        return max_flops is None or ctx.score(arch, "flops", count=False) * 1e6 <= max_flops

    return ok


def _generate(ok: Callable[[str], bool], make: Callable[..., str], *args) -> str:
    """``make(*args)`` again until ``ok`` accepts its result."""
    for _ in range(MAX_TRIES):
        arch = make(*args)
        if ok(arch):
            return arch
    raise ValueError(f"no architecture within the constraints after {MAX_TRIES} tries")


@register_search("freerea", proxies=FREEREA_PROXIES, inits=3)
def freerea(
    ctx: SearchContext,
    population: int = 25,
    tournament: int = 5,
    max_flops: float | None = None,
    max_params: float | None = None,
) -> str:
    """FreeREA: 2-parent tournament, 2 mutants + 1 crossover, age out, keep the top N."""
    if tournament < 2:
        raise ValueError(f"FreeREA needs a tournament of >= 2 (two parents), got {tournament}")
    check_sizes(population, tournament)
    ok = feasibility(ctx, max_flops, max_params)
    space, rng = ctx.space, ctx.rng
    alive: list[str] = []
    while len(alive) < population and not ctx.done():
        arch = _generate(ok, space.sample, rng)
        ctx.evaluate(arch)
        alive.append(arch)
    while not ctx.done():
        picks = rng.choice(len(alive), size=tournament, replace=False)
        sample = [alive[i] for i in picks]
        order = ctx.fitness(sample).argsort(kind="stable")[::-1]
        a, b = sample[order[0]], sample[order[1]]
        children = [
            _generate(ok, space.mutate, a, rng),
            _generate(ok, space.mutate, b, rng),
            _generate(ok, space.crossover, a, b, rng),
        ]
        for child in children:
            ctx.evaluate(child)
        alive = alive[1:] + children
        keep = sorted(ctx.fitness(alive).argsort(kind="stable")[::-1][:population])
        alive = [alive[i] for i in keep]
    return ctx.best()


@register_search("freerea-", proxies=FREEREA_PROXIES, inits=3)
def freerea_minus(ctx: SearchContext, population: int = 25, tournament: int = 5) -> str:
    """FreeREA^-: vanilla REA driven by FreeREA's metric."""
    check_sizes(population, tournament)
    return evolve(ctx, initial_population(ctx, population), tournament)
