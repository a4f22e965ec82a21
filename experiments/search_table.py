"""Reproduce the training-free search table (NASWOT, FreeREA, FreeREA^-, ET-NAS, ...) and
a test-accuracy-vs-time plot.

Each row runs ``--runs`` searches (seeds ``--seed``..) through the shared score cache, so a
second invocation replays the same seeds warm: its "wall s/run" is the warm wall time
while "cold s/run" stays the proxies' real (cold) computation read back from the cache.
With ``--search-dataset cifar10`` every search scores networks built for CIFAR-10 and the
chosen archs are looked up on all three datasets (NASWOT's protocol); ``each`` searches
every dataset separately. CIFAR-10 images stand in for CIFAR-100 and ImageNet16-120.

    nice -n 10 python experiments/search_table.py --runs 2 --out reports/search

``--proxy my_proxy.py`` drives the rows by an exported evolved proxy instead of their own
metric (ET-NAS, whose three-metric design has no single-metric form, and the oracle are
skipped). ``--benchmark nbmacro|nb101|nb301`` searches another space (NB101/NB301 inside
their labelled archs) against its optimum; ``--replace naswot=meco`` swaps one proxy of every
row's metric for another (where NASWOT is weak or too slow), FreeREA's sum included:

    nice -n 10 python experiments/search_table.py --benchmark nb101 --runs 30 \\
        --rows "NASWOT N=100" "FreeREA" "REA oracle (reference)" --replace naswot=meco
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from eznas.benchmark.benchmarks import open_benchmark
from eznas.proxies.scoring import ScoreCache
from eznas.search import SearchSummary, get_search, markdown_table, save_runs, search_runs

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
# label -> (algorithm, search keyword arguments); budgets sized for 2 shared CPU cores
ROWS: dict[str, tuple[str, dict]] = {
    "NASWOT N=100": ("random", dict(evaluations=100)),
    "FreeREA": ("freerea", dict(evaluations=60, inits=1)),
    "FreeREA^-": ("freerea-", dict(evaluations=60, inits=1)),
    "ET-NAS": ("etnas", dict()),
    "ET-NAS RANK": ("etnas", dict(rank=True)),
    "FreeREA 1e8 FLOPs / 8e5 params": (
        "freerea",
        dict(evaluations=60, inits=1, max_flops=1e8, max_params=8e5),
    ),
    "FreeREA 45 s": ("freerea", dict(time_budget=45, inits=1)),
    "FreeREA 60 s": ("freerea", dict(time_budget=60, inits=1)),
    "REA N=100": ("rea", dict(evaluations=100)),
    "REA oracle (reference)": ("rea", dict(proxy="oracle", evaluations=100)),
}


def parse_replace(text: str) -> tuple[str, str]:
    old, _, new = text.partition("=")
    if not old or not new:
        raise argparse.ArgumentTypeError(f"--replace {text!r} must look like 'naswot=meco'")
    return old, new


def replaced(algo: str, kwargs: dict, swaps: list[tuple[str, str]]) -> dict:
    """``kwargs`` with each ``old`` proxy of the row's metric (given or the algorithm's
    default) swapped for ``new``; the oracle stays."""
    proxies = kwargs.get("proxy", get_search(algo).proxies)
    if not swaps or proxies == "oracle":
        return kwargs
    names = (proxies,) if isinstance(proxies, str) else tuple(proxies)
    for old, new in swaps:
        names = tuple(new if name == old else name for name in names)
    return {**kwargs, "proxy": names}


def on_dataset(summary: SearchSummary, dataset: str, table) -> SearchSummary:
    """The same chosen archs scored by their test accuracy on ``dataset``."""
    results = [
        dataclasses.replace(r, dataset=dataset, accuracy=table.accuracy(r.arch, dataset))
        for r in summary.results
    ]
    return SearchSummary(summary.label, dataset, results, table.optimum(dataset)[1])


def plot(summaries: list[SearchSummary], path: Path) -> Path | None:
    """Mean test accuracy of the best-so-far arch against cold seconds, one line per row.

    Lines follow each search's own best-so-far by its fitness (ET-NAS: by LogSynflow,
    before its final Pareto pick); dots with bars are the final answers, mean +- std.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot (pip install eznas[plot])", file=sys.stderr)
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for summary in summaries:
        first = max(r.trajectory[0][0] for r in summary.results)  # every run has a best
        grid = np.linspace(first, max(r.seconds for r in summary.results), 200)
        curves = []
        for r in summary.results:
            times, accs = np.array(r.trajectory).T
            index = np.searchsorted(times, grid, side="right") - 1
            curves.append(np.where(index >= 0, accs[np.clip(index, 0, None)], np.nan))
        (line,) = ax.plot(grid, np.nanmean(curves, axis=0), label=summary.label)
        mean, std = summary.accuracy
        seconds = np.mean([r.seconds for r in summary.results])
        ax.errorbar(seconds, mean, yerr=std, fmt="o", color=line.get_color())
    ax.axhline(summaries[0].optimum, color="k", ls=":", label="optimum")
    ax.set_xscale("log")
    ax.set_xlim(left=1.0)
    ax.set_xlabel("search time, cold (s of proxy computation on 2 shared CPU cores)")
    ax.set_ylabel(f"test accuracy on {summaries[0].dataset} (%)")
    ax.set_ylim(bottom=max(ax.get_ylim()[0], 85))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), help="row labels to run")
    parser.add_argument("--search-dataset", default="cifar10", help="a dataset or 'each'")
    parser.add_argument("--score-cache", dest="cache", default="score_cache/search.sqlite")
    parser.add_argument("--out", default="reports/search")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--proxy", default=None, help="drive the rows by this proxy instead")
    parser.add_argument("--benchmark", default="nb201", help="space + ground truth")
    parser.add_argument("--data", default=None, help="data folder")
    parser.add_argument(
        "--replace", type=parse_replace, action="append", default=[], help="OLD=NEW proxy"
    )
    args = parser.parse_args(argv)
    unknown = set(args.rows) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; allowed: {list(ROWS)}")
    torch.set_num_threads(args.threads)
    bench = open_benchmark(args.benchmark, args.data)
    table, cache, out = bench.table, ScoreCache(args.cache), Path(args.out)
    datasets = tuple(d for d in DATASETS if d in bench.datasets) or bench.datasets
    searched = datasets if args.search_dataset == "each" else (args.search_dataset,)
    summaries, raw = [], []
    for label in args.rows:
        algo, kwargs = ROWS[label]
        if args.proxy:
            if algo == "etnas" or "proxy" in kwargs:
                continue
            kwargs = {**kwargs, "proxy": args.proxy, "inits": 1}
            label = f"{label} [{Path(args.proxy).stem}]"
        swapped = replaced(algo, kwargs, args.replace)
        if swapped is not kwargs:
            label = f"{label} [{'+'.join(swapped['proxy'])}]"
        for dataset in searched:
            start = time.perf_counter()
            summary = search_runs(
                algo,
                args.runs,
                args.seed,
                benchmark=bench,
                dataset=dataset,
                cache=cache,
                label=label,
                **swapped,
            )
            print(f"{summary.text()}  [{time.perf_counter() - start:.0f} s]", flush=True)
            for result in summary.results:
                print("  " + result.line(), flush=True)
            raw.append(summary)
            targets = (dataset,) if args.search_dataset == "each" else datasets
            summaries += [on_dataset(summary, d, table) for d in targets]
    out.mkdir(parents=True, exist_ok=True)
    text = (
        f"{args.benchmark}: searched on {args.search_dataset}; {args.runs} run(s) from seed "
        f"{args.seed}; cache {args.cache}\n\n" + markdown_table(summaries)
    )
    print(text)
    (out / "search_table.md").write_text(text)
    print(f"saved {save_runs(summaries, out / 'search_runs.csv')}")
    timed = [s for s in raw if max(r.seconds for r in s.results) > 1.0]  # not the oracle
    figure = plot(timed, out / "search_accuracy_vs_time.png") if timed else None
    if figure:
        print(f"saved {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
