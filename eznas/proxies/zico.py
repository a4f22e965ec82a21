"""ZiCo (Li et al., ICLR 2023): gradients large in mean and stable across batches.

For each conv/linear layer, over the weights whose gradient varies across batches,
log( sum_w mean_batches|g_w| / std_batches(g_w) ); the score sums that over layers (a layer
whose sum is 0 adds nothing). Cross-entropy on labelled images, BN in train mode. The
authors' NB201 code uses two batches of 64; here the one labelled batch of 128 is split
into those two halves. The std is the population std (ddof 0) as in their NumPy code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.synflow import weighted_layers

SPLITS = 2


@register_proxy("zico", batch_size=128, needs_labels=True, needs_grad=True)
def zico(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """ZiCo: sum over layers of log(sum of mean|grad| / std(grad) across batches)."""
    model.train()
    weights = [layer.weight for layer in weighted_layers(model)]
    per_split = []
    for x, y in zip(inputs.chunk(SPLITS), labels.chunk(SPLITS), strict=True):
        grads = torch.autograd.grad(F.cross_entropy(model(x), y), weights, allow_unused=True)
        per_split.append(
            [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads, strict=True)]
        )
    total = 0.0
    for layer_grads in zip(*per_split, strict=True):
        g = torch.stack(layer_grads).flatten(1).double()
        std = g.std(0, correction=0)
        keep = std > 0
        ratio = float((g.abs().mean(0)[keep] / std[keep]).sum())
        if ratio > 0:
            total += math.log(ratio)
    return total
