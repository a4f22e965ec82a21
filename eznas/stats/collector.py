"""EZNAS network statistics of one live model: 22 tensors per block for the D, N, P inputs.

The capture itself is ``eznas.runtime.capture`` (shared with exported proxy files); this
module feeds it the seeded batches of ``eznas.data``. In an RCB the ReLU output is the conv
input; in a CBR it is the block output (the kind names keep their meaning).
"""

from __future__ import annotations

import torch
from torch import nn

from eznas.data import Batches
from eznas.runtime import INPUT_KINDS, KINDS, capture


def collect_named(
    model: nn.Module,
    batches: Batches,
    pattern: str = "rcb",
    kinds: list[str] | tuple[str, ...] | None = None,
) -> tuple[list[str], list[dict[str, torch.Tensor]]]:
    """(block names joined by '+', one {kind: tensor} per block) for ``kinds`` (default all)."""
    inputs = {x: batches[x] for x in INPUT_KINDS}
    return capture(model, inputs, batches.labels, pattern, KINDS if kinds is None else kinds)


def collect_model(
    model: nn.Module,
    batches: Batches,
    pattern: str = "rcb",
    kinds: list[str] | tuple[str, ...] | None = None,
) -> list[dict[str, torch.Tensor]]:
    """One dict per block (execution order) of detached float tensors for ``kinds``."""
    return collect_named(model, batches, pattern, kinds)[1]
