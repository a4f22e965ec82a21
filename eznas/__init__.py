"""eznas: evolve zero-cost NAS proxies by genetic programming and search with them.

Pipeline: space -> model -> statistics -> evolver -> exported proxy -> search.
"""

from eznas.benchmark import AccuracyTable, load_table
from eznas.benchmark.benchmarks import Benchmark, open_benchmark
from eznas.correlation import run_correlation as correlate
from eznas.data import make_batches
from eznas.demo import DemoConfig, run_demo
from eznas.gp import EvolveConfig, Run, evolve, export_program
from eznas.metrics import Correlation
from eznas.proxies import get_proxy
from eznas.search import search as run_search
from eznas.search import search_runs
from eznas.spaces import get_space
from eznas.stats import collect

__all__ = [
    "AccuracyTable",
    "Benchmark",
    "Correlation",
    "DemoConfig",
    "EvolveConfig",
    "Run",
    "collect",
    "correlate",
    "evolve",
    "export_program",
    "get_proxy",
    "get_space",
    "load_table",
    "make_batches",
    "open_benchmark",
    "run_demo",
    "run_search",
    "search_runs",
]
