"""Command-line front end: one subcommand per pipeline stage, same options as the API.

Each subcommand is a ``(configure, run)`` pair registered with ``@command``; ``configure``
adds its options to an argparse parser and ``run`` calls the Python API.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable

from eznas.proxies.scoring import DEFAULT_CACHE as DEFAULT_SCORE_CACHE

COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}


def command(name: str, help: str):
    """Register ``configure(parser)``; the decorated function's ``.run`` is set below it.

    Sections (one per stage) follow ``main``; add a new one at the end of the file.
    """

    def add(configure: Callable) -> Callable:
        COMMANDS[name] = (help, configure, lambda args: configure.run(args))
        return configure

    return add


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eznas", description="Evolve zero-cost NAS proxies and search with them."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _exit_on_sigterm(signum: int, _frame) -> None:
    """SIGTERM unwinds like Ctrl-C, so joblib shuts its worker processes down with us."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return COMMANDS[args.command][2](args)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"eznas {args.command}: error: {err}", file=sys.stderr)
        return 2
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="data folder (default: $EZNAS_DATA, else ../shared/data)",
    )


def _space_dataset_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", default="nb201", help="search space (default nb201)")
    parser.add_argument(
        "--benchmark",
        default=None,
        help="ground truth + space instead of --space: a shipped benchmark's name or a CSV "
        "from `eznas bench build`",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        help="cifar10, cifar100 or ImageNet16-120 (default cifar10, or the benchmark's first)",
    )


def _space_and_table(args: argparse.Namespace):
    """(space, table, dataset) from --space or --benchmark (table None = the space's own)."""
    if args.benchmark is None:
        return args.space, None, args.dataset or "cifar10"
    from eznas.benchmark.benchmarks import open_benchmark

    bench = open_benchmark(args.benchmark, args.data)
    return bench.space, bench.table, args.dataset or bench.datasets[0]


# ---------------------------------------------------------------- info
@command("info", "spaces, datasets, proxies and where the data was found")
def info_options(parser: argparse.ArgumentParser) -> None:
    _data_option(parser)


def info_run(args: argparse.Namespace) -> int:
    from eznas.benchmark.benchmarks import shipped_benchmarks
    from eznas.data import DATASETS, load_images
    from eznas.paths import DataNotFoundError, data_roots, find_data
    from eznas.proxies import PROXIES
    from eznas.proxies.combo import AGGREGATORS, COMBOS
    from eznas.spaces import SPACES

    print("spaces:   " + ", ".join(sorted(SPACES)))
    print("datasets: " + ", ".join(DATASETS))
    print("proxies:  " + ", ".join(sorted(PROXIES)))
    print(
        f"combos:   {', '.join(sorted(COMBOS))}, or combo:AGG(p1,p2,...) with AGG in "
        f"{', '.join(sorted(AGGREGATORS))}"
    )
    print("shipped benchmarks: " + ", ".join(shipped_benchmarks()))
    print("data roots (in order): " + ", ".join(str(r) for r in data_roots(args.data)))
    try:
        print(f"ground truth: {find_data('nb201_accuracies.csv', args.data)}")
    except DataNotFoundError as err:
        print(f"ground truth: not found ({err})")
    for name in DATASETS:
        try:
            images = load_images(name, args.data)
            print(f"images {name}: {len(images.labels)} from {images.source}")
        except DataNotFoundError as err:
            print(f"images {name}: not found ({err})")
    return 0


info_options.run = info_run


# ---------------------------------------------------------------- correlate
@command("correlate", "rank sampled networks by proxies and correlate with test accuracy")
def correlate_options(parser: argparse.ArgumentParser) -> None:
    _space_dataset_options(parser)
    _data_option(parser)
    parser.add_argument(
        "--proxy",
        nargs="+",
        default=["params", "flops"],
        help="proxy names, combos (az_nas, combo:logrank(p1,p2)) or 'all' (default: params flops)",
    )
    parser.add_argument("-n", type=int, default=1000, help="networks to sample (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    parser.add_argument(
        "--out", default="reports", metavar="DIR", help="folder for the CSV + markdown table"
    )
    _score_cache_options(parser)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="override every proxy's default batch size"
    )
    parser.add_argument(
        "--plot", action="store_true", help="save a score-vs-accuracy PNG per proxy (by params)"
    )


def _score_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        default=str(DEFAULT_SCORE_CACHE),
        metavar="FILE",
        help=f"score cache (default {DEFAULT_SCORE_CACHE}); --cache none disables it",
    )
    parser.add_argument(
        "--inits", type=int, default=1, help="weight initialisations each score averages"
    )


