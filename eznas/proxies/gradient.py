"""Pruning-at-initialisation saliencies as NAS proxies (Abdelfattah et al. 2021).

All take one labelled batch, the cross-entropy loss and the model in train mode with BN
kept, and sum a per-weight (or per-channel) saliency over the conv and linear layers, as
NASLib / NAS-Bench-Suite-Zero compute them:
- ``snip``  sum |theta * dL/dtheta|
- ``grasp`` sum -theta * (H g), g = dL/dtheta, H the Hessian of L
- ``grad_norm`` sum over layers of ||dL/dW||_2 (a per-layer, not a global, L2 norm)
- ``fisher`` per output channel c of each layer, 0.5 * mean over the batch of
  (sum over positions of a * dL/da)^2, a the layer's output; NASLib spreads each channel's
  value over the channel's fan-in weights before summing, so it is weighted by fan-in here.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.synflow import weighted_layers


def _loss(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    model.train()
    model.zero_grad()
    return F.cross_entropy(model(inputs), labels)


@dataclass(frozen=True)
class LossGradients:
    """What snip, grad_norm and fisher read from one backward pass of the loss: the conv and
    linear weights with dL/dW (in ``weighted_layers`` order), and fisher's per-layer sum of
    its per-channel values, fan-in weighted (in forward order)."""

    weights: list[torch.Tensor]
    grads: list[torch.Tensor]
    fisher_terms: list[float]


class _Call(NamedTuple):
    """The last call of ``loss_gradients``: weak refs to its inputs, weight versions, result."""

    refs: tuple[weakref.ref, ...]
    versions: tuple[int, ...]
    result: LossGradients


_LAST: list[_Call] = []


def loss_gradients(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> LossGradients:
    """One forward and backward pass serving all three saliencies. The last result is kept
    for the same model, batch and unmodified weights (a Scorer hands the three proxies one
    model through ``shares_model``), so a network pays for one pass, not three."""
    layers = weighted_layers(model)
    weights = [layer.weight for layer in layers]
    versions = tuple(w._version for w in weights)  # in-place edits of a weight bump it
    called = (model, inputs, labels)
    if (
        _LAST
        and _LAST[0].versions == versions
        and all(ref() is obj for ref, obj in zip(_LAST[0].refs, called, strict=True))
    ):
        return _LAST[0].result
    outputs: dict[nn.Module, torch.Tensor] = {}

    def keep(module, args, output):
        outputs[module] = output

    handles = [layer.register_forward_hook(keep) for layer in layers]
    try:
        loss = _loss(model, inputs, labels)
    finally:
        for handle in handles:
            handle.remove()
    acts = list(outputs.values())
    grads = torch.autograd.grad(loss, weights + acts, allow_unused=True)
    weight_grads = [
        torch.zeros_like(w) if g is None else g
        for w, g in zip(weights, grads[: len(weights)], strict=True)
    ]
    fisher_terms = []
    for layer, act, grad in zip(outputs, acts, grads[len(weights) :], strict=True):
        if grad is None:
            continue
        per_sample = act.detach() * grad
        if per_sample.dim() > 2:
            per_sample = per_sample.flatten(2).sum(-1)
        channel = per_sample.pow(2).mean(0).mul(0.5)
        fisher_terms.append(float(channel.sum()) * layer.weight[0].numel())
    result = LossGradients([w.detach() for w in weights], weight_grads, fisher_terms)
    _LAST[:] = [_Call(tuple(weakref.ref(obj) for obj in called), versions, result)]
    return result


@register_proxy(
    "snip", needs_labels=True, needs_grad=True, batch_size=64, shares_model="loss_gradients"
)
def snip(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """SNIP: sum |theta * dL/dtheta| over conv/linear weights."""
    found = loss_gradients(model, inputs, labels)
    return float(sum((w * g).abs().sum() for w, g in zip(found.weights, found.grads, strict=True)))


@register_proxy(
    "grad_norm", needs_labels=True, needs_grad=True, batch_size=64, shares_model="loss_gradients"
)
def grad_norm(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """Gradient norm: sum over conv/linear layers of the L2 norm of dL/dW."""
    return float(sum(g.norm() for g in loss_gradients(model, inputs, labels).grads))


@register_proxy("grasp", needs_labels=True, needs_grad=True, batch_size=64)
def grasp(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """GraSP: sum -theta * (H g) over conv/linear weights (Hessian-gradient product)."""
    weights = [layer.weight for layer in weighted_layers(model)]
    grads = torch.autograd.grad(
        _loss(model, inputs, labels), weights, create_graph=True, allow_unused=True
    )
    pairs = [(w, g) for w, g in zip(weights, grads, strict=True) if g is not None]
    z = sum((g.detach() * g).sum() for _, g in pairs)
    hessian_grad = torch.autograd.grad(z, [w for w, _ in pairs], allow_unused=True)
    return float(
        sum(
            (-w.detach() * hg).sum()
            for (w, _), hg in zip(pairs, hessian_grad, strict=True)
            if hg is not None
        )
    )


@register_proxy(
    "fisher", needs_labels=True, needs_grad=True, batch_size=64, shares_model="loss_gradients"
)
def fisher(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """Fisher: per-channel (sum over positions of activation * its gradient)^2, summed."""
    return sum(loss_gradients(model, inputs, labels).fisher_terms)
