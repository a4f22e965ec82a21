"""Evolution on real (small) statistics caches: validity, seeding, checkpoint/resume, signals."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import sympy
import torch
from deap import creator, gp

from eznas.benchmark import load_table
from eznas.cli import main
from eznas.data import make_batches
from eznas.errors import BadFileError
from eznas.gp import checkpoint as ck
from eznas.gp.evolve import EvolveConfig, Evolver, evolve
from eznas.gp.fitness import load_pair
from eznas.gp.program import KINDS, compile_tree, evaluate
from eznas.gp.run import Run
from eznas.proxies import get_proxy
from eznas.spaces import get_space
from eznas.stats import collect

DATASET = "ImageNet16-120"  # 16x16 inputs keep collection quick


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """Two real caches of 6 NB201 networks each (seeds 0 and 1: other nets, weights, batch)."""
    out = tmp_path_factory.mktemp("stats")
    return [
        str(collect("nb201", DATASET, n=6, seed=s, out=out / f"s{s}", progress=False))
        for s in (0, 1)
    ]


def config(caches, generations=3, **options) -> EvolveConfig:
    settings = dict(population=8, seed=5, per_pair=5, n_task=6, validation=2, hall_of_fame=4)
    return EvolveConfig(caches=caches, generations=generations, **{**settings, **options})


@pytest.fixture(scope="module")
def reference(caches, tmp_path_factory):
    """An uninterrupted 3-generation run."""
    return evolve(config(caches), tmp_path_factory.mktemp("ref") / "run", verbose=False)


def test_run_folder_and_log(reference):
    assert reference.generation == 3 and not reference.interrupted
    assert [e["generation"] for e in reference.log()] == [0, 1, 2, 3]
    assert all(0 <= e["valid"] <= 1 and e["seconds"] > 0 for e in reference.log())
    assert all(e["pairs"] == ["nb201-ImageNet16-120"] * 2 for e in reference.log())
    state = ck.read_json(reference.folder / ck.CHECKPOINT)
    assert state["population"] == reference.population
    assert not list(reference.folder.glob("*.tmp"))
    fits = [f for _, f in reference.hall_of_fame]
    assert fits == sorted(fits, reverse=True) and fits[0] >= max(reference.fitness)


def test_population_is_valid_and_invalid_programs_are_rejected(caches, reference):
    evolver = Evolver(config(caches))
    pset = evolver.pset

    def ind(text):
        return creator.EZNASIndividual(gp.PrimitiveTree.from_string(text, pset))

    assert evolver.valid(ind("mul(T3, T3G_D)"))
    assert not evolver.valid(ind("add(T1_D, T4_D)"))  # shapes differ in reduction blocks
    assert not evolver.valid(ind("sub(T3, T3)"))  # constant score: cannot rank
    assert not evolver.valid(ind("exp(reciprocal(T3G_D))"))  # overflows to inf
    assert all(evolver.valid(ind(t)) for t in reference.population)
    assert all(ind(t).height <= 10 for t in reference.population)
    assert len(evolver.random_valid(5)) == 5


def test_needs_values_rejects_shape_counting_programs(caches):
    plain, strict = Evolver(config(caches)), Evolver(config(caches, needs_values=True))

    def ind(text):
        return creator.EZNASIndividual(gp.PrimitiveTree.from_string(text, plain.pset))

    shape_only = "mean(softmax(T2G_D))"  # a softmax's mean is 1/numel, whatever the values
    assert plain.valid(ind(shape_only)) and not strict.valid(ind(shape_only))
    assert strict.valid(ind("mul(T3, T3G_D)"))


def test_same_seed_same_run_and_resume_equals_uninterrupted(caches, reference, tmp_path):
    first = evolve(config(caches, generations=1), tmp_path / "run", verbose=False)
    assert [e["best_program"] for e in first.log()] == [
        e["best_program"] for e in reference.log()[:2]
    ]
    resumed = evolve(out=tmp_path / "run", resume=True, generations=3, verbose=False)
    assert resumed.population == reference.population
    np.testing.assert_array_equal(resumed.fitness, reference.fitness)
    assert resumed.hall_of_fame == reference.hall_of_fame
    assert [e["best"] for e in resumed.log()] == [e["best"] for e in reference.log()]


def test_elite_keeps_the_best_when_every_task_network_is_drawn(caches, tmp_path, monkeypatch):
    """per_pair = n_task: the fitness does not change between draws, so with elitism the
    population's best never falls and the best program found stays in the population; and
    a program carried over (elite or reproduced copy) is not scored again."""
    scored = []
    fitness = Evolver._fitness
    monkeypatch.setattr(
        Evolver, "_fitness", lambda self, sample, texts: scored.append(texts) or fitness(
            self, sample, texts)
    )  # fmt: skip
    settings = dict(per_pair=6, seed=2, over_pairs="mean")  # elite=0 here falls 0.8 -> 0.47
    run = evolve(config(caches, elite=2, **settings), tmp_path / "run", verbose=False)
    assert all(not set(a) & set(b) for a, b in zip(scored, scored[1:], strict=False))
    best = [e["best"] for e in run.log()]
    assert best == sorted(best) and len(best) == 4
    assert max(run.fitness) == run.hall_of_fame[0][1]  # the best ever is still alive
    with pytest.raises(ValueError, match="elite must be in 0..4"):
        config(caches, elite=5)


def test_lexicase_parents_keep_case_taus_and_resume_equals_uninterrupted(caches, tmp_path):
    """--parents lexicase: every individual carries its taus on ``cases`` chunks of each
    drawn pair (checkpointed, so a resumed run continues as an uninterrupted one), and the
    parents come from DEAP's epsilon-lexicase: a specialist (best on one case only) is
    picked, an individual with invalid cases (-1) is not while others are better."""
    lexicase = dict(parents="lexicase", cases=2, elite=1, over_pairs="mean")
    whole = evolve(config(caches, **lexicase), tmp_path / "whole", verbose=False)
    state = ck.read_json(whole.folder / ck.CHECKPOINT)
    assert np.shape(state["cases"]) == (8, 2 * 2)  # population x (drawn pairs x cases)
    assert all(-1 <= c <= 1 for row in state["cases"] for c in row)
    evolve(config(caches, generations=1, **lexicase), tmp_path / "part", verbose=False)
    resumed = evolve(out=tmp_path / "part", resume=True, generations=3, verbose=False)
    assert resumed.population == whole.population and resumed.hall_of_fame == whole.hall_of_fame
    assert [e["best"] for e in resumed.log()] == [e["best"] for e in whole.log()]
    state["cases"] = state["cases"][:3]  # a hand-edited checkpoint: one line, nothing lost
    ck.write_json(whole.folder / ck.CHECKPOINT, state)
    with pytest.raises(BadFileError, match="'cases' has 3 rows for 8 programs"):
        _ = Run.open(whole.folder).checkpoint

    evolver = Evolver(config(caches, **lexicase))
    people = [evolver.random_tree() for _ in range(3)]
    people[0].cases, people[1].cases, people[2].cases = (0.9, 0.0), (0.5, 0.5), (-1.0, -1.0)
    random.seed(0)
    picked = [str(p) for p in evolver.parents(people * 10)]
    assert str(people[0]) in picked and str(people[2]) not in picked
    with pytest.raises(ValueError, match="parents 'roulette'; allowed: tournament, lexicase"):
        config(caches, parents="roulette")
    with pytest.raises(ValueError, match=r"cases must be in 2..5 \(networks per pair\), got 1"):
        config(caches, parents="lexicase", cases=1)


def test_sigterm_saves_and_resume_finishes(caches, reference, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "eznas", "evolve", "--stats", *caches, "--out", str(run)]
    cmd += ["--population", "8", "--generations", "3", "--seed", "5", "--per-pair", "5"]
    cmd += ["--n-task", "6"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (run / ck.CHECKPOINT).exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    state = ck.read_json(run / ck.CHECKPOINT)
    if proc.returncode == 130:  # stopped mid-run: a clean message and a usable checkpoint
        assert "SIGTERM" in err and "--resume" in out
    else:  # it had finished evolving: exit 0, or SIGTERM's 143 if it came while choosing
        assert proc.returncode in (0, 128 + signal.SIGTERM) and state["generation"] == 3
    resumed = evolve(out=run, resume=True, verbose=False)
    assert resumed.generation == 3
    assert [e["generation"] for e in resumed.log()] == [0, 1, 2, 3]
    # same settings as the reference (the hall-of-fame size does not steer evolution)
    assert resumed.population == reference.population


def test_kill_9_loses_at_most_one_generation(caches, reference, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "eznas", "evolve", "--stats", *caches, "--out", str(run)]
    cmd += ["--population", "8", "--generations", "3", "--seed", "5", "--per-pair", "5"]
    cmd += ["--n-task", "6"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (run / ck.CHECKPOINT).exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=60)
    assert ck.read_json(run / ck.CHECKPOINT)["generation"] >= 0
    resumed = evolve(out=run, resume=True, verbose=False)
    assert [e["generation"] for e in resumed.log()] == [0, 1, 2, 3]
    assert resumed.population == reference.population
    np.testing.assert_array_equal(resumed.fitness, reference.fitness)


def test_jobs_2_threads_give_the_same_run(caches, reference, tmp_path):
    result = evolve(config(caches, jobs=2), tmp_path / "run", verbose=False)
    assert result.population == reference.population
    np.testing.assert_array_equal(result.fitness, reference.fitness)
    assert result.hall_of_fame == reference.hall_of_fame


@pytest.mark.skipif(os.environ.get("EZNAS_SKIP_DASK") == "1", reason="dask test disabled")
def test_dask_local_cluster_gives_the_same_run(caches, reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = evolve(
            config(caches, scheduler=cluster.scheduler_address), tmp_path / "run", verbose=False
        )
    assert result.population == reference.population
    np.testing.assert_array_equal(result.fitness, reference.fitness)
    assert result.hall_of_fame == reference.hall_of_fame


def test_exported_best_scores_like_the_cache(caches, reference, tmp_path):
    """`eznas export` of the run's best, loaded by path, equals the cache-based score."""
    out = tmp_path / "best_proxy.py"
    assert main(["export", str(reference.folder), "--out", str(out)]) == 0
    text = reference.hall_of_fame[0][0]
    assert text in out.read_text()
    proxy = get_proxy(str(out))
    pair = load_pair(caches[0], None, KINDS, n_task=6, seed=5)
    expected = evaluate([compile_tree(text)], pair.blocks)[0]
    table, space = load_table("nb201"), get_space("nb201")
    batches = make_batches(DATASET, 1, 0)  # the cache's batch: seed 0, B = 1
    for i, index in enumerate(pair.indices[:3]):
        torch.manual_seed(0)  # the collector's weight seed
        model = space.build(table.arch(int(index)), DATASET)
        score = proxy.score(model, batches.D, batches.labels, seed=0)
        assert score == pytest.approx(expected[i], rel=1e-5)