def _cache_path(value: str) -> str | None:
    return None if value.lower() == "none" else value


def correlate_run(args: argparse.Namespace) -> int:
    from eznas.correlation import run_correlation

    space, table, dataset = _space_and_table(args)
    report = run_correlation(
        space=space,
        dataset=dataset,
        table=table,
        proxies=args.proxy,
        n=args.n or None,
        seed=args.seed,
        data_dir=args.data,
        jobs=args.jobs,
        cache=_cache_path(args.cache),
        inits=args.inits,
        batch_size=args.batch_size,
    )
    print(report.markdown())
    csv_path, md_path = report.save(args.out)
    print(f"saved {csv_path} and {md_path}")
    if args.plot:
        print(f"saved {len(report.plot(args.out))} scatter plots in {args.out}")
    return 0


correlate_options.run = correlate_run


# ---------------------------------------------------------------- collect
@command("collect", "collect RCB/CBR network statistics into an HDF5 statistics cache")
def collect_options(parser: argparse.ArgumentParser) -> None:
    _space_dataset_options(parser)
    _data_option(parser)
    parser.add_argument("-n", type=int, default=80, help="networks to sample (default 80)")
    parser.add_argument("--seed", type=int, default=0, help="sampling, weights and inputs")
    parser.add_argument("--batch-size", type=int, default=1, help="B of D/N/P (default 1)")
    parser.add_argument(
        "--indices", type=int, nargs="+", default=None, help="benchmark indices instead of -n"
    )
    parser.add_argument("--pattern", default="rcb", help="block pattern: rcb or cbr")
    parser.add_argument("--dtype", default="float32", help="storage: float32 or float16")
    parser.add_argument(
        "--compression", default="gzip", help="gzip (compact, default), lzf or none (fastest)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--out", default="statistics_cache", metavar="DIR", help="cache folder")


def collect_run(args: argparse.Namespace) -> int:
    from eznas.stats import collect

    space, table, dataset = _space_and_table(args)
    path = collect(
        space=space,
        dataset=dataset,
        table=table,
        n=args.n,
        seed=args.seed,
        batch_size=args.batch_size,
        indices=args.indices,
        pattern=args.pattern,
        dtype=args.dtype,
        out=args.out,
        jobs=args.jobs,
        data_dir=args.data,
        compression=args.compression,
    )
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


collect_options.run = collect_run


# ---------------------------------------------------------------- search
@command("search", "training-free architecture search (random/NASWOT, rea, area, freerea, etnas)")
def search_options(parser: argparse.ArgumentParser) -> None:
    from eznas.search import SEARCHES

    parser.add_argument("--algo", default="freerea", help=f"one of {', '.join(sorted(SEARCHES))}")
    _space_dataset_options(parser)
    _data_option(parser)
    parser.add_argument(
        "--proxy",
        nargs="+",
        default=None,
        help="fitness proxies (several combine as FreeREA's metric), a combo such as az_nas or "
        "'combo:logrank(p1,p2)', 'oracle' or an exported .py file (default: the algorithm's own)",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="SEC",
        help="seconds of proxy computation per run (cold-equivalent)",
    )
    parser.add_argument(
        "--evaluations",
        type=int,
        default=None,
        metavar="N",
        help="distinct architectures evaluated per run",
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="first search seed (one per run)")
    parser.add_argument(
        "--proxy-seed",
        type=int,
        default=0,
        help="seed of the data batch and weight initialisations",
    )
    parser.add_argument("--population", type=int, default=None)
    parser.add_argument("--tournament", type=int, default=None)
    parser.add_argument("--cycles", type=int, default=None, help="etnas: history length C")
    parser.add_argument("--max-flops", type=float, default=None, help="freerea: e.g. 1e8")
    parser.add_argument("--max-params", type=float, default=None, help="freerea: e.g. 8e5")
    parser.add_argument(
        "--no-degree",
        dest="degree",
        action="store_false",
        default=None,
        help="etnas: accept children whatever their degree",
    )
    parser.add_argument(
        "--rank",
        action="store_true",
        default=None,
        help="etnas: pick by the sum of ranks, not the utopian distance",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default="reports", metavar="DIR", help="folder for the CSV")
    parser.add_argument(
        "--cache",
        default=str(DEFAULT_SCORE_CACHE),
        metavar="FILE",
        help=f"score cache (default {DEFAULT_SCORE_CACHE}); none disables it",
    )
    parser.add_argument(
        "--inits",
        type=int,
        default=None,
        help="initialisations each score averages (default: the algorithm's)",
    )


