"""A proxy table from per-network score files, without scoring anything.

`eznas correlate --out DIR` writes `correlation-...-scores.csv` (benchmark row, arch, accuracy,
one column per proxy; `docs/scores/` keeps copies without the accuracy). This script joins
one or more such files (e.g. the `--indices` parts of a table scored over several sessions)
with the benchmark's accuracies, checks each row's arch against the benchmark, and prints the
rank metrics of every proxy column, so a committed table can be checked and a split one
assembled. A network scored in two files must have the same scores in both. A combo's column
(az_nas, vkdnw_agg, an evolved file of several components) ranks over its own file's networks,
so over several files it is aggregated again from its components' columns, which correlate
writes beside it. Where a file's table (`correlation-X.csv` beside `correlation-X-scores.csv`)
is at hand, the seconds per network of each proxy are its parts' seconds weighted by their rows.

    python experiments/table_from_scores.py --benchmark nb101 \\
        docs/scores/correlation-nb101-cifar10-n292-s0-scores.csv
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from eznas.benchmark.benchmarks import open_benchmark
from eznas.metrics import COLUMNS, correlate
from eznas.proxies import get_proxy
from eznas.proxies.combo import is_combo, parse_combo

NOT_SCORES = ("index", "arch", "accuracy")


def read_scores(paths: list[str], table) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Benchmark rows and one score column per proxy over every row of ``paths``."""
    rows: dict[int, dict[str, float]] = {}
    for path in paths:
        with open(path, newline="") as handle:
            for line in csv.DictReader(handle):
                index = int(line["index"])
                if table.arch(index) != line["arch"]:
                    raise ValueError(
                        f"{path}: row {index} is {line['arch']!r}, the benchmark's is "
                        f"{table.arch(index)!r}"
                    )
                scores = {k: float(v) for k, v in line.items() if k not in NOT_SCORES}
                seen = rows.setdefault(index, {})
                for name, value in scores.items():
                    old = seen.setdefault(name, value)
                    if not (old == value or (math.isnan(old) and math.isnan(value))):
                        raise ValueError(f"{path}: {name} of row {index} is {value}, not {old}")
    indices = np.array(sorted(rows))
    names = list(dict.fromkeys(name for row in rows.values() for name in row))
    nan = float("nan")
    columns = {name: np.array([rows[i].get(name, nan) for i in indices]) for name in names}
    if len(paths) > 1:  # a combo's ranks do not join across files: aggregate it again
        for name in filter(is_combo, names):
            combo = parse_combo(name)
            parts = [get_proxy(c).name for c in combo.components]
            missing = [c for c in parts if c not in columns]
            if missing:
                raise ValueError(
                    f"{name} ranks over each file's own networks and a file lacks its "
                    f"components' columns ({', '.join(missing)}): score it again with this "
                    "version of correlate"
                )
            columns[name] = combo.aggregate(np.stack([columns[c] for c in parts], 1))
    return indices, columns


def read_seconds(paths: list[str]) -> dict[str, float]:
    """Seconds per network of each proxy over the files whose table is beside them (their
    rows' weighted mean; a proxy missing from one such table gets none)."""
    total: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for path in paths:
        table = Path(path).with_name(Path(path).name.removesuffix("-scores.csv") + ".csv")
        if not table.is_file():
            continue
        with open(path, newline="") as handle:
            n = sum(1 for _ in csv.DictReader(handle))
        with table.open(newline="") as handle:
            for line in csv.DictReader(handle):
                total[line["proxy"]] += n * float(line["sec_per_net"])
                counts[line["proxy"]] += n
    rows = max(counts.values(), default=0)
    return {name: total[name] / rows for name, n in counts.items() if n == rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", nargs="+", help="correlation-...-scores.csv files")
    parser.add_argument("--benchmark", default="nb201", help="the files' benchmark")
    parser.add_argument("--dataset", default=None, help="its dataset (default: its first)")
    parser.add_argument("--data", default=None, help="data folder (default: $EZNAS_DATA)")
    args = parser.parse_args()
    bench = open_benchmark(args.benchmark, args.data)
    try:
        indices, scores = read_scores(args.scores, bench.table)
    except (OSError, ValueError, KeyError) as err:  # a bad file: one line, not a traceback
        raise SystemExit(f"error: {err}") from None
    seconds = read_seconds(args.scores)
    accuracies = bench.table.column(bench.dataset(args.dataset))[indices]
    print(f"{bench.space.id}: {len(indices)} networks from {len(args.scores)} file(s)\n")
    head = [*COLUMNS, "sec_per_net"]
    print("| proxy | " + " | ".join(head) + " |\n|" + "---|" * (len(head) + 1))
    results = {name: correlate(values, accuracies) for name, values in scores.items()}
    for name, result in sorted(results.items(), key=lambda item: -item[1].kendall):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in result.as_dict().values()]
        cells.append(f"{seconds[name]:.2f}" if name in seconds else "-")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
