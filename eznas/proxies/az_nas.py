"""AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity and trainability of blocks.

The network is cut into blocks (NB201: the stem, then every cell and residual reduction)
and fed one Gaussian-noise batch of 64 after a Kaiming-normal (fan-in) re-initialisation,
BN in train mode, as in the authors' NB201 code. With f_0..f_L the block outputs:

- expressivity: sum over blocks of the entropy of the normalised eigenvalues of the
  channel covariance of f_l (positions and samples pooled): features spread over many
  directions score high.
- progressivity: the smallest increase of that entropy between consecutive blocks.
- trainability: mean over consecutive blocks of 2 - s - 1/s, s the spectral norm of an
  estimate of the block Jacobian df_l/df_{l-1}: backpropagate a Rademacher vector g_out
  and take the largest singular value of the channel cross-covariance of g_in and g_out
  (g_in pixel-unshuffled to g_out's resolution at a reduction). Best at s = 1; a block
  that passes gradients unchanged (all-skip cell) gets -inf, as in the authors' code.

AZ-NAS ranks networks by ``az_nas`` = ``combo:logrank(...)`` of these three and FLOPs
(``eznas.proxies.combo``). Deliberate deviations: covariances in float64 with round-off
negative eigenvalues clipped to 0 (the authors' float32 can give NaN); a network whose
features vanish (e.g. the all-``none`` cell) gets NaN where the authors map NaN to -inf,
which ranks the same in the combo.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from eznas.proxies.base import register_proxy
from eznas.proxies.init import last_network_memo, reinitialised_copy
from eznas.proxies.trunk import block_features


def kaiming_fanin_copy(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` re-initialised as the authors do: Kaiming-normal (fan-in, ReLU)
    conv/linear weights, zero biases, BN weight 1 and bias 0 (the model itself is kept)."""
    return reinitialised_copy(
        model,
        seed,
        lambda w, gen: nn.init.kaiming_normal_(
            w, mode="fan_in", nonlinearity="relu", generator=gen
        ),
    )


def gaussian_like(inputs: torch.Tensor, seed: int) -> torch.Tensor:
    """Seeded N(0, 1) noise shaped like ``inputs`` (the proxies that ignore image content)."""
    return torch.randn(inputs.shape, generator=torch.Generator().manual_seed(seed))


def spectral_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance of a B x C x H x W map."""
    flat = feature.detach().double().permute(0, 2, 3, 1).reshape(-1, feature.shape[1])
    flat = flat - flat.mean(0, keepdim=True)
    eig = torch.linalg.eigvalsh(flat.T @ flat / len(flat)).clamp_min(0)
    prob = eig / eig.sum()
    return float(-(prob * torch.log(prob + 1e-8)).sum())


@last_network_memo
def _entropies(model: nn.Module, inputs: torch.Tensor, seed: int) -> tuple[float, ...]:
    model = kaiming_fanin_copy(model, seed)
    model.train()
    with torch.no_grad():
        features = block_features(model, gaussian_like(inputs, seed))
        return tuple(spectral_entropy(f) for f in features)


@register_proxy("az_expressivity", batch_size=64)
def az_expressivity(
    model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, arch=None, **_
) -> float:
    """AZ-NAS expressivity: summed spectral entropy of the block features' covariance."""
    return sum(_entropies(model, inputs, seed, arch))


@register_proxy("az_progressivity", batch_size=64)
def az_progressivity(
    model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, arch=None, **_
) -> float:
    """AZ-NAS progressivity: smallest increase of spectral entropy between blocks."""
    entropies = _entropies(model, inputs, seed, arch)
    return min(b - a for a, b in zip(entropies, entropies[1:], strict=False))


def block_jacobian_norm(f_in: torch.Tensor, f_out: torch.Tensor, gen: torch.Generator) -> float:
    """Largest singular value of AZ-NAS's estimate of the block Jacobian (inf if identity)."""
    g_out = torch.randint(0, 2, f_out.shape, generator=gen).float().mul_(2).sub_(1)
    (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return math.inf
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    g_in = g_in.permute(0, 2, 3, 1).reshape(-1, g_in.shape[1]).double()
    g_out = g_out.permute(0, 2, 3, 1).reshape(-1, g_out.shape[1]).double()
    return float(torch.linalg.matrix_norm(g_in.T @ g_out / len(g_out), ord=2))


@register_proxy("az_trainability", batch_size=64, needs_grad=True)
def az_trainability(model: nn.Module, inputs: torch.Tensor, labels, *, seed: int = 0, **_) -> float:
    """AZ-NAS trainability: mean over blocks of 2 - s - 1/s, s a block Jacobian norm."""
    model = kaiming_fanin_copy(model, seed)
    model.train()
    features = block_features(model, gaussian_like(inputs, seed))
    gen = torch.Generator().manual_seed(seed)
    scores = []
    for f_in, f_out in reversed(list(zip(features, features[1:], strict=False))):
        s = block_jacobian_norm(f_in, f_out, gen)
        scores.append(-math.inf if math.isinf(s) else 2 - s - 1 / (s + 1e-6))
    return sum(scores) / len(scores)
