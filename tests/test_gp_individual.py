"""Individuals of several components: text, log-rank combination and multi-component runs."""

from __future__ import annotations

import numpy as np
import pytest

from eznas.gp import EvolveConfig, Run, evolve
from eznas.gp.individual import Individual, combined_scores, parse_individual
from eznas.ranks import logrank
from eznas.stats import collect

DATASET = "ImageNet16-120"  # 16x16 inputs keep collection quick
TEXT = "min_step:eig_entropy(gram_channel(T4_D)) ; mean:l2(T3G_D) ; @params"


def test_text_round_trip_and_errors():
    ind = parse_individual(TEXT)
    assert [c.aggregate for c in ind.components] == ["min_step", "mean"]
    assert ind.terms == ("params",) and ind.size == 3
    assert ind.text() == TEXT
    classic = parse_individual("mul(T3, T3G_D)", default="sum")
    assert classic.components[0].aggregate == "sum" and classic.text("sum") == "mul(T3, T3G_D)"
    with pytest.raises(ValueError, match="median"):
        parse_individual("median:l2(T3)")
    assert parse_individual("l2(T3) ; @naswot").terms == ("naswot",)  # a library proxy
    with pytest.raises(ValueError, match="@nope"):
        parse_individual("l2(T3) ; @nope")
    with pytest.raises(ValueError, match="no program"):
        parse_individual("@params")


def test_log_rank_is_the_az_nas_combination():
    scores = np.array([[3.0, 1.0, 2.0], [10.0, 30.0, 20.0]])
    # ranks (1 = worst): [3, 1, 2] and [1, 3, 2]; sum of log(rank / 3)
    expected = np.log([3 / 3, 1 / 3, 2 / 3]) + np.log([1 / 3, 3 / 3, 2 / 3])
    np.testing.assert_allclose(logrank(scores.T), expected)
    np.testing.assert_allclose(logrank(scores[:1].T), np.log([1.0, 1 / 3, 2 / 3]))
    one = Individual(parse_individual("l2(T3)").components)
    two = parse_individual("l2(T3) ; @params")
    values = {"mean:l2(T3)": np.array([3.0, 1.0, 2.0])}
    rows = combined_scores([one, two], values, {"params": np.array([1.0, 3.0, 2.0])})
    np.testing.assert_allclose(rows[0], [3.0, 1.0, 2.0])  # one term: the score itself
    np.testing.assert_allclose(rows[1], logrank(np.array([[3.0, 1, 2], [1, 3, 2]]).T))
    # a network term's -inf (naswot's singular kernel) ranks lowest; a component's NaN
    # marks the program invalid
    low = combined_scores([two], values, {"params": np.array([1.0, -np.inf, 2.0])})[0]
    np.testing.assert_allclose(low, logrank(np.array([[3.0, 1, 2], [2, 1, 3]]).T))
    values["mean:l2(T3)"] = np.array([3.0, np.nan, 2.0])
    assert np.isnan(combined_scores([two], values, {"params": np.ones(3)})).all()
    # held-out scoring (partial): that network ranks lowest on the component, as the
    # exported file's combination ranks it; NaN on every network still voids the row
    params = {"params": np.array([1.0, 3.0, 2.0])}
    held = combined_scores([two], values, params, partial=True)[0]
    np.testing.assert_allclose(held, logrank(np.array([[3.0, -np.inf, 2], [1, 3, 2]]).T))
    values["mean:l2(T3)"] = np.full(3, np.nan)
    assert np.isnan(combined_scores([two], values, params, partial=True)).all()


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    out = tmp_path_factory.mktemp("stats")
    return [str(collect("nb201", DATASET, n=6, seed=s, out=out / f"s{s}", progress=False))
            for s in (0, 1)]  # fmt: skip


def config(caches, generations=2) -> EvolveConfig:
    return EvolveConfig(
        caches=caches, population=8, generations=generations, seed=3, per_pair=6, n_task=6,
        hall_of_fame=4, components=3, net_ops=["mean", "min_step", "last_first"],
        terms=["params", "synflow"],
    )  # fmt: skip