def search_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from eznas.search import save_runs, search_runs

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    names = ("population", "tournament", "cycles", "max_flops", "max_params", "degree", "rank")
    options = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    proxy = args.proxy[0] if args.proxy and len(args.proxy) == 1 else args.proxy
    space, table, dataset = _space_and_table(args)
    summary = search_runs(
        args.algo,
        runs=args.runs,
        seed=args.seed,
        space=space,
        dataset=dataset,
        table=table,
        proxy=proxy,
        data_dir=args.data,
        cache=_cache_path(args.cache),
        proxy_seed=args.proxy_seed,
        inits=args.inits,
        time_budget=args.time_budget,
        evaluations=args.evaluations,
        **options,
    )
    for result in summary.results:
        print(result.line())
    print(summary.text())
    path = save_runs([summary], Path(args.out) / f"search-{args.algo}-{dataset}.csv")
    print(f"saved {path}")
    return 0


search_options.run = search_run


# ---------------------------------------------------------------- bench
@command("bench", "build your own benchmark by short training (eznas bench build ...)")
def bench_options(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="bench_action", required=True)
    build = actions.add_parser("build", help="train sampled archs and write an accuracy CSV")
    build.add_argument("--space", default="nb201")
    build.add_argument("--dataset", default="digits", help="digits (offline) or an image dataset")
    _data_option(build)
    build.add_argument("-n", type=int, default=1000, help="architectures to train")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--channels", type=int, default=8, help="channels of the first stage")
    build.add_argument("--cells", type=int, default=1, help="cells per stage")
    build.add_argument("--epochs", type=int, default=1)
    build.add_argument("--batch-size", type=int, default=32)
    build.add_argument("--lr", type=float, default=0.1)
    build.add_argument("--test-size", type=int, default=500, help="held-out test images")
    build.add_argument(
        "--train-size", type=int, default=None, help="cap on training images (default: the rest)"
    )
    build.add_argument(
        "--input-noise",
        type=float,
        default=0.0,
        help="std of fixed Gaussian noise on every image (makes easy data harder)",
    )
    build.add_argument("--seeds", type=int, default=1, help="training seeds each accuracy averages")
    build.add_argument(
        "--noise-subset",
        type=int,
        default=100,
        help="networks trained again with the next --seeds seeds (seed-to-seed tau)",
    )
    build.add_argument("--jobs", type=int, default=1)
    build.add_argument("--out", required=True, metavar="CSV")


def bench_run(args: argparse.Namespace) -> int:
    from eznas.bench import BenchmarkSpec, Recipe, build_benchmark

    recipe = Recipe(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        test_size=args.test_size,
        train_size=args.train_size,
        input_noise=args.input_noise,
    )
    spec = BenchmarkSpec(
        space=args.space,
        dataset=args.dataset,
        n=args.n,
        seed=args.seed,
        channels=args.channels,
        cells=args.cells,
        noise_subset=args.noise_subset,
        recipe=recipe,
        seeds=args.seeds,
    )
    out = build_benchmark(spec, args.out, jobs=args.jobs, data_dir=args.data)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    print(f"wrote {out} ({out.stat().st_size / 1024:.1f} KiB) and {out.with_suffix('.json')}")
    tau, pairs = sidecar["seed_to_seed_kendall"], sidecar["noise_subset"]
    print(f"seed-to-seed Kendall tau on {pairs} networks: {tau}")
    return 0


bench_options.run = bench_run


# ---------------------------------------------------------------- evolve
@command("evolve", "evolve zero-cost proxies (EZNAS) on statistics caches, or resume a run")
def evolve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", nargs="+", default=[], help="statistics caches (HDF5)")
    parser.add_argument("--out", default=None, metavar="RUN", help="run folder to create")
    parser.add_argument("--resume", default=None, metavar="RUN", help="continue this run")
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--generations", type=int, default=None, help="default 50")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-s", type=int, default=4, help="pairs drawn per generation")
    parser.add_argument("--per-pair", type=int, default=20, help="networks drawn per pair")
    parser.add_argument("--n-task", type=int, default=80, help="task networks per cache")
    parser.add_argument("--to-scalar", default="mean", help="mean, l2 or sum")
    parser.add_argument("--aggregate", default="mean", help="mean, sum, amax or amin")
    parser.add_argument("--tournsize", type=int, default=3, help="1 = Algorithm 1 literally")
    parser.add_argument(
        "--needs-values",
        action="store_true",
        help="reject programs whose scores ignore tensor values (pure shape counters)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="threads evaluating fitness (share the statistics)"
    )
    parser.add_argument("--scheduler", default=None, help="dask scheduler tcp://host:port")
    parser.add_argument(
        "--test", type=int, default=0, metavar="N", help="then test on N held-out networks"
    )
    _data_option(parser)


