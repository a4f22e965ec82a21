"""NB301 proxy table: agreement with NAS-Bench-Suite-Zero and correlation with NB301's surrogate.

Networks are the 725 archs of NAS-Bench-Suite-Zero's NB301 file in a seeded random order;
tier k scores the first n_k of them (smaller tiers are prefixes of larger ones). Per proxy:
rank metrics against the CIFAR-10 validation accuracy *predicted by NB301's surrogate v1.0*
(the only NB301 labels here), the Spearman rho between our scores and the reference's
scores of the same proxy (``ref_spearman``), the reference scores' own Spearman rho with
the surrogate accuracy (``ref_acc_spearman``), NaN counts and seconds per network. Scores
go through the score cache, so an interrupted run resumes.

    OMP_NUM_THREADS=1 nice -n 5 python experiments/nb301_proxy_tables.py \\
        --tier params,flops,synflow:725 --tier grad_norm,snip:100
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from proxy_tables import save_table
from tqdm.auto import tqdm

from eznas.benchmark.nb301 import load_nb301_reference
from eznas.correlation import REFERENCE_NAMES, agreement
from eznas.metrics import COLUMNS, correlate, spearman
from eznas.proxies.scoring import DEFAULT_CACHE, Scorer


def parse_tier(text: str) -> tuple[list[str], int]:
    names, _, n = text.partition(":")
    if not n.isdigit():
        raise argparse.ArgumentTypeError(f"tier {text!r} must look like 'proxy,proxy:N'")
    return names.split(","), int(n)


def run(args: argparse.Namespace) -> list[dict]:
    reference = load_nb301_reference(args.data)
    order = sorted(reference)
    np.random.default_rng(args.seed).shuffle(order)
    scorer = Scorer("nb301", "cifar10", args.seed, data_dir=args.data, cache=args.cache)
    rows = []
    for names, n in args.tier:
        archs = order[:n]
        accuracy = np.array([reference[a]["val_accuracy"] for a in archs])
        for name in names:
            before = scorer.compute_seconds
            scores = np.array([scorer(a, name) for a in tqdm(archs, desc=f"{name} networks")])
            row = {"proxy": name, **correlate(scores, accuracy).as_dict()}
            row["sec_per_net"] = (scorer.compute_seconds - before) / len(archs)
            row["ref_spearman"], row["ref_n"] = float("nan"), 0
            row["ref_acc_spearman"] = float("nan")
            if name in REFERENCE_NAMES:
                theirs = {a: reference[a][REFERENCE_NAMES[name]]["score"] for a in archs}
                row["ref_spearman"], row["ref_n"] = agreement(
                    dict(zip(archs, scores, strict=True)), theirs
                )
                row["ref_acc_spearman"] = spearman(list(theirs.values()), accuracy)
            rows.append(row)
            print(f"{name}: done ({len(archs)} networks)", flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    head = [
        "proxy",
        "n",
        *[c for c in COLUMNS if c != "n"],
        "ref_spearman",
        "ref_n",
        "ref_acc_spearman",
        "sec_per_net",
    ]
    title = "### NB301 / CIFAR-10 (accuracy: NB301 surrogate v1.0 prediction)"
    lines = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = []
        for h in head:
            v = row[h]
            if isinstance(v, float):
                cells.append("-" if np.isnan(v) else f"{v:.3f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", type=parse_tier, action="append", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None)
    parser.add_argument("--score-cache", dest="cache", default=str(DEFAULT_CACHE))
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = run(args)
    text = markdown(rows)
    print(text)
    save_table(args.out / f"proxy_tables-nb301-cifar10-s{args.seed}", text, rows)


if __name__ == "__main__":
    main()
