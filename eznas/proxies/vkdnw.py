"""VKDNW (Tybl & Neumann, CVPR 2025): entropy of the Fisher information spectrum at init.

The Fisher information of the weights, F = mean over samples of J^T (diag(p) - p p^T) J
(J the Jacobian of the logits, p the softmax smoothed as (1 - 0.05) p + 0.05 / K), is
restricted as in the authors' code to one weight per parameter tensor (its first element),
after a Kaiming-normal (fan-in) re-initialisation. As in the authors' NB201 runs (default
settings: 32 Gaussian-noise inputs, BN without running statistics) each sample's Jacobian
is taken with BN normalising that sample alone, and p comes from the whole batch. With
q_1..q_9 the 10%..90% quantiles of F's eigenvalues normalised to sum 1, VKDNW's entropy is
H = -sum q_k log q_k: a flat spectrum (every weight direction equally hard to estimate)
scores high.

The paper ranks networks first by the number of parameter tensors (its model-size term,
a dimension count) and then by H. ``vkdnw`` = count + H / ln 10 orders networks exactly
that way (H <= ln 9 < ln 10), so it is a per-network score; ``vkdnw_entropy`` is H alone.
``vkdnw_agg`` (``eznas.proxies.combo``) is the paper's aggregated form: logrank of vkdnw,
jacob_cov, az_expressivity, az_trainability and flops. Deviations: the authors cap the
restriction at the first 270 tensors, here every tensor counts (NB201's largest nets have a
few more); F's eigenvalues come from eigvalsh in float64 with round-off negatives clipped
to 0; the combo uses average ranks where the authors' code densely ranks vkdnw.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from eznas.proxies.az_nas import gaussian_like, kaiming_fanin_copy
from eznas.proxies.base import register_proxy
from eznas.proxies.init import last_network_memo

SMOOTHING = 0.05


def _first_element_grads(module: nn.Module, x: torch.Tensor, gy: torch.Tensor) -> list:
    """Per-sample dL/d(first element) of each parameter of ``module`` (input x, output grad gy)."""
    if isinstance(module, nn.Linear):
        grads = [gy[:, 0] * x[:, 0]]
        return grads + ([gy[:, 0]] if module.bias is not None else [])
    g0 = gy[:, 0]
    if isinstance(module, nn.Conv2d):  # weight[0, 0, 0, 0] meets input channel 0 at offset (0, 0)
        (ph, pw), (sh, sw) = module.padding, module.stride
        xp = F.pad(x[:, 0], (pw, pw, ph, ph))
        tap = xp[:, : sh * (g0.shape[1] - 1) + 1 : sh, : sw * (g0.shape[2] - 1) + 1 : sw]
        grads = [(g0 * tap).sum((1, 2))]
        return grads + ([g0.sum((1, 2))] if module.bias is not None else [])
    mean, var = x[:, 0].mean((1, 2), keepdim=True), x[:, 0].var((1, 2), False, keepdim=True)
    xhat = (x[:, 0] - mean) / torch.sqrt(var + module.eps)  # per-sample BatchNorm2d
    return [(g0 * xhat).sum((1, 2)), g0.sum((1, 2))]


def _per_sample_bn(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    return F.instance_norm(x, weight=bn.weight, bias=bn.bias, eps=bn.eps)


def first_element_jacobian(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """d logits / d(first element of each parameter tensor): B x K x P.

    Each sample passes alone (BN normalises it by its own statistics, as the authors'
    per-sample Jacobian does), so backpropagating one class at a time and reading each
    layer's input and output gradient gives every sample's Jacobian row at once.
    """
    layers = nn.Conv2d | nn.Linear | nn.BatchNorm2d
    calls: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []

    def keep(module, args, output):
        calls.append((module, args[0].detach(), output))

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    handles = [m.register_forward_hook(keep) for m in model.modules() if isinstance(m, layers)]
    for bn in bns:  # an instance attribute shadows BatchNorm2d.forward until deleted
        bn.forward = partial(_per_sample_bn, bn)
    try:
        logits = model(inputs)
    finally:
        for handle in handles:
            handle.remove()
        for bn in bns:
            del bn.forward
    if sum(len(list(m.parameters(recurse=False))) for m, _, _ in calls) != len(
        list(model.parameters())
    ):
        raise ValueError("VKDNW handles Conv2d, Linear and BatchNorm2d parameters only")
    outputs = [out for _, _, out in calls]
    columns = []
    for k in range(logits.shape[1]):
        pick = torch.zeros_like(logits)
        pick[:, k] = 1
        grads = torch.autograd.grad(logits, outputs, pick, retain_graph=True, allow_unused=True)
        row = []
        for (module, x, out), gy in zip(calls, grads, strict=True):
            row += _first_element_grads(module, x, torch.zeros_like(out) if gy is None else gy)
        columns.append(torch.stack(row, dim=1))
    return torch.stack(columns, dim=1).detach()


def fisher_information(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """F (float64, P x P) for the first element of each of the P parameter tensors."""
    jac = first_element_jacobian(model, inputs).double()
    model.train()
    with torch.no_grad():
        prob = torch.softmax(model(inputs).double(), dim=1)
    prob = prob * (1 - SMOOTHING) + SMOOTHING / prob.shape[1]
    cov = torch.diag_embed(prob) - prob.unsqueeze(2) * prob.unsqueeze(1)
    return torch.einsum("bkp,bkl,blq->pq", jac, cov, jac) / len(inputs)


def spectrum_entropy(fisher: torch.Tensor) -> float:
    """Entropy of the normalised 10%..90% quantiles of the eigenvalues of ``fisher``."""
    eig = torch.linalg.eigvalsh(fisher).clamp_min(0)
    quantiles = torch.quantile(eig, torch.arange(1, 10, dtype=eig.dtype) / 10)
    prob = quantiles / (quantiles.sum() + 1e-10)
    return float(-(prob * torch.log(prob + 1e-10)).sum())


@last_network_memo
def _entropy(model: nn.Module, inputs: torch.Tensor, seed: int) -> float:
    model = kaiming_fanin_copy(model, seed)
    return spectrum_entropy(fisher_information(model, gaussian_like(inputs, seed)))


@register_proxy("vkdnw_entropy", batch_size=32, needs_grad=True)
def vkdnw_entropy(
    model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, arch=None, **_
) -> float:
    """VKDNW entropy of the Fisher spectrum's deciles (first element of each tensor)."""
    return _entropy(model, inputs, seed, arch)


@register_proxy("vkdnw", batch_size=32, needs_grad=True)
def vkdnw(
    model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, arch=None, **_
) -> float:
    """VKDNW: parameter-tensor count, ties broken by the Fisher spectrum entropy."""
    count = sum(1 for _ in model.parameters())
    return count + _entropy(model, inputs, seed, arch) / math.log(10)
