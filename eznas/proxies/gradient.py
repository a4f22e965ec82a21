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

import torch
import torch.nn.functional as F
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.synflow import weighted_layers


def _loss(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    model.train()
    model.zero_grad()
    return F.cross_entropy(model(inputs), labels)


def weight_gradients(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor):
    """(weights, dL/dW) of the conv and linear layers for one batch."""
    weights = [layer.weight for layer in weighted_layers(model)]
    grads = torch.autograd.grad(_loss(model, inputs, labels), weights, allow_unused=True)
    grads = [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads, strict=True)]
    return [w.detach() for w in weights], grads


@register_proxy("snip", needs_labels=True, needs_grad=True, batch_size=64)
def snip(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """SNIP: sum |theta * dL/dtheta| over conv/linear weights."""
    weights, grads = weight_gradients(model, inputs, labels)
    return float(sum((w * g).abs().sum() for w, g in zip(weights, grads, strict=True)))


@register_proxy("grad_norm", needs_labels=True, needs_grad=True, batch_size=64)
def grad_norm(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """Gradient norm: sum over conv/linear layers of the L2 norm of dL/dW."""
    _, grads = weight_gradients(model, inputs, labels)
    return float(sum(g.norm() for g in grads))


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


@register_proxy("fisher", needs_labels=True, needs_grad=True, batch_size=64)
def fisher(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, **_) -> float:
    """Fisher: per-channel (sum over positions of activation * its gradient)^2, summed."""
    outputs: dict[nn.Module, torch.Tensor] = {}

    def keep(module, args, output):
        outputs[module] = output

    handles = [layer.register_forward_hook(keep) for layer in weighted_layers(model)]
    try:
        loss = _loss(model, inputs, labels)
    finally:
        for handle in handles:
            handle.remove()
    layers, acts = list(outputs), list(outputs.values())
    total = 0.0
    for layer, act, grad in zip(
        layers, acts, torch.autograd.grad(loss, acts, allow_unused=True), strict=True
    ):
        if grad is None:
            continue
        per_sample = act.detach() * grad
        if per_sample.dim() > 2:
            per_sample = per_sample.flatten(2).sum(-1)
        channel = per_sample.pow(2).mean(0).mul(0.5)
        total += float(channel.sum()) * layer.weight[0].numel()
    return total
