"""Zen-score (Lin et al., ICCV 2021): log expected output change under input perturbation.

Gaussian weights N(0, 1) (biases 0, BN weight 1 bias 0), BN in train mode, a batch of 64
Gaussian-noise images x and a perturbation eps ~ N(0, 1). With f the pre-pooling feature
map (the global pooling's input, in any space; NB201: after the final BN-ReLU),
Zen = log mean_b ||f(x_b) - f(x_b + 0.01 eps_b)||_1 + sum over BN layers of log sqrt(mean
over channels of the BN's batch variance): the BN terms restore the scale that
normalisation removes. Deviation: the authors' code reads each BN's running variance after
the forward passes (a momentum mix with the initial 1); here the batch variance of the
clean pass, which is what the paper's formula uses.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.init import reinitialised_copy

MIXUP = 0.01


def _log(value: float) -> float:
    return math.log(value) if value > 0 else -math.inf  # vanished features: the worst score


def gaussian_copy(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` with N(0, 1) conv/linear weights, zero biases, BN weight 1 bias 0."""
    return reinitialised_copy(model, seed, lambda w, gen: w.normal_(generator=gen))


def pre_pooling(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The feature map entering the network's global pooling (its last AdaptiveAvgPool2d
    call), which is where Zen-NAS reads f; every space's builder pools this way."""
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        name = type(model).__name__
        raise ValueError(f"zen reads the map entering global pooling; {name} pools otherwise")
    seen = []
    handles = [m.register_forward_pre_hook(lambda _m, args: seen.append(args[0])) for m in pools]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen[-1]


@register_proxy("zen", batch_size=64)
def zen(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """Zen-score: log of the perturbed output change plus the BN log-std terms."""
    model = gaussian_copy(model, seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(inputs.shape, generator=gen)
    eps = torch.randn(inputs.shape, generator=gen)
    log_stds = []

    def bn_std(module, args, output):
        log_stds.append(0.5 * _log(float(args[0].var((0, 2, 3), correction=0).mean())))

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    model.train()
    with torch.no_grad():
        handles = [m.register_forward_hook(bn_std) for m in bns]
        try:
            clean = pre_pooling(model, x)
        finally:
            for handle in handles:
                handle.remove()
        moved = pre_pooling(model, x + MIXUP * eps)
    change = (clean - moved).abs().sum((1, 2, 3)).mean()
    return _log(float(change)) + sum(log_stds)
