"""Rank metrics between proxy scores and true accuracies; NaN scores are dropped and counted.

Kendall/Spearman come from scipy. The top-k variants follow the zero-cost literature:
correlations restricted to the top 10% by accuracy, the share of the top 10% by score that
is top 10% by accuracy, and how many of the 64 best-scored networks are top 5% by accuracy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

COLUMNS = (
    "kendall",
    "spearman",
    "kendall_top10",
    "spearman_top10",
    "top10_top10",
    "top64_top5",
    "n",
    "nan",
)


@dataclass(frozen=True)
class Correlation:
    kendall: float
    spearman: float
    kendall_top10: float
    spearman_top10: float
    top10_top10: float  # % of top-10% by score that are top-10% by accuracy
    top64_top5: int  # of the top-64 by score, how many are top-5% by accuracy
    n: int  # networks used (every score but NaN)
    nan: int  # networks dropped for a NaN score

    def as_dict(self) -> dict:
        return asdict(self)


def _top(values: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the best ``ceil(fraction * n)`` values (at least one)."""
    return _best(values, max(1, int(np.ceil(round(fraction * len(values), 9)))))


def _best(values: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-values, kind="stable")[:k]


def kendall(scores, accuracies) -> float:
    """Kendall tau-b over non-NaN scores; NaN if fewer than two or a constant side."""
    s, a = _scored(scores, accuracies)[:2]
    if len(s) < 2:
        return float("nan")
    return float(stats.kendalltau(s, a).statistic)


def kendall_within(scores, accuracies, groups, least: int = 10) -> float:
    """Kendall tau inside each group of equal ``groups`` value (groups of at least ``least``
    networks), averaged weighted by size: how a proxy ranks networks that e.g. a depth
    count cannot tell apart. NaN if no group qualifies."""
    scores, accuracies, groups = np.asarray(scores), np.asarray(accuracies), np.asarray(groups)
    found = []
    for value in np.unique(groups):
        rows = np.flatnonzero(groups == value)
        if len(rows) >= least:
            tau = kendall(scores[rows], accuracies[rows])
            if np.isfinite(tau):
                found.append((len(rows), tau))
    if not found:
        return float("nan")
    return sum(n * t for n, t in found) / sum(n for n, _ in found)


def spearman(scores, accuracies) -> float:
    s, a = _scored(scores, accuracies)[:2]
    if len(s) < 2:
        return float("nan")
    return float(stats.spearmanr(s, a).statistic)


def _scored(scores, accuracies) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop NaN scores (no score at all, as epsilon's vanishing outputs); keep +-inf, which
    rank as the extremes they are (naswot's log-determinant of a singular kernel is -inf)."""
    s = np.asarray(scores, dtype=np.float64)
    a = np.asarray(accuracies, dtype=np.float64)
    if s.shape != a.shape or s.ndim != 1:
        raise ValueError(f"scores {s.shape} and accuracies {a.shape} must be 1-D of equal length")
    keep = ~np.isnan(s)
    return s[keep], a[keep], int((~keep).sum())


def correlate(scores, accuracies) -> Correlation:
    """All rank metrics of ``scores`` against ``accuracies``; NaN scores are dropped."""
    s, a, dropped = _scored(scores, accuracies)
    n = len(s)
    if n < 2:
        nan = float("nan")
        return Correlation(nan, nan, nan, nan, nan, 0, n, dropped)
    top_acc10 = _top(a, 0.10)
    top_score10 = _top(s, 0.10)
    top_acc5 = _top(a, 0.05)
    top_score64 = _best(s, 64)
    return Correlation(
        kendall=kendall(s, a),
        spearman=spearman(s, a),
        kendall_top10=kendall(s[top_acc10], a[top_acc10]),
        spearman_top10=spearman(s[top_acc10], a[top_acc10]),
        top10_top10=100.0 * len(np.intersect1d(top_score10, top_acc10)) / len(top_acc10),
        top64_top5=len(np.intersect1d(top_score64, top_acc5)),
        n=n,
        nan=dropped,
    )
