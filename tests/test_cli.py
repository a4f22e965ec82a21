import subprocess
import sys

from eznas.cli import main
from eznas.correlation import run_correlation


def test_correlate_params_on_real_networks(tmp_path, capsys):
    cache = str(tmp_path / "scores.sqlite")
    argv = ["correlate", "--proxy", "params", "flops", "-n", "40", "--out", str(tmp_path)]
    code = main([*argv, "--cache", cache])
    assert code == 0
    out = capsys.readouterr().out
    assert "| params |" in out and "| flops |" in out
    assert (tmp_path / "correlation-nb201-cifar10-n40-s0.csv").exists()
    report = run_correlation(proxies=["params"], n=40, progress=False, cache=cache)
    # params correlates positively with NB201 accuracy (about 0.56 Kendall on all archs)
    assert report.results["params"].kendall > 0.3


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
