"""Seeded re-initialisation of a copy of a model, as AZ-NAS and Zen-NAS score networks."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn


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
