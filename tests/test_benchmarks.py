"""Benchmarks (table + space) and the table-restricted space searches use on them."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from eznas.benchmark.benchmarks import DEFAULT_SHIPPED, open_benchmark, shipped_benchmarks
from eznas.proxies.scoring import ScoreCache, Scorer
from eznas.spaces import get_space
from eznas.spaces.table import TableSpace


@pytest.fixture(scope="module")
def shipped():
    return open_benchmark(DEFAULT_SHIPPED)


def test_shipped_benchmark_opens_with_its_reduced_space(shipped):
    assert DEFAULT_SHIPPED in shipped_benchmarks()
    assert isinstance(shipped.space, TableSpace)
    assert len(shipped.space) == len(shipped.table) >= 1000
    assert shipped.space.id == "nb201-c8n1"
    assert shipped.datasets == ("digits",)
    assert shipped.info["recipe"]["epochs"] >= 1
    model = shipped.space.build(shipped.table.arch(0), "digits")
    assert model.stem[0].out_channels == 8


def test_nb201_benchmark_is_the_whole_space():
    bench = open_benchmark("nb201")
    assert len(bench.table) == 15625 and not isinstance(bench.space, TableSpace)


def test_unknown_benchmark_names_the_choices():
    with pytest.raises(ValueError, match="nb201-c8n1-digits"):
        open_benchmark("no-such-benchmark")


def _distance(space, a, b):
    return int((space.encode(a) != space.encode(b)).sum())


def test_table_space_moves_stay_in_the_table_and_are_nearest(shipped):
    """A mutation is the table arch nearest to a one-edge base mutant (never the parent)."""
    space, archs = shipped.space, set(shipped.table.archs())
    rng = np.random.default_rng(0)
    for _ in range(30):
        parent = space.sample(rng)
        mutant = space.base.mutate(parent, copy.deepcopy(rng))
        child = space.mutate(parent, rng)
        assert child in archs and child != parent
        nearest = min(_distance(space, mutant, a) for a in archs if a != parent)
        assert _distance(space, mutant, child) == nearest
        assert _distance(space, parent, child) <= 1 + nearest
        mixed = space.crossover(parent, space.sample(rng), rng)
        assert mixed in archs


def test_table_space_is_deterministic_per_seed(shipped):
    def walk(seed):
        rng = np.random.default_rng(seed)
        arch = shipped.space.sample(rng)
        return [arch := shipped.space.mutate(arch, rng) for _ in range(10)]

    assert walk(3) == walk(3)
    assert walk(3) != walk(4)


def test_table_space_rejects_archs_outside_the_table(shipped):
    outside = next(a for a in get_space("nb201") if a not in set(shipped.table.archs()))
    with pytest.raises(ValueError, match="not one of the 1000 archs"):
        shipped.space.validate(outside)


def test_score_cache_separates_space_sizes(tmp_path, shipped):
    """The same arch string in a reduced space is a different model: scores must not mix."""
    cache = ScoreCache(tmp_path / "s.sqlite")
    arch = shipped.table.arch(0)
    small = Scorer(shipped.space, "cifar10", cache=cache)(arch, "params")
    full = Scorer("nb201", "cifar10", cache=cache)(arch, "params")
    assert small < full
    assert len(cache) == 2
