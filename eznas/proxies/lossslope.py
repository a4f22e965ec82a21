"""LossSlope (ET-NAS, after GenNAS): how fast a network starts to fit synthetic signals.

The classifier is dropped; the last feature map of each of the three stages feeds a 1x1
conv (after a parameter-free BatchNorm, so that the exploding activations of pool/skip-only
cells do not blow up the loss) that regresses a stack of synthetic target maps at that
stage's resolution: 1-D sinusoids along x and y, 2-D sinusoids, sparse dots and the input
image resized (GenNAS's Sin1D, Sin2D, Dot and Resize bases). Network and heads train
together for 10 SGD steps on one batch of 16 with the summed MSE; score = -slope of the
line fitted to the loss curve (a faster drop is a larger score). Targets and heads are
drawn from ``seed`` alone.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from eznas.proxies.base import register_proxy

ITERATIONS = 10
LEARNING_RATE = 0.1
SIGNALS_PER_KIND = 2


def stage_features(model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """The last feature map of each resolution stage of ``model.cells`` (NB201 trunk)."""
    cells = getattr(model, "cells", None)
    if cells is None or not hasattr(model, "stem"):
        raise ValueError(
            f"lossslope needs a model with a 'stem' and a 'cells' trunk, got {type(model).__name__}"
        )
    x = model.stem(inputs)
    stages: dict[int, torch.Tensor] = {}
    for layer in cells:
        x = layer(x)
        stages[x.shape[-1]] = x  # later maps at the same resolution overwrite earlier ones
    return list(stages.values())


def synthetic_targets(inputs: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """(B, C, size, size) synthetic signals: Sin1D (x, y), Sin2D, Dot and Resize maps."""
    batch = inputs.shape[0]
    grid = torch.linspace(0.0, 1.0, size)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    maps = []
    for _ in range(SIGNALS_PER_KIND):
        fx, fy, phase = torch.rand(3, generator=generator) * torch.tensor([8, 8, 2 * math.pi])
        maps += [torch.sin(2 * math.pi * fx * xx + phase), torch.sin(2 * math.pi * fy * yy + phase)]
        maps.append(torch.sin(2 * math.pi * (fx * xx + fy * yy) + phase))
    fixed = torch.stack(maps).expand(batch, -1, -1, -1)
    dots = (torch.rand(batch, SIGNALS_PER_KIND, size, size, generator=generator) < 0.05).float()
    resized = F.interpolate(inputs, size=(size, size), mode="bilinear", align_corners=False)
    return torch.cat([fixed, dots, resized], dim=1)


def loss_curve(model: nn.Module, inputs: torch.Tensor, seed: int = 0) -> np.ndarray:
    """Training loss at each of the ITERATIONS steps (a copy of ``model`` is trained)."""
    model = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        features = stage_features(model, inputs)
    targets = [synthetic_targets(inputs, f.shape[-1], generator) for f in features]
    heads = nn.ModuleList()
    for feature, target in zip(features, targets, strict=True):
        conv = nn.Conv2d(feature.shape[1], target.shape[1], 1)
        bound = 1.0 / math.sqrt(feature.shape[1])
        with torch.no_grad():
            conv.weight.uniform_(-bound, bound, generator=generator)
            conv.bias.uniform_(-bound, bound, generator=generator)
        heads.append(nn.Sequential(nn.BatchNorm2d(feature.shape[1], affine=False), conv))
    trunk = [p for name, p in model.named_parameters() if not name.startswith("classifier")]
    optimizer = torch.optim.SGD([*trunk, *heads.parameters()], lr=LEARNING_RATE, momentum=0.9)
    losses = []
    for _ in range(ITERATIONS):
        optimizer.zero_grad()
        outputs = stage_features(model, inputs)
        loss = sum(F.mse_loss(h(f), t) for h, f, t in zip(heads, outputs, targets, strict=True))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.asarray(losses)


@register_proxy("lossslope", needs_grad=True, batch_size=16)
def lossslope(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """LossSlope (ET-NAS): minus the slope of a line fitted to 10 steps of synthetic-signal loss."""
    losses = loss_curve(model, inputs, seed)
    if not np.all(np.isfinite(losses)):
        return float("nan")
    return float(-np.polyfit(np.arange(len(losses)), losses, 1)[0])
