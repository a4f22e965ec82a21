"""Ground truth: accuracy tables by arch or index (CSV, NATS-Bench file, benchmark files)."""

from eznas.benchmark import nb101, nb301, nbmacro  # noqa: F401  (each module registers its table)
from eznas.benchmark.table import AccuracyTable, load_table

__all__ = ["AccuracyTable", "load_table"]
