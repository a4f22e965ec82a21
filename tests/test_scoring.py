import math
from dataclasses import replace

import numpy as np
import pytest

from eznas.correlation import run_correlation
from eznas.proxies import get_proxy
from eznas.proxies.scoring import ScoreCache, Scorer

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def test_score_cache_round_trip_including_nan(tmp_path):
    cache = ScoreCache(tmp_path / "s.sqlite")
    cache.put("nb201", "cifar10", "x", 0, ARCH, float("nan"), 0.5)
    cache.put("nb201", "cifar10", "y", 0, ARCH, 1.25, 0.1)
    assert math.isnan(cache.get("nb201", "cifar10", "x", 0, ARCH)[0])
    assert cache.get("nb201", "cifar10", "y", 0, ARCH) == (1.25, 0.1)
    assert cache.get("nb201", "cifar10", "y", 1, ARCH) is None
    assert len(ScoreCache(tmp_path / "s.sqlite")) == 2


def test_scorer_caches_and_is_deterministic(tmp_path):
    first = Scorer("nb201", "cifar10", 0, cache=tmp_path / "s.sqlite")
    value = first(ARCH, "flops")
    assert first.misses == 1 and first.hits == 0
    second = Scorer("nb201", "cifar10", 0, cache=tmp_path / "s.sqlite")
    assert second(ARCH, "flops") == value and second.hits == 1
    assert second.compute_seconds == pytest.approx(first.compute_seconds)
    assert Scorer("nb201", "cifar10", 0)(ARCH, "flops") == value


def test_correlation_resumes_from_cache(tmp_path):
    cache = tmp_path / "s.sqlite"
    partial = run_correlation(proxies=["params"], n=30, seed=1, cache=cache, progress=False)
    assert partial.cached == 0
    # the same report again is answered entirely from the cache
    full = run_correlation(proxies=["params"], n=30, seed=1, cache=cache, progress=False)
    assert full.cached == 30
    np.testing.assert_array_equal(partial.scores["params"], full.scores["params"])


def test_a_redefined_proxy_does_not_reuse_scores_cached_under_its_old_definition(tmp_path):
    cache = tmp_path / "s.sqlite"
    old = Scorer("nb201", "cifar10", 0, cache=cache)
    old(ARCH, "flops")
    redefined = replace(get_proxy("flops"), version=2)
    new = Scorer("nb201", "cifar10", 0, cache=cache)
    new(ARCH, redefined)
    assert new.misses == 1 and new.hits == 0
    assert len(ScoreCache(cache)) == 2
