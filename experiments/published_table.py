"""Set `eznas correlate` reports for the three NB201 datasets beside the published numbers.

Reads the CSVs `eznas correlate --dataset D -n N --seed S --out DIR` wrote for CIFAR-10,
CIFAR-100 and ImageNet16-120 and prints one markdown table: Kendall tau / Spearman rho per
dataset, the published value of the metric the papers report (tau or rho), the NaN count
and seconds per network.

    python experiments/published_table.py reports/proxies-1000 -n 1000 --seed 0
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from proxy_tables import DATASETS, PUBLISHED


def load(folder: Path, dataset: str, n: int, seed: int) -> dict[str, dict[str, str]]:
    path = folder / f"correlation-nb201-{dataset}-n{n}-s{seed}.csv"
    if not path.exists():
        return {}
    with path.open() as f:
        return {row["proxy"]: row for row in csv.DictReader(f)}


def cell(row: dict[str, str] | None, *keys: str) -> str:
    if not row:
        return "-"
    return " / ".join(f"{float(row[k]):.3f}" for k in keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    reports = {d: load(args.folder, d, args.n, args.seed) for d in DATASETS}
    proxies = list(dict.fromkeys(p for report in reports.values() for p in report))
    print(
        "| proxy | CIFAR-10 tau / rho | CIFAR-100 tau / rho | IN16-120 tau / rho "
        "| published | NaN | s/net |"
    )
    print("|---|---|---|---|---|---|---|")
    for proxy in proxies:
        rows = [reports[d].get(proxy) for d in DATASETS]
        metric = next((m for m in ("kendall", "spearman") if proxy in PUBLISHED[m]), None)
        shown = (
            f"{'tau' if metric == 'kendall' else 'rho'} "
            + " / ".join(f"{v:.2f}" for v in PUBLISHED[metric][proxy])
            if metric
            else "-"
        )
        nan = " / ".join(r["nan"] if r else "-" for r in rows)
        seconds = " / ".join(f"{float(r['sec_per_net']):.2f}" if r else "-" for r in rows)
        cells = " | ".join(cell(r, "kendall", "spearman") for r in rows)
        print(f"| {proxy} | {cells} | {shown} | {nan} | {seconds} |")


if __name__ == "__main__":
    main()
