import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from eznas.bench import BenchmarkSpec, Recipe, build_benchmark
from eznas.benchmark import AccuracyTable
from eznas.spaces import get_space

TINY = ["-n", "4", "--noise-subset", "2", "--train-size", "200", "--test-size", "100"]


def _build(out, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "eznas", "bench", "build", *TINY, *extra, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_tiny_benchmark_is_a_well_formed_table(tmp_path):
    spec = BenchmarkSpec(n=4, noise_subset=2, recipe=Recipe(train_size=200, test_size=100))
    out = build_benchmark(spec, tmp_path / "b.csv", progress=False)
    table = AccuracyTable.from_csv(out)
    assert len(table) == 4 and table.datasets == ("digits",)
    space = get_space("nb201", channels=8, cells=1)
    for arch in table.archs():
        assert space.validate(arch) == arch
    acc = table.column("digits")
    assert np.all((acc >= 0) & (acc <= 100)) and acc.max() > 20  # better than chance (10%)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["recipe"]["train_size"] == 200 and sidecar["noise_subset"] == 2
    assert -1 <= sidecar["seed_to_seed_kendall"] <= 1
    # rebuilding is deterministic and instant (everything comes from the partial log)
    again = build_benchmark(spec, tmp_path / "b.csv", progress=False)
    assert again.read_text() == out.read_text()


def test_build_resumes_after_kill(tmp_path):
    whole = _build(tmp_path / "whole.csv")
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    out = tmp_path / "cut.csv"
    partial = out.with_name(out.name + ".partial.jsonl")
    victim = _build(out)
    deadline = time.time() + 240
    while time.time() < deadline and victim.poll() is None:
        if partial.exists() and partial.read_text().count("\n") >= 3:  # header + 2 networks
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not out.exists()
    done_before = partial.read_text().count("\n") - 1
    assert 1 <= done_before < 6
    rerun = _build(out)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    assert out.read_text() == (tmp_path / "whole.csv").read_text()
    assert os.path.exists(out.with_suffix(".json"))


def test_input_noise_is_fixed_and_keeps_the_split():
    from eznas.bench import split_data

    clean = split_data("digits", Recipe(test_size=100))
    noisy = split_data("digits", Recipe(test_size=100, input_noise=1.0))
    again = split_data("digits", Recipe(test_size=100, input_noise=1.0))
    for a, b in zip(noisy, again, strict=True):
        assert torch.equal(a, b)  # the same noisy images for every network and seed
    assert torch.equal(clean[1], noisy[1]) and torch.equal(clean[3], noisy[3])
    diff = torch.cat([noisy[0] - clean[0], noisy[2] - clean[2]])
    assert abs(float(diff.std()) - 1.0) < 0.01 and abs(float(diff.mean())) < 0.01


def test_seeds_average_and_the_noise_subset_uses_the_next_seeds(tmp_path):
    spec = BenchmarkSpec(n=3, noise_subset=2, seeds=2, recipe=Recipe(train_size=100, test_size=100))
    out = build_benchmark(spec, tmp_path / "b.csv", progress=False)
    lines = (tmp_path / "b.csv.partial.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines[1:]]  # after the setup header
    by = {(r["arch"], r["seed"]): r["accuracy"] for r in rows}
    table = AccuracyTable.from_csv(out)
    for arch in table.archs():
        assert table.accuracy(arch, "digits") == round((by[arch, 0] + by[arch, 1]) / 2, 4)
    assert {s for (_, s) in by} == {0, 1, 2, 3} and len(by) == 3 * 2 + 2 * 2
    assert json.loads(out.with_suffix(".json").read_text())["seeds"] == 2


def test_a_partial_log_of_another_recipe_is_refused(tmp_path):
    spec = BenchmarkSpec(n=2, noise_subset=0, recipe=Recipe(train_size=100, test_size=100))
    build_benchmark(spec, tmp_path / "b.csv", progress=False)
    other = BenchmarkSpec(n=2, noise_subset=0, recipe=Recipe(train_size=100, test_size=50))
    with pytest.raises(ValueError, match="another setup"):
        build_benchmark(other, tmp_path / "b.csv", progress=False)
