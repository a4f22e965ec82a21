"""epsilon (Gracheva 2022): output sensitivity to two constant shared weight values.

Two copies of the network get every ``weight`` (conv, linear and BN affine) set to one
constant each and every bias to 0. The paper tunes the two constants per space (its
Table 4: NB201 1e-7 and 1, NB101 1e-4 and 10) and gives none for other image spaces, so
other spaces are refused rather than scored with constants that may extinguish the
signal (NAS-Bench-Macro with NB201's pair gives NaN). Then one batch of 256 goes through
each in train mode (as in the authors' code). Each copy's flattened logits are min-max
normalised; entries that normalise to exactly 0 are dropped (as the authors' code does)
and delta = mean |V1 - V2|, mu = mean of both; epsilon = delta / mu. Outputs that vanish
or are constant (max = min, or non-finite) give NaN: such networks are dropped and counted
by the correlation report, as the paper does.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from eznas.proxies.base import register_proxy

WEIGHTS = {"nb201": (1e-7, 1.0), "nb101": (1e-4, 10.0)}
"""The paper's constant pair per space (Gracheva 2022, Table 4)."""


def space_weights(space) -> tuple[float, float]:
    """The constant pair of ``space`` (None: NB201); ValueError for spaces the paper lacks."""
    name = getattr(space, "name", "nb201")
    if name not in WEIGHTS:
        raise ValueError(
            f"epsilon's constant weights are tuned per space and published for "
            f"{', '.join(WEIGHTS)} only, not for space {name!r}"
        )
    return WEIGHTS[name]


def constant_outputs(model: nn.Module, inputs: torch.Tensor, value: float) -> np.ndarray:
    """Flattened, min-max normalised logits of a copy of ``model`` with constant weights."""
    net = copy.deepcopy(model)
    with torch.no_grad():
        for module in net.modules():
            if getattr(module, "weight", None) is not None:
                module.weight.fill_(value)
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()
        net.train()
        out = net(inputs).flatten().double().numpy()
    low, high = out.min(), out.max()
    if not (np.isfinite(low) and np.isfinite(high)) or high == low:
        return np.full_like(out, np.nan)
    return (out - low) / (high - low)


@register_proxy("epsilon", batch_size=256, spaces=tuple(WEIGHTS))
def epsilon(model: nn.Module, inputs: torch.Tensor, labels, *, space=None, **_) -> float:
    """epsilon: mean |difference| / mean of min-max-normalised outputs of two constant inits."""
    pair = np.stack([constant_outputs(model, inputs, w) for w in space_weights(space)])
    if np.isnan(pair).all(axis=1).any():
        return float("nan")
    pair[pair == 0] = np.nan
    with np.errstate(invalid="ignore"):
        return float(np.nanmean(np.abs(pair[0] - pair[1])) / np.nanmean(pair))
