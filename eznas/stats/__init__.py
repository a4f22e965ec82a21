"""Network statistics: block finder, collector and the HDF5 statistics cache."""

from eznas.stats.blocks import PATTERNS, find_blocks, register_pattern
from eznas.stats.cache import SCHEMA_VERSION, StatsCache, cache_name, open_cache
from eznas.stats.collector import KINDS, collect_model
from eznas.stats.pipeline import collect

__all__ = [
    "KINDS",
    "PATTERNS",
    "SCHEMA_VERSION",
    "StatsCache",
    "cache_name",
    "collect",
    "collect_model",
    "find_blocks",
    "open_cache",
    "register_pattern",
]
