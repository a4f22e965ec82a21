"""Expressivity check (issue 16, capability 7): hand-written programs reproduce library proxies.

Each anchor's program (``eznas.gp.anchors``) scores 50 real NB201 networks (a seeded sample
of the table, CIFAR-10, weights seeded as the collector does) and must rank them as the
library proxy does, Spearman >= 0.95. Like is compared with like: NASWOT runs at B = 16 on
the same 16 images the summaries are captured from (a batch-size override of its default
128), MeCo at its B = 1 on the image of the raw capture, AZ-NAS's expressivity and
progressivity on the stage maps (T6, its stem and cell outputs) of the re-initialised copy
it scores, synflow and LogSynflow on the flow kinds (their own all-ones pass through the
|weights|, BN-free copy). ``experiments/expressivity_check.py`` prints every anchor's numbers.
"""

from __future__ import annotations

import pytest

from eznas.gp.anchors import ANCHORS, anchor_indices, library_scores, program_scores
from eznas.metrics import spearman

N_NETWORKS = 50
REACHED = tuple(ANCHORS)


@pytest.fixture(scope="module")
def scores():
    """{proxy: (program scores, library scores)} on the same 50 networks."""
    indices = anchor_indices("nb201", N_NETWORKS, seed=0)
    anchors = [ANCHORS[p] for p in REACHED]
    programs = program_scores(anchors, "nb201", indices)
    return {
        a.proxy: (row, library_scores(a, "nb201", indices))
        for a, row in zip(anchors, programs, strict=True)
    }


@pytest.mark.parametrize("proxy", REACHED)
def test_program_ranks_networks_as_the_library_proxy(scores, proxy):
    program, library = scores[proxy]
    assert len(program) == N_NETWORKS
    assert spearman(program, library) >= 0.95
