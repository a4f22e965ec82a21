"""Shared fixtures: the real data in ../shared (or $EZNAS_DATA), never a mock."""

from __future__ import annotations

import json

import pytest
import torch

from eznas.benchmark import load_table
from eznas.correlation import naslib_arch
from eznas.paths import find_data
from eznas.spaces import get_space


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """One intra-op torch thread: on a busy 2-core machine two threads contend and run far
    slower, and results do not depend on the thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
    return {ds: {naslib_arch(k): v for k, v in entries.items()} for ds, entries in raw.items()}
