"""The error boundary: bad input gives one line on stderr, status 2, and nothing lost.

Every case runs through ``eznas.cli.main`` on real files: a real statistics cache (cut short,
overwritten, re-labelled with another schema), a real run folder (with a broken config or
checkpoint), broken proxy files, unknown names and bad numbers.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import h5py
import pytest

from eznas.cli import main
from eznas.gp import EvolveConfig, Run, evolve
from eznas.stats import collect

DATASET = "ImageNet16-120"  # 16x16 inputs keep collection quick


@pytest.fixture(scope="module")
def stats(tmp_path_factory):
    out = tmp_path_factory.mktemp("stats")
    return collect("nb201", DATASET, n=4, seed=0, out=out, progress=False)


@pytest.fixture(scope="module")
def run(stats, tmp_path_factory):
    config = EvolveConfig(
        caches=[str(stats)], population=4, generations=1, per_pair=4, n_task=4, hall_of_fame=3
    )
    return evolve(config, tmp_path_factory.mktemp("run") / "run", verbose=False)


def digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def fails(capsys, argv: list[str], *expected: str) -> str:
    """``main(argv)`` exits with 2 and one stderr line holding every ``expected`` text."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)
    return err


def test_a_truncated_or_garbage_statistics_file_is_one_line(stats, tmp_path, capsys):
    cut = tmp_path / "truncated.h5"
    cut.write_bytes(stats.read_bytes()[: stats.stat().st_size // 2])
    before = hashlib.sha256(stats.read_bytes()).hexdigest()
    fails(capsys, ["evolve", "--stats", str(cut), "--out", str(tmp_path / "r")], str(cut))
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"this is not an HDF5 file\n" * 100)
    fails(capsys, ["evolve", "--stats", str(garbage), "--out", str(tmp_path / "r")], str(garbage))
    assert not (tmp_path / "r").exists()
    assert hashlib.sha256(stats.read_bytes()).hexdigest() == before


def test_statistics_of_another_schema_are_refused(stats, tmp_path, capsys):
    other = tmp_path / "other.h5"
    shutil.copy(stats, other)
    with h5py.File(other, "a") as handle:
        handle.attrs["schema_version"] = 99
    fails(capsys, ["evolve", "--stats", str(other), "--out", str(tmp_path / "r")], "schema")


def test_a_malformed_run_folder_names_the_file_and_the_field(run, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(run.folder, bad)
    (bad / "config.json").write_text(json.dumps({"caches": 5}))
    fails(capsys, ["evolve", "--resume", str(bad)], "config.json", "'caches'")
    (bad / "config.json").write_text("{not json")
    fails(capsys, ["export", str(bad), "--out", str(tmp_path / "p.py")], "config.json", "JSON")
    shutil.copy(run.folder / "config.json", bad / "config.json")
    state = json.loads((bad / "checkpoint.json").read_text())
    state["population"][0] = "no_such_op(T3)"
    (bad / "checkpoint.json").write_text(json.dumps(state))
    fails(capsys, ["export", str(bad), "--out", str(tmp_path / "p.py")], "checkpoint.json")
    fails(capsys, ["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p.py")])
    assert not (tmp_path / "p.py").exists()


def test_a_finished_run_is_never_overwritten(run, stats, capsys):
    before = digest(run.folder)
    argv = ["evolve", "--stats", str(stats), "--out", str(run.folder), "--population", "4"]
    fails(capsys, argv, str(run.folder))
    fails(capsys, ["export", str(run.folder), "--out", "x.py", "--select", "99"], "99")
    assert digest(run.folder) == before


def test_bad_proxy_files_are_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("def score_model(:\n")
    fails(capsys, ["correlate", "--proxy", str(broken), "-n", "5"], "broken.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    fails(capsys, ["correlate", "--proxy", str(empty), "-n", "5"], "PROXY_INFO")
    fails(capsys, ["correlate", "--proxy", str(tmp_path / "missing.py"), "-n", "5"], "missing")


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["search", "--algo", "nope", "--evaluations", "5"], "'nope'"),
        (["correlate", "--benchmark", "nope", "-n", "5"], "'nope'"),
        (["collect", "--pattern", "xyz", "-n", "2"], "'xyz'"),
        (["correlate", "-n", "1"], "n=1"),
        (["collect", "-n", "0"], "n must be"),
        (["correlate", "--dataset", "mnist", "-n", "5"], "'mnist'"),
    ],
)
def test_unknown_names_and_bad_numbers(argv, expected, tmp_path, capsys):
    fails(capsys, [*argv, "--out", str(tmp_path)], expected)


def test_bad_evolution_settings(stats, tmp_path, capsys):
    base = ["evolve", "--stats", str(stats), "--out", str(tmp_path / "r")]
    fails(capsys, [*base, "--population", "1"], "population")
    fails(capsys, [*base, "--to-scalar", "nope"], "'nope'")
    assert not (tmp_path / "r").exists()


def test_old_spellings_still_work_with_a_warning(run, tmp_path, capsys):
    out = tmp_path / "old.py"
    assert main(["export", str(run.folder), "--out", str(out), "--rank", "0"]) == 0
    assert "--rank is deprecated" in capsys.readouterr().err and out.exists()
    assert Run.open(run.folder).choose(0)[0] in out.read_text()
