"""Synflow (Tanaka et al. 2020, as a NAS proxy by Abdelfattah et al. 2021) and LogSynflow.

Both work on a copy of the model in float64 with every parameter replaced by its absolute
value and BatchNorm bypassed (identity), so R = sum(f(1)) for an all-ones input is a
positive "synaptic flow". Synflow sums |theta * dR/dtheta| over conv and linear weights (as
NASLib does). Without BN the gradients explode with depth; FreeREA's LogSynflow damps them
as sum(theta * log(1 + dR/dtheta)): its released code uses log(1 + g) where the paper writes
|log g|, which also guards zero gradients (dead 'none' paths give 0, not -inf).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from eznas.proxies.base import register_proxy


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The conv and linear layers, whose weights the pruning-based proxies score."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def _without_bn(model: nn.Module) -> nn.Module:
    """Deep copy of ``model`` in float64 with every BatchNorm replaced by an identity."""
    clone = copy.deepcopy(model).double()
    for module in list(clone.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
    return clone


def synflow_terms(model: nn.Module, image_shape: tuple[int, ...]) -> list[tuple[torch.Tensor, ...]]:
    """(|theta|, dR/dtheta) for each conv/linear weight of the linearised, BN-free copy."""
    net = _without_bn(model)
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    net.train()
    net.zero_grad()
    net(torch.ones(1, *image_shape, dtype=torch.float64)).sum().backward()
    terms = []
    for layer in weighted_layers(net):
        grad = layer.weight.grad
        grad = torch.zeros_like(layer.weight) if grad is None else grad
        terms.append((layer.weight.detach(), grad))
    return terms


@register_proxy("synflow", needs_grad=True, keeps_bn=False, batch_size=1)
def synflow(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """Synflow: sum |theta * dR/dtheta| for an all-ones input, |weights|, no BN."""
    terms = synflow_terms(model, tuple(inputs.shape[1:]))
    return float(sum((w * g).abs().sum() for w, g in terms))


@register_proxy("logsynflow", needs_grad=True, keeps_bn=False, batch_size=1)
def logsynflow(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """LogSynflow (FreeREA): sum theta * log(1 + dR/dtheta), gradients log-damped."""
    terms = synflow_terms(model, tuple(inputs.shape[1:]))
    return float(sum((w * torch.log1p(g.abs())).sum() for w, g in terms))
