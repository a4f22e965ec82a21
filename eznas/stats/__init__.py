"""Network statistics: block finder, collector and the HDF5 statistics cache."""

from eznas.runtime import ALL_KINDS, KINDS, PATTERNS, SUMMARY_KINDS, find_blocks
from eznas.stats.cache import (
    SCHEMA_VERSION,
    SUMMARY_SCHEMA_VERSION,
    StatsCache,
    cache_name,
    open_cache,
)
from eznas.stats.collector import collect_model
from eznas.stats.pipeline import collect

__all__ = [
    "ALL_KINDS",
    "KINDS",
    "PATTERNS",
    "SCHEMA_VERSION",
    "SUMMARY_KINDS",
    "SUMMARY_SCHEMA_VERSION",
    "StatsCache",
    "cache_name",
    "collect",
    "collect_model",
    "find_blocks",
    "open_cache",
]
