import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eznas.cli import main
from eznas.correlation import run_correlation


def test_correlate_params_on_real_networks(tmp_path, capsys):
    cache = str(tmp_path / "scores.sqlite")
    argv = ["correlate", "--proxy", "params", "flops", "-n", "40", "--out", str(tmp_path)]
    code = main([*argv, "--score-cache", cache])
    assert code == 0
    out = capsys.readouterr().out
    assert "| params |" in out and "| flops |" in out
    assert (tmp_path / "correlation-nb201-cifar10-n40-s0.csv").exists()
    report = run_correlation(proxies=["params"], n=40, progress=False, cache=cache)
    # params correlates positively with NB201 accuracy (about 0.56 Kendall on all archs)
    assert report.results["params"].kendall > 0.3
    with (tmp_path / "correlation-nb201-cifar10-n40-s0-scores.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["index"]) for r in rows] == report.indices.tolist()
    assert [r["arch"] for r in rows] == [report.benchmark.table.arch(i) for i in report.indices]
    assert [float(r["params"]) for r in rows] == report.scores["params"].tolist()
    assert [float(r["accuracy"]) for r in rows] == report.accuracies.tolist()
    assert "flops" in rows[0]
    combo = run_correlation(
        proxies=["params", "combo:logrank(flops,params)"], n=40, progress=False, cache=cache
    )
    assert list(combo.components) == ["flops"]  # a combo's unrequested parts ride along
    assert combo.components["flops"].tolist() == [float(r["flops"]) for r in rows]


def test_correlate_parts_by_rows_keep_their_own_files(tmp_path):
    """Two --indices parts of equal size land in two files, named by their rows."""
    cache = ["--score-cache", str(tmp_path / "scores.sqlite"), "--out", str(tmp_path)]
    for rows in (["10", "11", "12"], ["20", "22", "21"]):
        assert main(["correlate", "--proxy", "params", "--indices", *rows, *cache]) == 0
    assert (tmp_path / "correlation-nb201-cifar10-rows10-12-s0-scores.csv").exists()
    others = list(tmp_path.glob("correlation-nb201-cifar10-rows3x*-s0-scores.csv"))
    with others[0].open() as handle:
        assert [r["index"] for r in csv.DictReader(handle)] == ["20", "22", "21"]


def test_benchmark_option_reaches_correlate_search_and_collect(tmp_path, capsys):
    cache = ["--score-cache", str(tmp_path / "scores.sqlite")]
    bench = ["--benchmark", "nbmacro"]
    argv = ["correlate", *bench, "--proxy", "params", "skip", "-n", "30", "--out", str(tmp_path)]
    assert main([*argv, *cache]) == 0
    assert (tmp_path / "correlation-nbmacro-cifar10-n30-s0.csv").exists()
    argv = ["search", *bench, "--algo", "rea", "--proxy", "oracle", "--evaluations", "20"]
    assert main([*argv, "--runs", "2", "--out", str(tmp_path), *cache]) == 0
    assert "search-rea-cifar10.csv" in capsys.readouterr().out
    argv = ["collect", *bench, "-n", "1", "--out", str(tmp_path / "s.h5")]
    assert main(argv) == 0
    assert (tmp_path / "s.h5").exists()


def test_cli_errors_name_the_bad_value(capsys):
    assert main(["correlate", "--dataset", "mnist", "-n", "5"]) == 2
    assert "'mnist'" in capsys.readouterr().err
    assert main(["correlate", "--proxy", "nope", "-n", "5"]) == 2
    assert "unknown proxy 'nope'" in capsys.readouterr().err


def test_console_script_info():
    result = subprocess.run(
        [sys.executable, "-m", "eznas", "info"], capture_output=True, text=True, check=True
    )
    assert "nb201" in result.stdout and "cifar-10-batches-py" in result.stdout


def _children(pid: int) -> set[int]:
    """Linux: the processes whose parent is ``pid``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_sigterm_stops_a_parallel_correlate_with_its_workers(tmp_path):
    if not os.path.isdir("/proc"):
        pytest.skip("needs /proc to find the worker processes")
    argv = ["correlate", "--proxy", "naswot", "-n", "200", "--jobs", "2", "--score-cache", "none"]
    run = subprocess.Popen(
        [sys.executable, "-m", "eznas", *argv, "--out", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.time() < deadline:  # joblib's two workers, plus trackers
        time.sleep(0.5)
        workers = {p for p in _children(run.pid) if b"loky" in _cmdline(p)}
    assert len(workers) >= 2
    run.send_signal(signal.SIGTERM)
    code = run.wait(timeout=60)
    deadline = time.time() + 30
    while any(os.path.exists(f"/proc/{p}") for p in workers) and time.time() < deadline:
        time.sleep(0.5)
    orphans = [p for p in workers if os.path.exists(f"/proc/{p}")]
    for p in orphans:  # do not leave them burning CPU when the test fails
        os.kill(p, signal.SIGKILL)
    assert code == 128 + signal.SIGTERM and not orphans


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
