"""10,000 random, mutated and crossed programs on a real statistics cache: nothing escapes.

Runs the benchmark script ``experiments/bench_programs.py`` (its numbers are in the README):
DEAP's generators over the whole primitive set at depths 1-10, plus DEAP's mutation and
crossover of them, evaluated on 4 real NB201 networks.
"""

from __future__ import annotations

import importlib.util
import resource
from pathlib import Path

import pytest

from eznas.gp.fitness import load_pair
from eznas.gp.program import KINDS
from eznas.stats import collect

SCRIPT = Path(__file__).resolve().parent.parent / "experiments" / "bench_programs.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_programs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ten_thousand_programs_evaluate_without_escaping_exceptions(bench, tmp_path):
    path = collect("nb201", "ImageNet16-120", n=4, seed=0, out=tmp_path, progress=False)
    blocks = load_pair(str(path), None, KINDS, n_task=4, seed=0).blocks
    trees = bench.random_programs(10_000, seed=0)
    assert min(t.height for t in trees) <= 1 and max(t.height for t in trees) >= 10
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = bench.check(trees, blocks)
    assert result["escaped"] == []
    assert result["mixed_rows"] == 0  # a non-finite score makes the whole row NaN (invalid)
    assert 0 < result["valid"] < result["programs"]
    assert result["peak_rss_mb"] - before < 1024  # bounded: MEMO_BYTES caps shared subtrees
