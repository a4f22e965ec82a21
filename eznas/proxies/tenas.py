"""TE-NAS (Chen et al., ICLR 2021): NTK conditioning and linear regions, ranked together.

- ``tenas_ntk`` = -kappa, kappa = lambda_max / lambda_min of the empirical NTK G G^T, G the
  per-sample gradients of the summed logits w.r.t. every weight tensor (conv, BN and linear
  weights), BN in train mode, on a batch of 32 real images (as AZ-NAS's re-run: TE-NAS's own
  code feeds noise here). Batch 32 (the VKDNW re-run's, not TE-NAS's 64): BN couples the
  samples, so the NTK costs one backward pass per sample, 7.9 s per network on one shared
  CPU thread at 32. A NaN kappa is 1e5 as in the authors' code; a non-positive
  lambda_min (numerically singular NTK) gives -inf.
- ``tenas_regions``: number of distinct ReLU activation patterns (linear regions the
  network cuts the input into) over 64 Gaussian-noise images.

``tenas`` = ``combo:ranksum(tenas_ntk,tenas_regions)`` (``eznas.proxies.combo``): TE-NAS
ranks networks by each and adds the ranks. Deviation: 64 samples at 32 x 32 rarely share
a pattern, so ``tenas_regions`` is nearly constant (as in the AZ-NAS re-run's setting);
the original TE-NAS counts regions of much smaller inputs in its pruning loop.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from eznas.proxies.az_nas import gaussian_like
from eznas.proxies.base import register_proxy
from eznas.proxies.swap import distinct_rows, relu_patterns

NAN_CONDITION = 1e5


def ntk(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Empirical NTK (float64, B x B) of the summed logits over every ``*weight`` tensor.

    BN in train mode couples the samples, so each sample's gradient is its own backward.
    """
    model.train()
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    out = model(inputs).sum(1)
    rows = []
    for i in range(len(out)):
        grads = torch.autograd.grad(out[i], weights, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([g.flatten() for g in grads if g is not None]))
    flat = torch.stack(rows).double()
    return flat @ flat.T


@register_proxy("tenas_ntk", batch_size=32, needs_grad=True)
def tenas_ntk(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """TE-NAS NTK term: minus the condition number of the empirical NTK."""
    eig = torch.linalg.eigvalsh(ntk(model, inputs))
    if torch.isnan(eig).any():
        return -NAN_CONDITION
    return -float(eig[-1] / eig[0]) if eig[0] > 0 else -math.inf


@register_proxy("tenas_regions", batch_size=64)
def tenas_regions(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """TE-NAS linear regions: distinct ReLU activation patterns over noise inputs."""
    codes = relu_patterns(model, gaussian_like(inputs, seed))
    return float(distinct_rows(torch.cat(codes, dim=1)))