def test_multi_component_run_resumes_exactly_and_tests_held_out(caches, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the @synflow term's scores go to ./score_cache
    whole = evolve(config(caches), tmp_path / "whole", verbose=False)
    assert config(caches).multi is not False and whole.generation == 2
    individuals = [whole.individual("final"), *(whole.individual(k) for k in range(2))]
    assert all(1 <= len(i.components) <= 3 for i in individuals)
    ops = {c.aggregate for t, _ in whole.hall_of_fame for c in parse_individual(t).components}
    assert ops <= {"mean", "min_step", "last_first"}
    first = evolve(config(caches, generations=1), tmp_path / "part", verbose=False)
    resumed = evolve(out=first.folder, resume=True, generations=2, verbose=False)
    assert resumed.population == whole.population
    np.testing.assert_array_equal(resumed.fitness, whole.fitness)
    assert resumed.hall_of_fame == whole.hall_of_fame
    text, tau = whole.choose("task")
    assert text in [t for t, _ in whole.hall_of_fame] and -1 <= tau <= 1
    report = whole.test(8, progress=False)
    rows = report["datasets"][DATASET]
    assert len(rows) >= 1 and all(r["n"] == 8 for r in rows.values())
    terms = {t for text, _ in whole.hall_of_fame for t in parse_individual(text).terms}
    assert terms <= {"params", "synflow"}


def test_validation_networks_never_enter_fitness(caches, tmp_path, monkeypatch):
    from eznas.gp.evolve import Evolver
    from eznas.gp.fitness import split_positions

    fit, held = split_positions(6, 0.34, seed=3)
    assert sorted(fit + held) == list(range(6)) and len(held) == 2
    assert split_positions(6, 0.34, seed=3) == (fit, held)
    cfg = EvolveConfig(caches=caches, population=6, generations=1, seed=3, per_pair=6,
                       n_task=6, validation_split=0.34)  # fmt: skip
    evolver = Evolver(cfg)
    assert all(sorted(p) == fit for p in evolver.fitness_positions)
    run = evolve(cfg, tmp_path / "run", verbose=False)
    text, tau = run.choose("validation")
    assert text in [t for t, _ in run.hall_of_fame] and -1 <= tau <= 1
    # the choices were made while the task statistics were loaded: reopening the run
    # answers from choices.json without loading them again
    import eznas.gp.fitness

    def no_loading(*args, **kwargs):
        raise AssertionError("the task statistics were loaded again")

    monkeypatch.setattr(eznas.gp.fitness, "load_task", no_loading)
    reopened = Run.open(run.folder)
    assert reopened.choose("validation") == (text, tau)
    assert reopened.choose("task") == run.choose("task")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="validation"):
        evolve(config(caches, generations=0), tmp_path / "plain", verbose=False).choose(
            "validation"
        )


