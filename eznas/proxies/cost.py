"""The model cost proxies ``params`` and ``flops`` (millions; see ``eznas.spaces.cost``)."""

from __future__ import annotations

import torch
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.spaces.cost import count_flops, count_params


@register_proxy("params", needs_data=False, batch_size=1, shares_model="*")
def params_proxy(model: nn.Module, inputs, labels, *, seed: int = 0, **_) -> float:
    """Number of trainable parameters (millions)."""
    return count_params(model)


@register_proxy("flops", batch_size=1)
def flops_proxy(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """Forward-pass FLOPs (millions) at the input batch's image size."""
    return count_flops(model, tuple(inputs.shape[1:]))
