"""The evolved NB201 proxy that ships with eznas works by name wherever a proxy name does."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from eznas.correlation import run_correlation
from eznas.proxies import get_proxy
from eznas.proxies.combo import is_combo
from eznas.proxies.evolved import EVOLVED
from eznas.proxies.scoring import Scorer
from eznas.search import search_runs

DATASET = "ImageNet16-120"  # the quickest NB201 networks (inputs: CIFAR-10 images at 16x16)


def test_eznas_nb201_ships_with_its_record():
    path = EVOLVED["eznas_nb201"]
    record = path.with_suffix(".md").read_text()
    assert "eznas evolve" in record and "held-out" in record
    assert "import eznas" not in path.read_text()  # a plain torch file, as exported
    # four components and the parameter count rank-combined over the networks compared: a
    # combo of the file's parts and the library's params
    assert is_combo("eznas_nb201")
    combo = get_proxy("eznas_nb201")
    assert combo.aggregator == "logrank" and combo.name.startswith("file:eznas_nb201@")
    parts = [c.rsplit("#", 1)[-1] for c in combo.components]
    assert parts == ["0", "1", "2", "3", "params"]


def test_eznas_nb201_correlates_and_searches_by_name(tmp_path):
    report = run_correlation(
        "nb201", DATASET, ["eznas_nb201"], indices=[0, 1, 3, 9], cache=None, progress=False
    )
    assert np.isfinite(report.scores["eznas_nb201"]).all()
    summary = search_runs(
        "random",
        runs=1,
        dataset=DATASET,
        proxy="eznas_nb201",
        evaluations=4,
        cache=tmp_path / "scores.sqlite",
        progress=False,
    )
    assert len(summary.results) == 1 and summary.results[0].arch


def test_components_of_one_file_share_a_model_and_score_as_if_alone(monkeypatch):
    """A Scorer builds one model per network for an exported file's components (and
    params), and each scores exactly what it scores on a model of its own."""
    scorer = Scorer("nb201", DATASET, seed=3, cache=None)
    parts = [get_proxy(name) for name in get_proxy("eznas_nb201").components]
    assert parts[0].shares_model and parts[0].shares_model == parts[1].shares_model
    parts.insert(1, get_proxy("params"))  # only reads the model: shares any group's
    builds = []
    build = scorer.space.build
    monkeypatch.setattr(
        scorer.space, "build", lambda arch, *a: builds.append(arch) or build(arch, *a)
    )
    archs = [scorer.space.sample(np.random.default_rng(i)) for i in (1, 2)]
    shared = [[scorer(arch, p) for p in parts] for arch in archs]
    assert builds == archs  # one build per network
    alone = Scorer("nb201", DATASET, seed=3, cache=None)
    assert shared == [[alone(arch, replace(p, shares_model="")) for p in parts] for arch in archs]


def test_with_several_inits_one_model_per_init_serves_every_component(monkeypatch):
    """FreeREA averages 3 initialisations: the Scorer builds each init's model once for all
    of a file's components (component by component, every init would be rebuilt and
    captured again), and every component scores what it scores alone."""
    scorer = Scorer("nb201", DATASET, seed=3, cache=None, inits=3)
    parts = [get_proxy(name) for name in get_proxy("eznas_nb201").components]
    builds = []
    build = scorer.space.build
    monkeypatch.setattr(
        scorer.space, "build", lambda arch, *a: builds.append(arch) or build(arch, *a)
    )
    arch = scorer.space.sample(np.random.default_rng(1))
    shared = [scorer(arch, p) for p in parts]
    # one model per init for the four components, and params's own (no data: one init);
    # component by component it would be 4 x 3 + 1
    assert builds == [arch] * 4 and not scorer._pending
    alone = Scorer("nb201", DATASET, seed=3, cache=None, inits=3)
    assert shared == [alone(arch, replace(p, shares_model="")) for p in parts]
