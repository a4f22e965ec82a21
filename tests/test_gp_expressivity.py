"""Expressivity check (issue 16, capability 7): hand-written programs reproduce library proxies.

Each anchor's program (``eznas.gp.anchors``) scores 50 real NB201 networks (a seeded sample
of the table, CIFAR-10, weights seeded as the collector does) and must rank them as the
library proxy does, Spearman >= 0.95. Like is compared with like: NASWOT runs at B = 16 on
the same 16 images the summaries are captured from (a batch-size override of its default
128), MeCo at its B = 1 on the image of the raw capture, AZ-NAS at B = 16 on the capture's
noise batch. Anchors the language does not reach are strict xfails at the same threshold,
their measured Spearman in the reason (``experiments/expressivity_check.py`` prints all).
"""

from __future__ import annotations

import pytest

from eznas.gp.anchors import ANCHORS, anchor_indices, library_scores, program_scores
from eznas.metrics import spearman

N_NETWORKS = 50
UNREACHED = {
    "az_expressivity": "0.69: AZ-NAS reads stem and cell outputs of a re-initialised copy, "
    "blocks see the node tensors inside cells",
    "az_progressivity": "0.40: the steps between cell outputs are not steps between blocks",
    "synflow": "0.81: no BN-free all-ones pass in the statistics and no path structure",
}


@pytest.fixture(scope="module")
def scores(space):
    """{proxy: (program scores, library scores)} on the same 50 networks."""
    indices = anchor_indices("nb201", N_NETWORKS, seed=0)
    anchors = list(ANCHORS.values())
    programs = program_scores(anchors, "nb201", indices)
    return {
        a.proxy: (row, library_scores(a, "nb201", indices))
        for a, row in zip(anchors, programs, strict=True)
    }


@pytest.mark.parametrize(
    "proxy",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=UNREACHED[p]))
        if p in UNREACHED
        else p
        for p in ANCHORS
    ],
)
def test_program_ranks_networks_as_the_library_proxy(scores, proxy):
    program, library = scores[proxy]
    assert len(program) == N_NETWORKS
    assert spearman(program, library) >= 0.95
