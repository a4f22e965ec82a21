"""One evolution over two spaces (issue 15, transfer item 2): NAS-Bench-Macro (Conv-BN-ReLU)
and NB301 (ReLU-Conv-BN) networks, real CIFAR-10 images, sample-axis summaries collected as
a kind subset, no space-specific code in ``stats`` or ``gp``."""

from __future__ import annotations

import numpy as np
import pytest

from eznas.correlation import run_correlation
from eznas.gp import EvolveConfig, evolve
from eznas.gp.fitness import load_pair, scores_on
from eznas.gp.individual import parse_individual
from eznas.stats import SUMMARY_KINDS, collect, open_cache

B = 16
KINDS = ["S_*", "K_*", "L_*"]
SPACES = {"nbmacro": [0, 4000], "nb301": [0, 1]}  # two networks each


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    out = tmp_path_factory.mktemp("stats")
    return {
        space: collect(
            space,
            "cifar10",
            indices=indices,
            batch_size=B,
            summaries=True,
            kinds=KINDS,
            out=out,
            progress=False,
        )
        for space, indices in SPACES.items()
    }


def test_an_evolution_spans_spaces_and_its_export_scores_each(caches, tmp_path):
    sample_axis = [k for k in SUMMARY_KINDS if k.startswith(("S_", "K_", "L_"))]
    for space, path in caches.items():
        with open_cache(path) as cache:
            assert list(cache.kinds) == sample_axis and cache.attrs["space"] == space
    config = EvolveConfig(
        caches=[str(p) for p in caches.values()], population=6, generations=1, n_task=2,
        per_pair=2, components=2, net_ops=["mean", "min_step"], terms=["params"],
        kinds=KINDS, seed=0,
    )  # fmt: skip
    run = evolve(config, tmp_path / "run", verbose=False)
    assert run.generation == 1 and len(run.population) == 6
    # the run's choice, exported, scores each space's live networks on that space's own
    # blocks (eznas passes the space's pattern) exactly as the evolver scored its cache
    best = parse_individual(run.choose("final")[0], config.aggregate)
    for space, path in caches.items():
        pair = load_pair(path, None, n_task=2)
        expected = scores_on([best], pair, [0, 1], config.to_scalar)[0]
        file = run.export(tmp_path / f"{space}_proxy.py", select="final")
        report = run_correlation(
            space, "cifar10", [str(file)], seed=0, indices=SPACES[space], cache=None,
            progress=False,
        )  # fmt: skip
        np.testing.assert_allclose(report.scores[str(file)], expected, rtol=1e-5)
