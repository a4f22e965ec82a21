"""Evolved runs' chosen programs beside library proxies on the same held-out NB201 networks.

The networks are the proxy tables' seeded sample (``correlate -n N --seed S``) minus every
network any task set of any of the given runs used, so no held-out network ever influenced
an evolution or the choice of a program, and every row of a table scores the same networks.
Every program and proxy is scored as ``correlate --seed S`` scores it (weights and batches
from seed S; a run's programs were evolved on caches of its own seed): the programs from
live models in one capture per network (the statistics all chosen programs need, at each of
the runs' batch sizes), saved per dataset under ``--out`` so a rerun skips them; library
proxies through the score cache. Prints one Kendall tau / Spearman rho table per dataset
and each selection's mean over the runs. Example (CIFAR-10 images stand in for the inputs
of CIFAR-100 and ImageNet16-120):

    OMP_NUM_THREADS=1 python experiments/heldout_table.py runs/v2sum3-s0 runs/v2sum3-s1 \\
        runs/v2sum3-s2 -n 1000 --dataset cifar10 cifar100 ImageNet16-120 \\
        --select validation --proxy az_nas vkdnw_agg meco naswot params --out reports/heldout

With ``--outside 1000:0`` the table is a common selection set instead: a fresh sample that
avoids the held-out one too, on which candidate programs of different runs are compared
(each run's own selection networks differ, so their selection taus do not compare runs);
the last table ranks the programs by their mean Kendall tau over the datasets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from eznas import Run, open_benchmark
from eznas.correlation import run_correlation, sample_indices
from eznas.gp.fitness import cache_group, task_indices
from eznas.gp.holdout import holdout_scores
from eznas.gp.selection import selection_networks
from eznas.metrics import correlate
from eznas.stats import open_cache


def task_networks(run: Run, benchmark: str = "nb201", data: str | None = None) -> set[int]:
    """Every network of ``benchmark`` any task set of ``run`` drew (all its caches on that
    benchmark, whatever their dataset), and its selection networks there."""
    found: set[int] = set()
    for entry in run.config.caches:
        with open_cache(cache_group(entry)[0]) as cache:
            if cache.attrs.get("benchmark", cache.attrs["space"]) != benchmark:
                continue
            chosen = task_indices(cache.networks(), run.config.n_task, run.config.seed)
            found |= {int(i) for i in chosen}
    if run.config.select_networks:
        config = run.config
        chosen = selection_networks(config.caches, config.select_networks, config.seed, data)
        found |= {int(i) for i in chosen.get(benchmark, [])}
    return found


def held_out(
    runs: list[Run], bench, n: int, seed: int, data: str | None, outside: tuple[int, int] = ()
) -> np.ndarray:
    """The correlate sample (``n``, ``seed``) minus every task and selection network of
    ``runs`` and, given ``outside`` = (n, seed), minus that correlate sample too; prints how
    many remain."""
    task = set().union(*(task_networks(run, bench.name, data) for run in runs))
    if outside:
        task |= {int(i) for i in sample_indices(bench.table, *outside)}
    sample = sample_indices(bench.table, n, seed)
    held = np.array([i for i in sample if int(i) not in task])
    print(f"{len(held)} of the {len(sample)} sampled networks are outside every task set")
    return held


def sample_spec(text: str) -> tuple[int, int]:
    """``N:SEED`` -> (N, SEED), for ``--outside``."""
    try:
        n, seed = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not N:SEED, e.g. 1000:0") from None
    return n, seed


def program_scores(
    chosen, bench, dataset, held, seed, out: Path | None, pattern: str | None = None
) -> np.ndarray:
    """(chosen individuals, held networks) scores; blocks follow ``pattern`` (default: each
    run's own). Rows are saved under ``out`` by individual and capture settings, so a rerun
    with more runs computes only the new individuals."""
    keys = []
    for run, _, ind in chosen:
        attrs, captures = run.statistics()
        setting = [run.config.to_scalar, pattern or attrs["pattern"], captures]
        keys.append(json.dumps([*setting, ind.text(run.config.aggregate)]))
    path = out / f"programs-{bench.name}-{dataset}-s{seed}.npz" if out else None
    saved: dict[str, np.ndarray] = {}
    if path and path.exists():
        found = np.load(path)
        position = {int(i): p for p, i in enumerate(found["held"])}
        if all(int(i) in position for i in held):  # the same networks, or a subset of them
            columns = [position[int(i)] for i in held]
            rows = found["scores"][:, columns]
            saved = dict(zip(json.loads(str(found["keys"])), rows, strict=True))
    missing: dict[str, list[str]] = {}  # capture settings -> keys of individuals to score
    for key in dict.fromkeys(keys):
        if key not in saved:
            missing.setdefault(json.dumps(json.loads(key)[:3]), []).append(key)
    by_key = {key: ind for key, (_, _, ind) in zip(keys, chosen, strict=True)}
    for setting, members in missing.items():
        to_scalar, blocks, captures = json.loads(setting)
        rows = holdout_scores(
            [by_key[key] for key in members],
            bench,
            dataset,
            held,
            seed=seed,
            captures=captures,
            to_scalar=to_scalar,
            pattern=blocks,
        )
        saved.update(zip(members, rows, strict=True))
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                path, keys=json.dumps(list(saved)), held=held, scores=np.array(list(saved.values()))
            )
    return np.array([saved[key] for key in keys])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders of `eznas evolve`")
    parser.add_argument("-n", type=int, default=1000, help="size of the correlate sample")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample and the scores")
    parser.add_argument("--dataset", nargs="+", default=["cifar10"])
    parser.add_argument("--select", nargs="+", default=["selection", "validation", "task", "0"])
    parser.add_argument("--proxy", nargs="+", default=["az_nas", "vkdnw_agg", "meco", "params"])
    parser.add_argument("--score-cache", default="score_cache/scores.sqlite")
    parser.add_argument("--out", type=Path, default=None, help="folder for the program scores")
    parser.add_argument(
        "--also-exclude", nargs="+", default=[], metavar="RUN",
        help="runs whose task networks are left out too (same held-out set as their table)",
    )  # fmt: skip
    parser.add_argument(
        "--outside", type=sample_spec, default=(), metavar="N:SEED",
        help="leave out that correlate sample too: a common selection set for choosing among "
        "runs, e.g. -n 400 --seed 11 --outside 1000:0 never touches the held-out 1,000",
    )  # fmt: skip
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    runs = [Run.open(folder) for folder in args.runs]
    bench = open_benchmark("nb201", args.data)
    others = [Run.open(folder) for folder in args.also_exclude]
    held = held_out(runs + others, bench, args.n, args.seed, args.data, args.outside)
    chosen = []
    for run in runs:
        for select in args.select:
            chosen.append(
                (run, select, run.individual(int(select) if select.isdigit() else select))
            )
    over_datasets: dict[str, list[float]] = {}  # run (select) -> tau per dataset
    for dataset in args.dataset:
        acc = bench.table.column(dataset)[held]
        scores = program_scores(chosen, bench, dataset, held, args.seed, args.out)
        report = run_correlation(
            bench, dataset, args.proxy, seed=args.seed, indices=held, cache=args.score_cache
        )
        print(f"\n{dataset}: {len(held)} held-out networks\n")
        print("| proxy | Kendall tau | Spearman rho | NaN |\n|---|---|---|---|")
        by_select: dict[str, list[float]] = {}
        for (run, select, ind), row in zip(chosen, scores, strict=True):
            result = correlate(row, acc)
            by_select.setdefault(select, []).append(result.kendall)
            over_datasets.setdefault(f"{run.folder.name} ({select})", []).append(result.kendall)
            text = ind.text(run.config.aggregate)
            print(f"| {run.folder.name} ({select}) `{text}` | {result.kendall:.3f} | "
                  f"{result.spearman:.3f} | {result.nan} |")  # fmt: skip
        for name in args.proxy:
            result = correlate(report.scores[name], acc)
            print(f"| {name} | {result.kendall:.3f} | {result.spearman:.3f} | {result.nan} |")
        for select, taus in by_select.items():
            print(f"\n{select}: Kendall tau {', '.join(f'{t:.3f}' for t in taus)} "
                  f"(mean {np.mean(taus):.3f}, min {np.min(taus):.3f})")  # fmt: skip
    print(f"\nPrograms by mean Kendall tau over {', '.join(args.dataset)}:\n")
    for name, taus in sorted(over_datasets.items(), key=lambda item: -np.mean(item[1])):
        print(f"| {name} | {' | '.join(f'{t:.3f}' for t in taus)} | {np.mean(taus):.3f} |")


if __name__ == "__main__":
    main()
