"""Hand-written programs that reproduce library proxies: the expressivity check.

Each anchor pairs a library proxy with the closest program of the language (an individual
text, ``net_op:tree``) and the batch the two are compared at. Programs are scored the way
held-out networks are (``eznas.gp.holdout.holdout_scores``: live seeded models, raw kinds
captured at B = 1 and summary kinds at B = 16, the collector's seeded D/N/P batches); the
library proxy through ``Scorer`` with the same seed, so the same weights and, at the same
batch size, the same images (``data_batch`` is what ``make_batches`` calls) and the same
noise (AZ-NAS's Gaussian batch is drawn as the collector's N).

- NASWOT: log det of the sum over ReLUs of N_l K_l (K_l a ReLU's code-agreement kernel as
  a fraction of its N_l units). The program sums det(N_l K_l)^(1/B) over blocks (``trace``
  of K is B): Minkowski's determinant inequality makes that a lower bound of
  det(sum_l N_l K_l)^(1/B), a monotone function of NASWOT.
- MeCo: the sum over feature maps of the smallest eigenvalue of one image's channel
  correlation; per block its ReLU output, its conv output and its BN output (which has the
  conv output's correlations, so T4 counts twice).
- AZ-NAS expressivity and progressivity: the mean and the smallest step over the stage
  maps (T6: the stem and cell outputs but the last, where AZ-NAS reads its features) of the
  spectral entropy of the noise features' channel covariance, of the same
  Kaiming-re-initialised copy. (Over the blocks' stage inputs, T5, progressivity misses the
  input of a cell without a conv, which no block reads: Spearman 0.83.)
- Synflow: sum over blocks of sum(T4_O * T4G_O), the conv output times its gradient on
  synflow's own pass (all-ones input, |weights|, BN as identity, float64; the flow kinds of
  ``eznas.runtime``), which is exactly synflow's sum of |theta * dR/dtheta| over the blocks'
  convs. The stem, the shortcut convs and the classifier are no block's, so they are missing.
- LogSynflow (FreeREA): sum over blocks of |T3| * log(T3G_O), the weights times the log of
  their flow gradient (the language's log is log(|x| + 1e-12); FreeREA's code takes
  log(1 + g)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from eznas.benchmark.benchmarks import Benchmark, as_benchmark
from eznas.gp.holdout import holdout_indices, holdout_scores
from eznas.gp.individual import parse_individuals
from eznas.proxies.az_nas import kaiming_fanin_copy
from eznas.proxies.scoring import Scorer
from eznas.runtime import parse_kind

SUMMARY_BATCH = 16


@dataclass(frozen=True)
class Anchor:
    """A library proxy, the program that reproduces it, the batch both are scored at, and
    the re-initialisation the proxy applies before it reads the network (the program reads
    the same re-initialised copy: like is compared with like)."""

    proxy: str
    program: str
    batch_size: int
    reinit: Callable[[nn.Module, int], nn.Module] | None = None


ANCHORS: dict[str, Anchor] = {
    a.proxy: a
    for a in (
        Anchor(
            "naswot",
            "sum:mul(sum(sign(sigmoid(T1_D))), exp(div(logdet(K_T1_D), trace(K_T1_D))))",
            SUMMARY_BATCH,
        ),
        Anchor(
            "meco",
            "sum:add(eig_min(corr_channel(T2_D)), "
            "add(eig_min(corr_channel(T4_D)), eig_min(corr_channel(T4_D))))",
            1,
        ),
        Anchor(
            "az_expressivity",
            "mean:eig_entropy(C_T6_N)",
            SUMMARY_BATCH,
            kaiming_fanin_copy,
        ),
        Anchor(
            "az_progressivity",
            "min_step:eig_entropy(C_T6_N)",
            SUMMARY_BATCH,
            kaiming_fanin_copy,
        ),
        Anchor(
            "synflow",
            "sum:sum(mul(T4_O, T4G_O))",
            1,
        ),
        Anchor(
            "logsynflow",
            "sum:sum(mul(abs(T3), log(T3G_O)))",
            1,
        ),
    )
}
"""Anchors by library proxy name."""


def anchor_indices(benchmark: Benchmark | str = "nb201", n: int = 50, seed: int = 0) -> np.ndarray:
    """The ``n`` table rows the check uses: a seeded sample of the whole table."""
    return holdout_indices(len(as_benchmark(benchmark).table), [], n, seed)


def program_scores(
    anchors: Sequence[Anchor],
    benchmark: Benchmark | str,
    indices: Sequence[int],
    dataset: str = "cifar10",
    seed: int = 0,
) -> np.ndarray:
    """(anchors, networks): each anchor's program on live networks (re-initialised as its
    proxy does), raw kinds captured at B = 1 and summary kinds at B = ``SUMMARY_BATCH``
    (only the kinds the programs read)."""
    rows: dict[str, np.ndarray] = {}
    for reinit in dict.fromkeys(a.reinit for a in anchors):
        mine = [a for a in anchors if a.reinit is reinit]
        individuals = parse_individuals([a.program for a in mine])
        kinds = {k for ind in individuals for c in ind.components for k in c.program.kinds}
        raw = [k for k in kinds if parse_kind(k).summary is None]
        summaries = [k for k in kinds if parse_kind(k).summary is not None]
        captures = [(b, ks) for b, ks in ((1, raw), (SUMMARY_BATCH, summaries)) if ks]
        scores = holdout_scores(
            individuals,
            benchmark,
            dataset,
            indices,
            seed=seed,
            captures=captures,
            progress=False,
            reinit=reinit,
        )
        rows.update(zip((a.proxy for a in mine), scores, strict=True))
    return np.array([rows[a.proxy] for a in anchors])


def library_scores(
    anchor: Anchor,
    benchmark: Benchmark | str,
    indices: Sequence[int],
    dataset: str = "cifar10",
    seed: int = 0,
) -> np.ndarray:
    """The library proxy's scores of the same networks at the anchor's batch size (no cache)."""
    bench = as_benchmark(benchmark)
    scorer = Scorer(
        bench.space, dataset, seed, data_dir=bench.data_dir, batch_size=anchor.batch_size
    )
    return np.array([scorer(bench.table.arch(int(i)), anchor.proxy) for i in indices])