def test_exported_individual_ranks_like_the_evolver(caches, tmp_path, monkeypatch):
    """A multi-component proxy file, given to `correlate` by path, scores the task networks
    exactly as the evolver scored them from the cache (components, @params, log-rank)."""
    monkeypatch.chdir(tmp_path)  # the @synflow term's scores go to ./score_cache
    from eznas.correlation import run_correlation
    from eznas.gp.export import export_individual
    from eznas.gp.fitness import load_pair, scores_on
    from eznas.proxies import get_proxy
    from eznas.proxies.combo import Combo

    individual = parse_individual(TEXT.replace(" ; @params", " ; @params ; @synflow"))
    pair = load_pair(caches[0], None, n_task=6, seed=0, terms=["synflow"])
    expected = scores_on([individual], pair, list(range(6)), "mean")[0]
    path = export_individual(individual, tmp_path / "multi_proxy.py", batch_size=1)
    assert "import eznas" not in path.read_text()
    combo = get_proxy(str(path))
    assert isinstance(combo, Combo) and combo.components[-2:] == ("params", "synflow")
    report = run_correlation(
        "nb201", DATASET, [str(path)], seed=0, indices=pair.indices, cache=None, progress=False
    )
    np.testing.assert_allclose(report.scores[str(path)], expected, rtol=1e-6)
    # through the scorer (which names the arch) the components share one capture per
    # network; called without the arch each captures its own kinds: the same values
    import importlib.util

    import torch

    from eznas.benchmark.benchmarks import open_benchmark
    from eznas.proxies.scoring import Scorer

    spec = importlib.util.spec_from_file_location("multi_proxy_direct", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bench = open_benchmark("nb201")
    scorer = Scorer(bench.space, DATASET, 0, cache=None)
    arch = bench.table.arch(int(pair.indices[0]))
    inputs, labels, _ = scorer.batch(1)
    for i in range(len(module.PROXY_INFO["components"])):
        torch.manual_seed(0)
        model = bench.space.build(arch, DATASET)
        alone = module.score_component(i, model, inputs, labels, seed=0, batch=scorer.batch)
        shared = module.score_component(
            i, model, inputs, labels, seed=0, batch=scorer.batch, arch=arch
        )
        assert shared == alone
    assert module._LAST_CAPTURE[0] is model  # only the last network's capture is kept


def test_selection_chooses_on_live_networks_outside_the_caches(caches, tmp_path, monkeypatch):
    """``select_networks``: candidates (hall of fame + ensembles of its best) are scored on
    networks no cache holds, from live models, and the record is reused on reopening."""
    monkeypatch.chdir(tmp_path)  # the @synflow term's scores go to ./score_cache
    from eznas.benchmark.benchmarks import open_benchmark
    from eznas.gp.holdout import holdout_scores
    from eznas.gp.selection import ENSEMBLES, ensemble
    from eznas.metrics import kendall
    from eznas.stats import open_cache

    cfg = config(caches, generations=1)
    cfg.select_networks = 5
    run = evolve(cfg, tmp_path / "run", verbose=False)
    record = run.selection
    cached = set()
    for path in caches:
        with open_cache(path) as cache:
            cached |= set(cache.networks())
    rows = record["networks"]["nb201"]
    assert len(rows) == 5 and not cached & set(rows)
    texts = [t for t, _ in run.hall_of_fame]
    candidates = {text: per_pair for text, _, per_pair in record["candidates"]}
    assert set(texts) <= set(candidates) and len(candidates) <= len(texts) + len(ENSEMBLES)
    assert len({parse_individual(t).text() for t in candidates}) == len(candidates)  # no repeats
    text, tau = run.choose("selection")
    assert [text, tau] == record["candidates"][0][:2]
    assert tau == max(np.mean(p) for p in candidates.values())
    # the record's tau of the chosen individual is its live held-out tau on those networks
    chosen = parse_individual(text)
    bench = open_benchmark("nb201")
    live = holdout_scores([chosen], bench, DATASET, rows, seed=0, progress=False)[0]
    assert kendall(live, bench.table.column(DATASET)[rows]) == pytest.approx(candidates[text][0])
    pair = ensemble([parse_individual(t) for t in texts[:2]])
    assert {c.text() for c in pair.components} == {
        c.text() for t in texts[:2] for c in parse_individual(t).components
    }
    import eznas.gp.selection

    def no_scoring(*args, **kwargs):
        raise AssertionError("the selection networks were scored again")

    monkeypatch.setattr(eznas.gp.selection, "holdout_parts", no_scoring)
    assert Run.open(run.folder).choose("selection") == (text, tau)
    with pytest.raises(ValueError, match="select_networks 0"):
        evolve(config(caches, generations=0), tmp_path / "plain", verbose=False).choose("selection")


def test_selection_within_depth_groups_is_its_own_record(caches, tmp_path, monkeypatch):
    """``selection:depth`` ranks the candidates by the tau inside groups of equal depth on
    the same selection networks, kept beside the plain choice."""
    monkeypatch.chdir(tmp_path)
    from eznas.benchmark.benchmarks import open_benchmark
    from eznas.correlation import run_correlation
    from eznas.gp.holdout import holdout_scores
    from eznas.metrics import kendall_within

    cfg = config(caches, generations=1)
    cfg.select_networks = 24
    run = evolve(cfg, tmp_path / "run", verbose=False)
    record = run.selection_within("depth")
    assert record["within"] == "depth"
    assert record["networks"] == run.selection["networks"]
    text, tau = run.choose("selection:depth")
    assert np.isfinite(tau)  # 24 NB201 networks hold a depth group of >= 10
    assert [text, tau] == record["candidates"][0][:2]
    bench = open_benchmark("nb201")
    rows = record["networks"]["nb201"]
    depth = run_correlation(bench, DATASET, ["depth"], indices=rows, cache=None).scores["depth"]
    live = holdout_scores([parse_individual(text)], bench, DATASET, rows, seed=0, progress=False)
    accuracy = bench.table.column(DATASET)[rows]
    assert kendall_within(live[0], accuracy, depth) == pytest.approx(record["candidates"][0][2][0])
    assert Run.open(run.folder).choose("selection:depth") == (text, tau)


def test_fitness_reduces_per_pair_taus_by_min_or_mean(caches):
    """EZNAS's fitness is the worst pair's tau; ``over_pairs="mean"`` averages them."""
    from eznas.gp.fitness import kendall, load_task, pair_kendall, scores_on

    pairs = load_task(config(caches).spec())
    sample = [(p, list(range(6))) for p in range(len(pairs))]
    individuals = [parse_individual(t) for t in (TEXT, "mean:l2(T3) ; @params", "sum:l2(T4_D)")]
    per_pair = np.array(
        [[kendall(s, pair.accuracy[:6]) for s in scores_on(individuals, pair, range(6), "mean")]
         for pair in pairs]
    ).T  # fmt: skip
    np.testing.assert_allclose(pair_kendall(individuals, pairs, sample), per_pair.min(1))
    np.testing.assert_allclose(
        pair_kendall(individuals, pairs, sample, over_pairs="mean"), per_pair.mean(1)
    )
    with pytest.raises(ValueError, match="over_pairs 'max'; allowed: min, mean"):
        EvolveConfig(caches=caches, over_pairs="max")
    # lexicase cases: the tau on each consecutive chunk of every pair's networks, same scores
    with_cases = pair_kendall(individuals, pairs, sample, over_pairs="mean", cases=2)
    chunk = [
        [kendall(s[part], pair.accuracy[part]) for pair in pairs for part in ([0, 1, 2], [3, 4, 5])
         for s in [scores_on([ind], pair, range(6), "mean")[0]]]
        for ind in individuals
    ]  # fmt: skip
    assert with_cases.shape == (3, 1 + 2 * len(pairs))
    np.testing.assert_allclose(with_cases[:, 0], per_pair.mean(1))
    np.testing.assert_allclose(with_cases[:, 1:], chunk)
