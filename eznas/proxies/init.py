"""Seeded re-initialisation of a copy of a model, as AZ-NAS and Zen-NAS score networks."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

T = TypeVar("T")


def reinitialised_copy(
    model: nn.Module, seed: int, init: Callable[[torch.Tensor, torch.Generator], None]
) -> nn.Module:
    """A copy of ``model`` whose conv/linear weights ``init(weight, generator)`` fills, with
    zero biases and BN weight 1, bias 0 (the model itself is kept)."""
    model = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                init(m.weight, gen)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    return model


def last_network_memo(
    fn: Callable[[nn.Module, torch.Tensor, int], T],
) -> Callable[..., T]:
    """Remember ``fn(model, inputs, seed)`` for the last (arch, structure, input shape, seed).

    For computations that re-initialise every weight from ``seed`` and feed seeded noise,
    which therefore depend on the model only through its arch and on the inputs only
    through their shape: proxies sharing one (AZ-NAS's expressivity and progressivity,
    ``vkdnw`` and ``vkdnw_entropy``) then compute it once per network. The caller passes
    the arch it scores (the scorer gives every proxy ``arch=``); without one nothing is
    remembered, as a module's ``repr`` alone does not tell cells apart (NB101's wiring).
    """
    last: dict[tuple, T] = {}

    @functools.wraps(fn)
    def memo(model: nn.Module, inputs: torch.Tensor, seed: int, arch: str | None = None) -> T:
        if arch is None:
            return fn(model, inputs, seed)
        key = (arch, repr(model), tuple(inputs.shape), seed)
        if key not in last:
            last.clear()
            last[key] = fn(model, inputs, seed)
        return last[key]

    return memo
