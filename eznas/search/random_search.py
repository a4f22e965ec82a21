"""NASWOT's search (Mellor et al., Algorithm 1): score random architectures, keep the best."""

from __future__ import annotations

from eznas.search.base import SearchContext, register_search


@register_search("random", proxies=("naswot",))
def random_search(ctx: SearchContext) -> str:
    """Score random archs until the budget ends (N archs = an evaluation budget of N)."""
    while not ctx.done():
        ctx.evaluate(ctx.space.sample(ctx.rng))
    return ctx.best()
