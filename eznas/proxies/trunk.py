"""A network's trunk as feature maps: the stem's output, then every cell's, in depth order.

AZ-NAS reads its expressivity and progressivity there and LossSlope regresses from the
last map of each resolution stage. Chains (NB201, NB101, NAS-Bench-Macro: ``stem`` +
``cells``) are run cell after cell; a model whose cells are not a chain (DARTS cells read
the two cells before them) gives its own ``cell_features``. A cell that returns its input
itself (NAS-Bench-Macro's identity choice, an ``nn.Identity``) is a layer the network does
not have, not a block: AZ-NAS's trainability would score it -inf, as it does an NB201 cell
of skips that computes a copy.
"""

from __future__ import annotations

import torch
from torch import nn


def block_features(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The stem's output, then each cell's output (cells that return their input skipped)."""
    own = getattr(model, "cell_features", None)
    if callable(own):
        return own(x)
    if not (hasattr(model, "stem") and hasattr(model, "cells")):
        raise ValueError(f"block features need a stem and cells; {type(model).__name__} has not")
    features = [model.stem(x)]
    for block in model.cells:
        out = block(features[-1])
        if out is not features[-1]:
            features.append(out)
    return features


def stage_features(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The last cell output at each resolution, in depth order."""
    stages: dict[int, torch.Tensor] = {}
    for feature in block_features(model, x)[1:]:
        stages[feature.shape[-1]] = feature  # later maps at a resolution overwrite earlier ones
    return list(stages.values())
