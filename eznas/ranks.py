"""Rank aggregation: one score per network from several scores, relative to the set compared.

AZ-NAS, VKDNW's aggregated form, TE-NAS and FreeREA combine components by ranks or min-max
normalisation over the networks being compared, so no component's scale dominates. The
aggregators live below both the evolver (rank-combined individuals) and the proxy library
(combos) and take a networks x components matrix, higher is better throughout:

- ``logrank`` sum over components of log(rank / n), AZ-NAS's non-linear aggregation: a
  network must rank well on every component, one bad rank costs much more than a good one
  gains.
- ``ranksum`` sum of ranks (TE-NAS).
- ``zsum`` FreeREA: each component min-max normalised over the set, summed, minus their
  standard deviation (networks only one proxy likes are penalised).

Ranks are scipy's average ranks. A NaN or -inf component score ranks below every finite
one (as AZ-NAS's code maps NaN to -inf); ``zsum`` instead leaves non-finite scores out of
the normalisation and gives the network -inf.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

Aggregator = Callable[[np.ndarray], np.ndarray]
AGGREGATORS: dict[str, Aggregator] = {}


def register_aggregator(name: str) -> Callable[[Aggregator], Aggregator]:
    """Register ``fn(scores: networks x components) -> one value per network``."""

    def add(fn: Aggregator) -> Aggregator:
        if name in AGGREGATORS:
            raise ValueError(f"aggregator {name!r} is already registered")
        AGGREGATORS[name] = fn
        return fn

    return add


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Average ranks (1 = worst) per column; NaN and -inf tie below every finite score."""
    return rankdata(np.where(np.isnan(scores), -np.inf, scores), axis=0)


@register_aggregator("logrank")
def logrank(scores: np.ndarray) -> np.ndarray:
    """AZ-NAS: sum over components of log(rank / n)."""
    return np.log(_ranks(scores) / len(scores)).sum(axis=1)


@register_aggregator("ranksum")
def ranksum(scores: np.ndarray) -> np.ndarray:
    """TE-NAS: sum of the components' ranks."""
    return _ranks(scores).sum(axis=1)


@register_aggregator("zsum")
def zsum(scores: np.ndarray) -> np.ndarray:
    """FreeREA: min-max normalised over the set, summed, minus the components' std."""
    scores = np.where(np.isfinite(scores), scores, np.nan)
    with np.errstate(all="ignore"):
        low, high = np.nanmin(scores, axis=0), np.nanmax(scores, axis=0)
        span = np.where(high > low, high - low, 1.0)
        norm = (scores - low) / span
        fitness = norm.sum(axis=1) - norm.std(axis=1)
    return np.where(np.isfinite(fitness), fitness, -np.inf)
