"""Shared fixtures: the real data in ../shared (or $EZNAS_DATA), never a mock."""

from __future__ import annotations

import json

import pytest

from eznas.benchmark import load_table
from eznas.paths import find_data
from eznas.spaces import get_space
from eznas.spaces.nb201 import format_arch

# NAS-Bench-Suite-Zero op codes, see ../shared/reference/README.md
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")


def naslib_to_arch(key: str) -> str:
    codes = [int(c) for c in key.strip("()").split(",")]
    return format_arch([NASLIB_OPS[c] for c in codes])


@pytest.fixture(scope="session")
def table():
    return load_table("nb201")


@pytest.fixture(scope="session")
def space():
    return get_space("nb201")


@pytest.fixture(scope="session")
def reference():
    """{dataset: {arch string: entry}} from NAS-Bench-Suite-Zero's NB201 file."""
    path = find_data("../reference/naslib_zc_nasbench201.json")
    raw = json.loads(path.read_text())
    return {ds: {naslib_to_arch(k): v for k, v in entries.items()} for ds, entries in raw.items()}