def evolve_run(args: argparse.Namespace) -> int:
    from eznas.gp.evolve import EvolveConfig, evolve
    from eznas.gp.holdout import markdown, run_holdout_test

    if args.resume:
        result = evolve(out=args.resume, resume=True, generations=args.generations)
    else:
        if not args.out or not args.cache:
            raise ValueError("give --cache and --out for a new run (or --resume RUN)")
        config = EvolveConfig(
            caches=args.cache,
            population=args.population,
            generations=50 if args.generations is None else args.generations,
            seed=args.seed,
            s=args.s,
            per_pair=args.per_pair,
            n_task=args.n_task,
            to_scalar=args.to_scalar,
            aggregate=args.aggregate,
            tournsize=args.tournsize,
            needs_values=args.needs_values,
            jobs=args.jobs,
            scheduler=args.scheduler,
        )
        result = evolve(config, args.out)
    if result.interrupted:
        print(f"interrupted at generation {result.generation}; continue: --resume {result.folder}")
        return 130
    best, fitness = result.best()
    print(f"final best (fitness {fitness:.4f}): {best}")
    for text, f in result.hall_of_fame[:2]:
        print(f"hall of fame ({f:.4f}): {text}")
    if args.test:
        print(markdown(run_holdout_test(result.folder, args.test, data_dir=args.data)))
    return 0


evolve_options.run = evolve_run


# ---------------------------------------------------------------- export
@command("export", "write a run's best program as a standalone torch-only proxy module")
def export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run folder of `eznas evolve`")
    parser.add_argument("--out", required=True, metavar="FILE.py")
    parser.add_argument(
        "--rank",
        type=lambda v: v if v == "task" else int(v),
        default=0,
        help="hall-of-fame rank (0 = best ever) or 'task' (best on the whole task set)",
    )
    parser.add_argument("--name", default=None, help="proxy name (default: file stem)")


def export_run_cli(args: argparse.Namespace) -> int:
    from eznas.gp.export import export_run

    path = export_run(args.run, args.out, rank=args.rank, name=args.name)
    print(f"wrote {path}")
    return 0


export_options.run = export_run_cli


# ---------------------------------------------------------------- demo
@command("demo", "the whole pipeline on the shipped benchmark: collect, evolve, export, search")
def demo_options(parser: argparse.ArgumentParser) -> None:
    from eznas.benchmark.benchmarks import DEFAULT_SHIPPED
    from eznas.demo import DEMO_PROXIES, DemoConfig

    parser.add_argument(
        "--benchmark",
        default=DEFAULT_SHIPPED,
        help=f"shipped name (default {DEFAULT_SHIPPED}), nb201 (needs --data) or a CSV",
    )
    parser.add_argument("--dataset", default=None, help="default: the benchmark's first")
    _data_option(parser)
    default = DemoConfig()
    parser.add_argument(
        "--task", type=int, default=default.task, help="networks the evolution sees"
    )
    parser.add_argument("--population", type=int, default=default.population)
    parser.add_argument("--generations", type=int, default=default.generations)
    parser.add_argument(
        "--holdout", type=int, default=default.holdout, help="networks for the comparison"
    )
    parser.add_argument(
        "--proxy", nargs="+", default=list(DEMO_PROXIES), help="hand-designed proxies to compare"
    )
    parser.add_argument(
        "--evaluations", type=int, default=default.evaluations, help="FreeREA budget (archs)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default="runs/demo", metavar="DIR")


def demo_run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from eznas.demo import DemoConfig, run_demo

    same = {f.name: getattr(args, f.name) for f in fields(DemoConfig) if hasattr(args, f.name)}
    config = DemoConfig(**same, proxies=tuple(args.proxy), data_dir=args.data)
    print(run_demo(config).text())
    print(f"\nsaved in {args.out}/ (summary.txt, summary.json, eznas_demo.py, evolve/)")
    return 0


demo_options.run = demo_run
