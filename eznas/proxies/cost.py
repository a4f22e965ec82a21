"""The model cost proxies ``params``, ``flops`` (millions), ``relu_units`` and ``depth``
(``eznas.spaces.cost``)."""

from __future__ import annotations

import torch
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.spaces.cost import count_depth, count_flops, count_params, count_relu_units


@register_proxy("params", needs_data=False, batch_size=1, shares_model="*")
def params_proxy(model: nn.Module, inputs, labels, *, seed: int = 0, **_) -> float:
    """Number of trainable parameters (millions)."""
    return count_params(model)


@register_proxy("flops", batch_size=1)
def flops_proxy(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """Forward-pass FLOPs (millions) at the input batch's image size."""
    return count_flops(model, tuple(inputs.shape[1:]))


@register_proxy("relu_units", batch_size=1, shares_model="*")
def relu_units_proxy(
    model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_
) -> float:
    """ReLU output elements per input (thousands): NASWOT's code length N_A, which carries
    most of NASWOT's rank on NAS-Bench-Macro, as a complexity term of its own."""
    return count_relu_units(model, tuple(inputs.shape[1:])) / 1e3


@register_proxy("depth", batch_size=1, shares_model="*")
def depth_proxy(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """Convs and linears on the longest input-to-output path (a complexity term that sees
    depth where params and FLOPs see width)."""
    return float(count_depth(model, inputs[:1]))
