"""Command-line front end, generated from the Python API.

Each subcommand's options come from the function or dataclass it calls
(``eznas.options.options_from``), so the API's own defaults apply and none is written twice;
only the words of each option's help live here. A search algorithm's options come from its
registered signature, so a new algorithm's options appear without editing this file. Each
flag means one thing across commands (``--stats`` HDF5 statistics, ``--score-cache`` the
SQLite score cache, ``--select`` which program of a run); old spellings warn for a release.

``main`` is the error boundary: a mistake in the user's input (``eznas.errors.USER_ERRORS``)
prints one line and exits with status 2; a bug in eznas keeps its traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from eznas.errors import USER_ERRORS
from eznas.options import SHOWN, Deprecated, add_option, given, options_from, parameters

COMMANDS: dict[str, tuple[str, Callable, Callable]] = {}


def command(name: str, help: str):
    """Register ``configure(parser)``; its ``.run(args)`` is attached below the definition."""

    def add(configure: Callable) -> Callable:
        COMMANDS[name] = (help, configure, lambda args: configure.run(args))
        return configure

    return add


def _data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="data folder (default: $EZNAS_DATA, else ../shared/data)",
    )


def _benchmark_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--benchmark",
        default=SHOWN,
        help="ground truth + space: a space with ground truth (nb201...), a shipped "
        "benchmark's name or a CSV from `eznas bench build` (default: nb201)",
    )
    parser.add_argument(
        "--space", dest="benchmark", action=Deprecated, new="--benchmark", help=SHOWN
    )
    parser.add_argument(
        "--dataset", default=SHOWN, help="a dataset of the benchmark (default: its first)"
    )
    _data_option(parser)


def _benchmark(args: argparse.Namespace):
    from eznas.benchmark.benchmarks import open_benchmark

    return open_benchmark(getattr(args, "benchmark", "nb201"), args.data)


def _given_on_benchmark(args: argparse.Namespace, api: Callable) -> dict:
    """``given(args, api)`` with ``benchmark`` the opened Benchmark (name or not given)."""
    return given(args, api) | {"benchmark": _benchmark(args)}


def _score_cache_option(parser: argparse.ArgumentParser, api: Callable) -> None:
    default = parameters(api)["cache"][1]
    parser.add_argument(
        "--score-cache",
        dest="cache",
        default=SHOWN,
        metavar="FILE",
        help=f"SQLite score cache, or 'none' (default: {default})",
    )
    parser.add_argument("--cache", dest="cache", action=Deprecated, new="--score-cache", help=SHOWN)


def _score_cache(options: dict) -> dict:
    if str(options.get("cache", "")).lower() == "none":
        options["cache"] = None
    return options


# ---------------------------------------------------------------- main
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
    except USER_ERRORS as err:  # the user's mistake: one line; a bug keeps its traceback
        message = " ".join(str(err).split())
        print(f"eznas {args.command}: error: {message}", file=sys.stderr)
        return 2
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------- info
@command("info", "spaces, datasets, proxies and where the data was found")
def info_options(parser: argparse.ArgumentParser) -> None:
    _data_option(parser)


def info_run(args: argparse.Namespace) -> int:
    from eznas.benchmark.benchmarks import shipped_benchmarks
    from eznas.benchmark.table import TABLES
    from eznas.data import DATASETS, load_images
    from eznas.paths import DataNotFoundError, data_roots
    from eznas.proxies import PROXIES
    from eznas.proxies.combo import COMBOS
    from eznas.proxies.evolved import EVOLVED
    from eznas.ranks import AGGREGATORS
    from eznas.search import SEARCHES
    from eznas.spaces import SPACES

    print("spaces:   " + ", ".join(sorted(SPACES)))
    print("datasets: " + ", ".join(DATASETS))
    print("proxies:  " + ", ".join(sorted(PROXIES)))
    print("evolved:  " + (", ".join(EVOLVED) or "none") + " (eznas/proxies/evolved)")
    print("searches: " + ", ".join(sorted(SEARCHES)))
    print(
        f"combos:   {', '.join(sorted(COMBOS))}, or combo:AGG(p1,p2,...) with AGG in "
        f"{', '.join(sorted(AGGREGATORS))}"
    )
    print("shipped benchmarks: " + ", ".join(shipped_benchmarks()))
    print("data roots (in order): " + ", ".join(str(r) for r in data_roots(args.data)))
    for space, load in sorted(TABLES.items()):
        try:
            table = load(args.data)
            print(f"ground truth {space}: {len(table)} archs from {table.source}")
        except DataNotFoundError as err:
            print(f"ground truth {space}: not found ({err})")
    for name in DATASETS:
        try:
            images = load_images(name, args.data)
            print(f"images {name}: {len(images.labels)} from {images.source}")
        except DataNotFoundError as err:
            print(f"images {name}: not found ({err})")
    return 0


info_options.run = info_run


# ---------------------------------------------------------------- correlate
CORRELATE_HELP = {
    "proxies": "proxy names, combos (az_nas, combo:logrank(p1,p2)), exported .py files or 'all'",
    "n": "networks to sample (0 = all)",
    "seed": "sample, data batch and weights",
    "jobs": "parallel worker processes",
    "inits": "weight initialisations each score averages",
    "batch_size": "override every proxy's default batch size",
    "indices": "benchmark rows instead of a sample of -n",
}


@command("correlate", "rank sampled networks by proxies and correlate with test accuracy")
def correlate_options(parser: argparse.ArgumentParser) -> None:
    from eznas.correlation import run_correlation

    _benchmark_options(parser)
    options_from(
        parser,
        run_correlation,
        CORRELATE_HELP,
        skip=("benchmark", "dataset", "progress", "cache"),
        rename={"proxies": "--proxy"},
    )
    _score_cache_option(parser, run_correlation)
    parser.add_argument("--out", default="reports", metavar="DIR", help="folder for the tables")
    parser.add_argument(
        "--plot", action="store_true", help="save a score-vs-accuracy PNG per proxy (by params)"
    )


def correlate_run(args: argparse.Namespace) -> int:
    from eznas.correlation import run_correlation

    options = _score_cache(_given_on_benchmark(args, run_correlation))
    if options.get("n") == 0:
        options["n"] = None
    report = run_correlation(**options)
    print(report.markdown())
    print("saved " + ", ".join(str(path) for path in report.save(args.out)))
    if args.plot:
        print(f"saved {len(report.plot(args.out))} scatter plots in {args.out}")
    return 0


correlate_options.run = correlate_run


# ---------------------------------------------------------------- collect
COLLECT_HELP = {
    "n": "networks to sample",
    "seed": "sample, weights and inputs",
    "batch_size": "B of D/N/P",
    "indices": "benchmark rows instead of a sample of -n",
    "pattern": "block pattern, rcb or cbr (default: the space's)",
    "dtype": "storage: float32 or float16",
    "out": "cache folder",
    "jobs": "parallel worker processes",
    "compression": "gzip (compact), lzf or none (fastest)",
    "summaries": "store covariances, Grams, code kernels and norms over the B samples "
    "instead of raw tensors (for B >= 16)",
    "kinds": "store only these kinds, shell patterns (S_* K_* L_*), or add the opt-in ones: "
    "stage inputs (T5_* raw, C_T5_* summaries), stage maps (T6_*, C_T6_*), synflow's flow "
    "pass (*_O, raw); default: the cache's usual kinds",
}


@command("collect", "collect RCB/CBR network statistics into an HDF5 statistics cache")
def collect_options(parser: argparse.ArgumentParser) -> None:
    from eznas.stats import collect

    _benchmark_options(parser)
    options_from(parser, collect, COLLECT_HELP, skip=("benchmark", "dataset", "progress"))


def collect_run(args: argparse.Namespace) -> int:
    from eznas.stats import collect

    path = collect(**_given_on_benchmark(args, collect))
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


collect_options.run = collect_run


# ---------------------------------------------------------------- search
SEARCH_HELP = {
    "algo": "search algorithm",
    "runs": "searches, one seed each",
    "seed": "first search seed",
    "proxy": "fitness proxies (several combine as FreeREA's metric), a combo such as az_nas or "
    "'combo:logrank(p1,p2)', 'oracle' or exported .py files (default: the algorithm's own)",
    "proxy_seed": "seed of the data batch and weight initialisations",
    "inits": "initialisations each score averages (default: the algorithm's)",
    "time_budget": "seconds of proxy computation per run (cold-equivalent)",
    "evaluations": "distinct architectures evaluated per run",
}


def _algorithm_options(parser: argparse.ArgumentParser) -> None:
    """Every registered algorithm's options; unset ones keep each algorithm's default."""
    from eznas.search import SEARCHES

    seen: dict[str, tuple[object, dict[str, object]]] = {}
    for algo in sorted(SEARCHES):
        for name, (hint, default) in parameters(SEARCHES[algo].fn).items():
            if name != "ctx":
                seen.setdefault(name, (hint, {}))[1][algo] = default
    for name, (hint, defaults) in seen.items():
        words = ", ".join(f"{a} {d}" for a, d in defaults.items())
        default = True if True in defaults.values() else None
        add_option(parser, name, hint, default, f"algorithm option; default: {words}")


@command("search", "training-free architecture search with any proxy and algorithm")
def search_options(parser: argparse.ArgumentParser) -> None:
    from eznas.search import SEARCHES, search, search_runs

    helps = {**SEARCH_HELP, "algo": f"one of {', '.join(sorted(SEARCHES))}"}
    _benchmark_options(parser)
    skip = ("benchmark", "dataset", "progress", "label", "cache")
    options_from(parser, search_runs, helps, skip=(*skip, "proxy"))
    parser.add_argument("--proxy", nargs="+", default=SHOWN, help=helps["proxy"])
    options_from(
        parser,
        search,
        helps,
        skip=(*skip, "algo", "seed", "proxy", "proxy_seed", "inits", "scorer"),
    )
    _algorithm_options(parser)
    _score_cache_option(parser, search_runs)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default="reports", metavar="DIR", help="folder for the CSV")


def search_run(args: argparse.Namespace) -> int:
    from eznas.search import SEARCHES, get_search, save_runs, search, search_runs

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    options = _score_cache(given(args, search_runs) | given(args, search))
    algo = get_search(options.get("algo", parameters(search_runs)["algo"][1]))
    any_algorithm = {o for a in SEARCHES.values() for o in a.options()}
    options |= {k: v for k, v in vars(args).items() if k in any_algorithm}  # it checks them
    proxy = options.get("proxy")
    if proxy is not None and len(proxy) == 1:
        options["proxy"] = proxy[0]
    summary = search_runs(**options | {"benchmark": _benchmark(args)})
    for result in summary.results:
        print(result.line())
    print(summary.text())
    out = Path(args.out) / f"search-{algo.name}-{summary.dataset}.csv"
    print(f"saved {save_runs([summary], out)}")
    return 0


search_options.run = search_run


# ---------------------------------------------------------------- bench
BENCH_HELP = {
    "space": "space to sample and train",
    "dataset": "digits (offline) or an image dataset",
    "n": "architectures to train",
    "channels": "channels of the first stage",
    "cells": "cells per stage",
    "noise_subset": "networks trained again with the next --seeds seeds (seed-to-seed tau)",
    "seeds": "training seeds each accuracy averages",
    "test_size": "held-out test images",
    "train_size": "cap on training images (default: the rest)",
    "input_noise": "std of fixed Gaussian noise on every image (makes easy data harder)",
    "split_seed": "train/test split",
    "jobs": "parallel worker processes",
}


@command("bench", "build your own benchmark by short training (eznas bench build ...)")
def bench_options(parser: argparse.ArgumentParser) -> None:
    from eznas.bench import BenchmarkSpec, Recipe, build_benchmark

    actions = parser.add_subparsers(dest="bench_action", required=True)
    build = actions.add_parser("build", help="train sampled archs and write an accuracy CSV")
    options_from(build, BenchmarkSpec, BENCH_HELP, skip=("recipe",))
    options_from(build, Recipe, BENCH_HELP)
    options_from(
        build, build_benchmark, BENCH_HELP, skip=("spec", "out", "data_dir", "progress", "command")
    )
    _data_option(build)
    build.add_argument("--out", required=True, metavar="CSV")


def bench_run(args: argparse.Namespace) -> int:
    import json

    from eznas.bench import BenchmarkSpec, Recipe, build_benchmark

    spec = BenchmarkSpec(**given(args, BenchmarkSpec), recipe=Recipe(**given(args, Recipe)))
    out = build_benchmark(spec, data_dir=args.data, **given(args, build_benchmark))
    sidecar = json.loads(out.with_suffix(".json").read_text())
    print(f"wrote {out} ({out.stat().st_size / 1024:.1f} KiB) and {out.with_suffix('.json')}")
    tau, pairs = sidecar["seed_to_seed_kendall"], sidecar["noise_subset"]
    print(f"seed-to-seed Kendall tau on {pairs} networks: {tau}")
    return 0


bench_options.run = bench_run


# ---------------------------------------------------------------- evolve
EVOLVE_HELP = {
    "caches": "statistics caches (HDF5 files of `eznas collect`); raw.h5+summary.h5 reads "
    "two caches of the same networks as one task pair",
    "s": "pairs drawn per generation",
    "per_pair": "networks drawn per pair",
    "n_task": "task networks per cache",
    "to_scalar": "{to_scalar}",
    "aggregate": "network op of every program: {net_ops}",
    "over_pairs": "how a draw's per-pair Kendall taus become fitness: {over_pairs} (min: EZNAS's)",
    "tournsize": "1 = Algorithm 1 literally",
    "elite": "best individuals carried unchanged into each next generation (re-scored on its "
    "draw) in place of as many random newcomers; 0 = Algorithm 1",
    "parents": "parent selection: {parents} (lexicase: DEAP's automatic epsilon-lexicase over "
    "the taus on --cases chunks of each pair's networks, keeps specialists as parents)",
    "cases": "--parents lexicase: network chunks per drawn pair, each chunk's tau one case",
    "needs_values": "reject programs whose scores ignore tensor values (pure shape counters)",
    "jobs": "threads evaluating fitness (they share the statistics)",
    "scheduler": "dask scheduler tcp://host:port",
    "components": "most block programs per individual; more than 1 combines them by log-rank",
    "net_ops": "network ops the evolution may choose per component ({net_ops}); none: "
    "--aggregate for every program",
    "terms": "network terms an individual may add to its rank combination: params or any "
    "library proxy (naswot, synflow...)",
    "validation_split": "fraction of task networks kept out of fitness, used only by "
    "export --select validation",
    "select_networks": "networks per pair outside the caches, scored live at the end to "
    "choose among the hall of fame and its rank ensembles (export --select selection)",
    "start": "individuals the first population starts with: texts, or the names of library "
    "proxies the language reproduces ({anchors}; see eznas.gp.anchors)",
    "kinds": "tensor kinds to load and evolve over, shell patterns (S_* K_* T2_D); default: "
    "every kind the caches hold. Fewer kinds, less memory: how large spaces fit",
}


@command("evolve", "evolve zero-cost proxies (EZNAS) on statistics caches, or resume a run")
def evolve_options(parser: argparse.ArgumentParser) -> None:
    from eznas.gp.anchors import ANCHORS
    from eznas.gp.config import PARENTS, EvolveConfig
    from eznas.gp.fitness import OVER_PAIRS
    from eznas.gp.program import AGGREGATIONS, TO_SCALAR

    hint = parameters(EvolveConfig)["caches"][0]
    add_option(parser, "caches", hint, None, EVOLVE_HELP["caches"], option="--stats")
    parser.add_argument("--cache", dest="caches", nargs="+", action=Deprecated, new="--stats")
    names = {
        "to_scalar": TO_SCALAR,
        "net_ops": AGGREGATIONS,
        "anchors": ANCHORS,
        "over_pairs": OVER_PAIRS,
        "parents": PARENTS,
    }
    filled = {
        k: v.format(**{n: ", ".join(r) for n, r in names.items()}) for k, v in EVOLVE_HELP.items()
    }
    options_from(parser, EvolveConfig, filled, skip=("caches",))
    parser.add_argument("--out", default=None, metavar="RUN", help="run folder to create")
    parser.add_argument("--resume", default=None, metavar="RUN", help="continue this run")
    parser.add_argument(
        "--test", type=int, default=0, metavar="N", help="then test on N held-out networks"
    )
    _data_option(parser)


def evolve_run(args: argparse.Namespace) -> int:
    from eznas.gp.config import EvolveConfig
    from eznas.gp.evolve import evolve
    from eznas.gp.holdout import markdown

    options = given(args, EvolveConfig)
    if args.resume:
        run = evolve(
            out=args.resume,
            resume=True,
            generations=options.get("generations"),
            data_dir=args.data,
        )
    else:
        if not args.out or "caches" not in options:
            raise ValueError("give --stats and --out for a new run (or --resume RUN)")
        run = evolve(EvolveConfig(**options), args.out, data_dir=args.data)
    if run.interrupted:
        print(f"interrupted at generation {run.generation}; continue: --resume {run.folder}")
        return 130
    best, fitness = run.choose("final")
    print(f"final best (fitness {fitness:.4f}): {best}")
    for text, f in run.hall_of_fame[:2]:
        print(f"hall of fame ({f:.4f}): {text}")
    if args.test:
        print(markdown(run.test(args.test, data_dir=args.data)))
    return 0


evolve_options.run = evolve_run


# ---------------------------------------------------------------- export
def _select(value: str) -> int | str:
    if value in ("final", "task", "validation", "selection"):
        return value
    if value.startswith("selection:"):
        from eznas.proxies import PROXIES

        within = value.partition(":")[2]
        if within not in PROXIES:
            raise argparse.ArgumentTypeError(
                f"{value!r}: {within!r} is not a library proxy; e.g. 'selection:depth'"
            )
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r}: use 'final', 'task', 'validation', 'selection', 'selection:<proxy>' "
            "or a hall-of-fame rank (0 = best ever)"
        ) from None


@command("export", "write a run's chosen program as a standalone torch-only proxy module")
def export_options(parser: argparse.ArgumentParser) -> None:
    from eznas.gp.run import Run

    parser.add_argument("run", help="run folder of `eznas evolve`")
    parser.add_argument("--out", required=True, metavar="FILE.py")
    default = parameters(Run.export)["select"][1]
    parser.add_argument(
        "--select",
        type=_select,
        default=SHOWN,
        help="'final' (final population's best), 'task' (hall-of-fame best on the whole task "
        "set), 'validation' (best on the task networks kept out of fitness), 'selection' "
        "(best on the run's live-scored selection networks, ensembles included), "
        "'selection:<proxy>' (the same by the tau within groups the proxy scores alike, "
        "e.g. selection:depth) or a "
        f"hall-of-fame rank (default: {default}, the best ever)",
    )
    parser.add_argument("--rank", dest="select", type=_select, action=Deprecated, new="--select")
    parser.add_argument("--name", default=SHOWN, help="proxy name (default: file stem)")


def export_run(args: argparse.Namespace) -> int:
    from eznas.gp.run import Run

    run = Run.open(args.run)
    path = run.export(args.out, **given(args, Run.export))
    print(f"wrote {path}")
    return 0


export_options.run = export_run


# ---------------------------------------------------------------- demo
DEMO_HELP = {
    "benchmark": "shipped benchmark's name, a space with ground truth (nb201...) or a CSV",
    "dataset": "default: the benchmark's first",
    "task": "networks the evolution sees",
    "holdout": "never-seen networks for the comparison",
    "proxies": "hand-designed proxies to compare",
    "evaluations": "FreeREA budget (archs)",
    "out": "folder for everything the demo writes",
    "jobs": "parallel workers",
}


@command("demo", "the whole pipeline on the shipped benchmark: collect, evolve, export, search")
def demo_options(parser: argparse.ArgumentParser) -> None:
    from eznas.demo import EVOLUTIONS, DemoConfig

    evolutions = "; ".join(f"{name}: {e.description}" for name, e in EVOLUTIONS.items())
    helps = {**DEMO_HELP, "evolution": evolutions}
    options_from(parser, DemoConfig, helps, skip=("data_dir",), rename={"proxies": "--proxy"})
    _data_option(parser)


def demo_run(args: argparse.Namespace) -> int:
    from eznas.demo import DemoConfig, run_demo

    options = given(args, DemoConfig)
    if "proxies" in options:
        options["proxies"] = tuple(options["proxies"])
    config = DemoConfig(**options, data_dir=args.data)
    print(run_demo(config).text())
    print(f"\nsaved in {config.out}/ (summary.txt, summary.json, eznas_demo.py, evolve/)")
    return 0


demo_options.run = demo_run
