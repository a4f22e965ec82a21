"""Training-free architecture search: a registry of algorithms driven by any proxy.

Importing this package registers random (NASWOT), rea, area, freerea, freerea- and etnas.
"""

from eznas.search import etnas, freerea, random_search, rea  # noqa: F401  (registers them)
from eznas.search.base import SEARCHES, SearchContext, SearchResult, get_search, register_search
from eznas.search.budget import Budget
from eznas.search.report import SearchSummary, markdown_table, save_runs
from eznas.search.run import search, search_runs

__all__ = [
    "SEARCHES",
    "Budget",
    "SearchContext",
    "SearchResult",
    "SearchSummary",
    "get_search",
    "markdown_table",
    "register_search",
    "save_runs",
    "search",
    "search_runs",
]
