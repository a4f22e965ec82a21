"""SWAP (Peng et al., ICLR 2024): number of distinct sample-wise activation patterns.

One forward pass of a batch, BN in train mode. Every ReLU output unit (channel x position
of each ReLU with a 4-D input) has a sample-wise pattern: the B bits saying on which of the
B samples it is active. SWAP counts the distinct patterns over all units: a network whose
units split the samples in many different ways can express more. Batch 64 of real images.
Not built: the regularised SWAP, which multiplies by exp(-(params - mu)^2 / sigma) with
mu and sigma tuned per search space (tuning we would have to do on the benchmark itself).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.hooks import forward_hooked


def relu_patterns(model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """Per ReLU with a 4-D input, a boolean B x U matrix: is unit u active on sample b."""
    codes = []

    def hook(module, args, output):
        if args[0].dim() == 4:
            codes.append((output > 0).flatten(1))

    forward_hooked(model, inputs, hook)
    return codes


def distinct_rows(bits: torch.Tensor) -> int:
    """Number of distinct rows of a boolean matrix (each row packed into bytes, then unique)."""
    packed = np.ascontiguousarray(np.packbits(bits.numpy(), axis=1))
    return len(np.unique(packed.view(np.dtype((np.void, packed.shape[1])))))


@register_proxy("swap", batch_size=64)
def swap(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """SWAP: distinct sample-wise activation patterns over all ReLU units."""
    return float(distinct_rows(torch.cat([c.T for c in relu_patterns(model, inputs)])))
