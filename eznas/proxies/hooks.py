"""One forward pass with hooks: how NASWOT, SWAP and MeCo read a model's activations."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def forward_hooked(
    model: nn.Module,
    inputs: torch.Tensor,
    hook: Callable,
    kinds: tuple[type[nn.Module], ...] | None = (nn.ReLU,),
) -> None:
    """Run ``model`` once on ``inputs`` in train mode (batch-statistics BN, as these proxies'
    papers do) without gradients, with ``hook`` on every module of ``kinds`` (None: all)."""
    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if kinds is None or isinstance(m, kinds)
    ]
    try:
        model.train()
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
