"""Network-level ops: one number per network from its blocks' values in depth order.

A program gives one value per block; a network op turns the sequence of a network's block
values (in execution order, the order the runtime finds the blocks) into the network's
score. Besides EZNAS's mean, the evolution can choose ops that read the depth axis, such
as AZ-NAS's progressivity (the smallest step between consecutive blocks) or the ratio of
the last block to the first.

Every op takes a float64 tensor (programs, networks, depth) padded with NaN past each
network's last block and returns (programs, networks). Op functions use only ``torch`` and
the helpers above them, so ``eznas.gp.export`` can copy their source into a proxy file.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

NetOp = Callable[[torch.Tensor], torch.Tensor]
NET_OPS: dict[str, NetOp] = {}


def net_op(name: str) -> Callable[[NetOp], NetOp]:
    """Register ``fn(padded values) -> per-network values`` as network op ``name``."""

    def add(fn: NetOp) -> NetOp:
        if name in NET_OPS:
            raise ValueError(f"network op {name!r} registered twice")
        NET_OPS[name] = fn
        return fn

    return add


def get_net_op(name: str) -> NetOp:
    try:
        return NET_OPS[name]
    except KeyError:
        raise ValueError(f"unknown network op {name!r}; allowed: {', '.join(NET_OPS)}") from None


def present(values: torch.Tensor) -> torch.Tensor:
    """Where a network has a block (the padding is NaN)."""
    return ~torch.isnan(values)


def fill(values: torch.Tensor, value: float) -> torch.Tensor:
    return torch.where(present(values), values, torch.full_like(values, value))


def count(values: torch.Tensor) -> torch.Tensor:
    return present(values).sum(-1)


def first_and_last(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each network's first and last block value."""
    last = (count(values) - 1).clamp(min=0).unsqueeze(-1)
    return values[..., 0], values.gather(-1, last).squeeze(-1)


def drop_repeats(values: torch.Tensor) -> torch.Tensor:
    """Each network's values with consecutive equal ones counted once, NaN-padded again:
    the blocks of one stage read one shared stage input (T5), so a program of stage kinds
    gives one value per stage."""
    before = torch.cat([torch.full_like(values[..., :1], torch.nan), values[..., :-1]], -1)
    keep = present(values) & (values != before)
    order = torch.sort((~keep).to(torch.int8), dim=-1, stable=True).indices
    return torch.where(keep, values, torch.nan).gather(-1, order)


def mean_of(values: torch.Tensor) -> torch.Tensor:
    return fill(values, 0.0).sum(-1) / count(values)


def min_step_of(values: torch.Tensor) -> torch.Tensor:
    """Smallest increase from one value to the next; NaN with one value."""
    steps = values[..., 1:] - values[..., :-1]
    return fill(steps, torch.inf).amin(-1).where(count(values) > 1, torch.nan)


@net_op("mean")
def net_mean(values: torch.Tensor) -> torch.Tensor:
    return mean_of(values)


@net_op("sum")
def net_sum(values: torch.Tensor) -> torch.Tensor:
    return fill(values, 0.0).sum(-1)


@net_op("amax")
def net_amax(values: torch.Tensor) -> torch.Tensor:
    return fill(values, -torch.inf).amax(-1)


@net_op("amin")
def net_amin(values: torch.Tensor) -> torch.Tensor:
    return fill(values, torch.inf).amin(-1)


@net_op("std")
def net_std(values: torch.Tensor) -> torch.Tensor:
    mean = (fill(values, 0.0).sum(-1) / count(values)).unsqueeze(-1)
    return (fill(values - mean, 0.0) ** 2).sum(-1).div(count(values)).sqrt()


@net_op("min_step")
def net_min_step(values: torch.Tensor) -> torch.Tensor:
    """Smallest increase from one block to the next (AZ-NAS's progressivity); NaN with one
    block, which makes the program invalid on such networks."""
    return min_step_of(values)


@net_op("max_step")
def net_max_step(values: torch.Tensor) -> torch.Tensor:
    steps = values[..., 1:] - values[..., :-1]
    return fill(steps, -torch.inf).amax(-1).where(count(values) > 1, torch.nan)


@net_op("last_first")
def net_last_first(values: torch.Tensor) -> torch.Tensor:
    """Last block's value over the first's (0 where the first is 0)."""
    first, last = first_and_last(values)
    ok = first.abs() > 1e-12
    return torch.where(ok, last / torch.where(ok, first, torch.ones_like(first)), 0.0)


@net_op("last")
def net_last(values: torch.Tensor) -> torch.Tensor:
    return first_and_last(values)[1]


@net_op("first")
def net_first(values: torch.Tensor) -> torch.Tensor:
    return first_and_last(values)[0]


@net_op("stage_mean")
def net_stage_mean(values: torch.Tensor) -> torch.Tensor:
    """Mean over stages (``drop_repeats``): AZ-NAS's expressivity over its features is a
    sum over a fixed number of stages, so a mean."""
    return mean_of(drop_repeats(values))


@net_op("stage_min_step")
def net_stage_min_step(values: torch.Tensor) -> torch.Tensor:
    """Smallest increase from one stage to the next (AZ-NAS's progressivity on T5)."""
    return min_step_of(drop_repeats(values))


def padded(values: torch.Tensor, net: torch.Tensor, block: torch.Tensor, n: int) -> torch.Tensor:
    """Per-block values (programs, blocks) -> (programs, n networks, depth), NaN-padded."""
    depth = int(block.max()) + 1 if block.numel() else 0
    out = torch.full((values.shape[0], n, depth), torch.nan, dtype=values.dtype)
    out[:, net, block] = values
    return out
