"""`eznas demo`: every stage runs on the shipped benchmark in a tiny setting, offline."""

from __future__ import annotations

import json

import pytest

from eznas.benchmark.benchmarks import open_benchmark
from eznas.cli import main
from eznas.demo import DemoConfig, run_demo, split_networks
from eznas.gp.run import Run
from eznas.proxies import get_proxy

TINY = [
    "--task", "12", "--population", "6", "--generations", "1", "--holdout", "25",
    "--evaluations", "12", "--proxy", "params", "synflow",
]  # fmt: skip


@pytest.mark.slow
def test_demo_runs_every_stage_and_resumes(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", *TINY, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for part in ("evolved program:", "formula per block:", "eznas (evolved)", "FreeREA", "time:"):
        assert part in text
    summary = json.loads((out / "summary.json").read_text())
    bench = open_benchmark(summary["benchmark"])
    assert {r["proxy"] for r in summary["correlations"]} == {"params", "synflow", "eznas (evolved)"}
    assert all(-1 <= r["kendall"] <= 1 for r in summary["correlations"])
    for found in summary["searches"]:
        assert found["accuracy"] == bench.table.accuracy(found["arch"], "digits")
        assert found["accuracy"] <= summary["optimum"]
    assert set(summary["stages"]) and all(v >= 0 for v in summary["stages"].values())
    # the exported proxy is a plain proxy file anyone can load
    assert get_proxy(summary["proxy_file"]).name.startswith("file:eznas_demo@")
    # v2 by default: several components, the export chosen on selection networks that the
    # held-out comparison leaves out
    run = Run.open(out / "evolve")
    assert run.config.components == 3 and run.config.select_networks == 100
    assert summary["program"] == run.choose("selection")[0]
    chosen_on = {int(i) for rows in run.selection["networks"].values() for i in rows}
    _, held = split_networks(len(bench.table), 12, 25, 0)
    kept = [i for i in held if i not in chosen_on]
    assert f"compare proxies on {len(kept)} held-out networks" in summary["stages"]

    log = (out / "evolve" / "log.jsonl").read_text()
    again = run_demo(
        DemoConfig(task=12, population=6, generations=1, holdout=25, evaluations=12,
                   proxies=("params", "synflow"), out=str(out)),
        verbose=False,
    )  # fmt: skip
    assert (out / "evolve" / "log.jsonl").read_text() == log  # resumed, not re-evolved
    assert again.program == summary["program"]
    assert again.searches[0]["arch"] == summary["searches"][0]["arch"]


def test_demo_refuses_a_folder_evolved_with_other_settings(tmp_path):
    config = DemoConfig(task=12, population=6, generations=1, holdout=5, evaluations=4,
                        proxies=("params",), out=str(tmp_path))  # fmt: skip
    run_demo(config, verbose=False)
    config.population = 8
    with pytest.raises(ValueError, match="other settings"):
        run_demo(config, verbose=False)


def test_split_networks_is_disjoint_and_seeded():
    task, held = split_networks(1000, 60, 300, seed=0)
    assert len(task) == 60 and len(held) == 300 and not set(task) & set(held)
    assert split_networks(1000, 60, 300, seed=0) == (task, held)
    with pytest.raises(ValueError, match="task 999"):
        split_networks(1000, 999, 10, seed=0)


def test_demo_rejects_bad_settings():
    with pytest.raises(ValueError, match="population must be >= 2"):
        DemoConfig(population=1)
    with pytest.raises(ValueError, match="evolution 'gp': use one of v2, eznas"):
        DemoConfig(evolution="gp")


def test_demo_runs_eznas_evolution_on_request(tmp_path):
    config = DemoConfig(task=12, population=6, generations=1, holdout=25, evaluations=4,
                        proxies=("params",), evolution="eznas", out=str(tmp_path))  # fmt: skip
    summary = run_demo(config, verbose=False)
    run = Run.open(tmp_path / "evolve")
    assert run.config.components == 1 and run.config.select_networks == 0
    assert summary.program == run.choose("task")[0]
    assert "compare proxies on 25 held-out networks" in summary.stages


@pytest.mark.slow
def test_demo_with_two_workers_runs_to_the_end(tmp_path, capsys):
    """``--jobs 2`` hands the demo's live score cache to joblib workers (as its path)."""
    out = tmp_path / "demo"
    assert main(["demo", *TINY, "--jobs", "2", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {r["proxy"] for r in summary["correlations"]} == {"params", "synflow", "eznas (evolved)"}
    assert len(summary["searches"]) == 2
