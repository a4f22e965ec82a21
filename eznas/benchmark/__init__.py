"""Ground truth: accuracy tables by arch or index (CSV, NATS-Bench file)."""

from eznas.benchmark.table import AccuracyTable, load_table

__all__ = ["AccuracyTable", "load_table"]
