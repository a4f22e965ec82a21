"""Searches on the real NB201 ground truth and real networks (params/flops/oracle fitness)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from eznas.cli import main
from eznas.search import Budget, search, search_runs
from eznas.search.base import combine
from eznas.search.etnas import pareto_front, pick
from eznas.spaces.cost import count_flops, count_params

# ET-NAS with cheap stand-ins for LogSynflow / NASWOT / LossSlope / degree
ETNAS_CHEAP = dict(
    proxy="params", front_proxy="oracle", final_proxy="params", degree_proxy="params"
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("search") / "scores.sqlite"


@pytest.mark.parametrize(
    "algo, kwargs",
    [
        ("random", dict(proxy="params", evaluations=12)),
        ("rea", dict(proxy="params", evaluations=20)),
        ("area", dict(proxy="params", evaluations=20)),
        ("freerea", dict(proxy=["oracle", "params"], evaluations=30)),
        ("freerea-", dict(proxy=["oracle", "params"], evaluations=30)),
        ("etnas", dict(ETNAS_CHEAP, population=8, cycles=20)),
    ],
)
def test_each_search_is_deterministic_per_seed(algo, kwargs, cache):
    first = search(algo, seed=3, cache=cache, **kwargs)
    again = search(algo, seed=3, cache=cache, **kwargs)  # warm: same answer, no new scores
    assert (again.arch, again.evaluated) == (first.arch, first.evaluated)
    assert again.misses == 0 and again.hits > 0
    assert again.seconds == pytest.approx(first.seconds, abs=0.5)
    others = {search(algo, seed=s, cache=cache, **kwargs).arch for s in (4, 5, 6)}
    assert len(others | {first.arch}) > 1  # the seed matters


def test_budgets_are_respected(cache):
    assert search("random", proxy="params", evaluations=17, cache=cache).evaluated == 17
    result = search("rea", proxy="flops", time_budget=1.0, seed=1, cache=None)
    arrivals = [seconds for seconds, _ in result.trajectory[:-1]]  # last point = the answer
    assert len(arrivals) == result.evaluated
    assert arrivals[-2] < 1.0 <= arrivals[-1]  # stops at the first arch past the budget
    with pytest.raises(ValueError, match="needs --time-budget"):
        search("freerea", proxy="params")
    with pytest.raises(ValueError, match="oracle costs no time"):
        search("rea", proxy="oracle", time_budget=5)
    assert Budget(evaluations=3).exhausted(0.0, 3) and not Budget(seconds=2).exhausted(1.9, 99)


def test_oracle_driven_searches_find_the_optimum_quickly(table):
    optimum = table.optimum("cifar10")[1]
    for algo in ("freerea", "freerea-"):
        accs = [
            search(algo, proxy="oracle", seed=s, evaluations=300, cache=None).accuracy
            for s in range(5)
        ]
        assert accs == [optimum] * 5, algo
    rea = [search("rea", proxy="oracle", seed=s, evaluations=300, cache=None) for s in range(5)]
    assert np.mean([r.accuracy for r in rea]) > optimum - 0.1
    random = [
        search("random", proxy="oracle", seed=s, evaluations=300, cache=None).accuracy
        for s in range(5)
    ]
    assert np.mean(random) < np.mean([r.accuracy for r in rea])


def test_constrained_freerea_never_returns_an_infeasible_network(space, cache):
    limits = dict(max_flops=7e7, max_params=5e5)
    for seed in (0,):
        result = search("freerea", proxy="oracle", seed=seed, evaluations=60, cache=cache, **limits)
        model = space.build(result.arch, "cifar10")
        assert count_params(model) * 1e6 <= limits["max_params"]
        assert count_flops(model, (3, 32, 32)) * 1e6 <= limits["max_flops"]
        # the unconstrained optimum (94.37) is far larger than these limits
        assert result.accuracy < 94.0
    with pytest.raises(ValueError, match="max_flops must be > 0"):
        search("freerea", proxy="oracle", evaluations=5, max_flops=-1)


def test_etnas_choice_lies_on_its_pareto_front(cache):
    for seed, rank in ((0, False), (1, True), (2, False)):
        result = search("etnas", seed=seed, cache=cache, rank=rank, **ETNAS_CHEAP)
        assert result.arch in result.details["front"]
        assert result.details["history"] == 60


def test_pareto_front_pick_and_combine():
    points = np.array([[1.0, 5.0], [2.0, 4.0], [1.5, 3.0], [0.5, 6.0], [2.0, 4.0]])
    assert pareto_front(points).tolist() == [0, 1, 3, 4]
    scores = np.array([[10.0, 0.1, 1.0], [5.0, 1.0, 0.5], [9.0, 0.2, 0.9]])
    assert pick(scores, rank=False) == 1  # nearest to (1, 1, 1) after dividing by the max
    assert pick(scores, rank=True) == 0  # rank sums 2, 4, 3
    rows = np.array([[0.0, 10.0], [1.0, 0.0], [1.0, 10.0], [np.nan, 5.0]])
    fit = combine(rows)
    assert fit[2] == pytest.approx(2.0) and fit[0] == pytest.approx(1 - 0.5)
    assert fit[3] == -np.inf
    # one -inf (NASWOT on a singular kernel) must not wipe out everyone's normalisation
    rows = np.vstack([rows[:3], [-np.inf, 5.0]])
    assert combine(rows).tolist()[:3] == pytest.approx(fit[:3].tolist())
    assert combine(rows)[3] == -np.inf


def test_search_runs_summary_and_cli(cache, capsys, tmp_path):
    summary = search_runs(
        "random", runs=3, proxy="params", evaluations=10, cache=cache, progress=False
    )
    assert [r.seed for r in summary.results] == [0, 1, 2]
    assert "optimum 94.37" in summary.text()
    code = main(
        [
            "search",
            "--algo",
            "random",
            "--proxy",
            "params",
            "--evaluations",
            "10",
            "--runs",
            "2",
            "--score-cache",
            str(cache),
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "optimum 94.37" in out and out.count("seed ") >= 2
    assert (tmp_path / "search-random-cifar10.csv").exists()
    assert main(["search", "--algo", "nope", "--evaluations", "3"]) == 2
    assert "unknown search 'nope'" in capsys.readouterr().err
    assert main(["search", "--algo", "random", "--evaluations", "3", "--cycles", "5"]) == 2
    assert "no option(s) cycles" in capsys.readouterr().err


def test_search_table_script_runs_another_space_with_a_replaced_proxy(tmp_path, capsys):
    script = Path(__file__).resolve().parent.parent / "experiments" / "search_table.py"
    spec = importlib.util.spec_from_file_location("search_table", script)
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    assert table.replaced("freerea", {}, [("naswot", "params")]) == {
        "proxy": ("params", "logsynflow", "skip")
    }
    oracle = {"proxy": "oracle", "evaluations": 100}
    assert table.replaced("rea", oracle, [("naswot", "params")]) is oracle
    argv = ["--benchmark", "nbmacro", "--runs", "2", "--rows", "NASWOT N=100"]
    argv += ["REA oracle (reference)", "--replace", "naswot=params", "--out", str(tmp_path)]
    assert table.main([*argv, "--score-cache", str(tmp_path / "s.sqlite")]) == 0
    out = (tmp_path / "search_table.md").read_text()
    assert "NASWOT N=100 [params]" in out and "| optimum | 93.13 |" in out