def test_best_on_task_set_reranks_the_hall_of_fame(caches, reference):
    from eznas.metrics import kendall

    text, tau = reference.choose("task")
    assert text in [t for t, _ in reference.hall_of_fame]

    def whole_task_tau(program_text):
        taus = []
        for path in caches:
            pair = load_pair(path, None, KINDS, n_task=6, seed=5)
            scores = evaluate([compile_tree(program_text)], pair.blocks)[0]
            taus.append(kendall(scores, pair.accuracy) if np.isfinite(scores).all() else -np.inf)
        return min(taus)

    assert tau == pytest.approx(whole_task_tau(text))
    assert all(tau >= whole_task_tau(t) - 1e-12 for t, _ in reference.hall_of_fame)


def test_run_object_on_a_folder_made_by_the_cli(caches, tmp_path):
    """`eznas evolve` writes a folder that ``Run.open`` reads: choose, formula, LaTeX, export."""
    folder = tmp_path / "run"
    argv = ["evolve", "--stats", *caches, "--out", str(folder), "--population", "8"]
    assert (
        main([*argv, "--generations", "1", "--seed", "5", "--per-pair", "5", "--n-task", "6"]) == 0
    )
    run = Run.open(folder)
    assert run.generation == 1 and run.config.population == 8
    assert [e["generation"] for e in run.log()] == [0, 1]
    task = run.program("task")
    assert task.text in [t for t, _ in run.hall_of_fame]
    assert run.program("final").text in run.population
    assert run.program(0).text == run.hall_of_fame[0][0]
    assert run.latex() == sympy.latex(run.formula())
    path = run.export(tmp_path / "task_proxy.py", select="task")
    assert task.text in path.read_text()
    assert get_proxy(str(path)).needs_grad == any("G_" in k for k in task.kinds)
    with pytest.raises(ValueError, match="select"):
        run.program("best")
