"""Ground truth: accuracy tables by arch or index (CSV, NATS-Bench file, NB301 reference)."""

from eznas.benchmark import nb301  # noqa: F401  (registers the NB301 table)
from eznas.benchmark.table import AccuracyTable, load_table

__all__ = ["AccuracyTable", "load_table"]
