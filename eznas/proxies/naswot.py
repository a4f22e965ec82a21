"""NASWOT (Mellor et al. 2021): log|det K_H| of the ReLU activation-code kernel.

Each sample's binary code c_i marks which ReLU units are active; K_H[i, j] = N_A -
Hamming(c_i, c_j) = c_i.c_j + (1-c_i).(1-c_j). Networks that give distinct inputs distinct
codes get a better-conditioned kernel and a larger score. BN stays in train mode (batch
statistics), as in NASWOT's and NASLib's code.
"""

from __future__ import annotations

import torch
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.hooks import forward_hooked


def activation_kernel(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """K_H (float64, B x B) accumulated over every ``nn.ReLU`` of ``model``."""
    batch = inputs.shape[0]
    kernel = torch.zeros(batch, batch, dtype=torch.float64)

    def hook(module, args, output):
        # with signs s = 2c - 1, s_i.s_j = agreements - disagreements, so
        # c_i.c_j + (1-c_i).(1-c_j) = (N_A + s_i.s_j) / 2: one matmul instead of two;
        # entries are integers below 2^24 on NB201, exact in float32
        signs = torch.where(output > 0, 1.0, -1.0).flatten(1)
        kernel.add_((signs @ signs.T).double().add_(signs.shape[1]).div_(2))

    forward_hooked(model, inputs, hook)
    return kernel


@register_proxy("naswot", batch_size=128)
def naswot(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """NASWOT: log|det K_H| of the ReLU-code kernel (higher is better)."""
    return float(torch.linalg.slogdet(activation_kernel(model, inputs)).logabsdet)
