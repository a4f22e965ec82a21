"""MeCo (Jiang et al., NeurIPS 2023): smallest eigenvalue of feature-map channel correlations.

One image, no labels, BN in train mode. For every feature map the network computes (each
4-D module output, counted once), the C x C Pearson correlation matrix of its channels over
spatial positions; the score sums the smallest eigenvalues. Channels that are (nearly)
linear combinations of others drive it to 0, so networks with richer, less redundant
features score higher. Undefined correlations (a constant channel, e.g. after a ``none``
op) are set to 0 as in the authors' code, so single-position maps (after global pooling)
add nothing and are skipped. Deviation: the authors hook every module, so a
wrapper returning its child's output counts that map twice (which depends on how a net is
wrapped in modules); here each distinct output tensor counts once.
"""

from __future__ import annotations

import torch
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.hooks import forward_hooked


def min_correlation_eigenvalue(feature: torch.Tensor) -> float:
    """Smallest eigenvalue of the channel correlation matrix of the first sample's C x H x W map."""
    corr = torch.corrcoef(feature[0].flatten(1).double())
    corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


@register_proxy("meco", batch_size=1)
def meco(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """MeCo: sum over feature maps of the smallest eigenvalue of channel correlations."""
    maps: dict[int, torch.Tensor] = {}

    def keep(module, args, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4 and output[0, 0].numel() > 1:
            maps.setdefault(id(output), output)  # kept alive, so ids stay unique

    forward_hooked(model, inputs, keep, kinds=None)
    return sum(min_correlation_eigenvalue(f) for f in maps.values())
