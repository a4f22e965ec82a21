"""EZNAS network statistics of one live model: 22 tensors per block for the D, N, P inputs.

Per block and input X: T1_X = the ReLU's input, T2_X = the ReLU's output, T4_X = the conv's
output, T3 = the conv weight (input-independent) and the gradients T1G_X..T4G_X of the
cross-entropy loss of X's forward pass against the D labels. In an RCB the ReLU output is
the conv input; in a CBR it is the block output (the kind names keep their meaning).

Gradients are the full dL/dT, as ``torch.autograd.grad`` returns them: when a tensor has
several consumers (NB201's cell node 0 feeds up to three edges) T1G sums all of them.
One ``autograd.grad`` call per input asks only for the requested tensors and never touches
``.grad`` of the parameters, so the model is left as it was (apart from BN running stats).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eznas.data import INPUT_KINDS, Batches
from eznas.stats.blocks import Block, tracing

BASE = ("T1", "T2", "T4")
GRADS = ("T1G", "T2G", "T3G", "T4G")
KINDS: tuple[str, ...] = (
    *(f"{t}_{x}" for x in INPUT_KINDS for t in BASE),
    "T3",
    *(f"{g}_{x}" for x in INPUT_KINDS for g in GRADS),
)
"""The 22 tensor kinds per block, in storage order."""


def check_kinds(kinds: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown tensor kinds {bad}; allowed: {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in set(kinds))


def _tensor_of(block: Block, family: str) -> torch.Tensor:
    """The live tensor behind a kind family (T1, T2, T3 or T4) of one block."""
    if family == "T1":
        return block.relu.input
    if family == "T2":
        return block.relu.output
    if family == "T3":
        return block.conv.module.weight
    return block.conv.output


def collect_model(
    model: nn.Module,
    batches: Batches,
    pattern: str = "rcb",
    kinds: list[str] | tuple[str, ...] | None = None,
) -> list[dict[str, torch.Tensor]]:
    """One dict per block (execution order) of detached float tensors for ``kinds``.

    Runs the model in train mode, one forward pass per needed input and a backward pass only
    if a gradient kind is requested.
    """
    return collect_named(model, batches, pattern, kinds)[1]


def collect_named(
    model: nn.Module,
    batches: Batches,
    pattern: str = "rcb",
    kinds: list[str] | tuple[str, ...] | None = None,
) -> tuple[list[str], list[dict[str, torch.Tensor]]]:
    """``collect_model`` plus the blocks' module names (joined by '+')."""
    wanted = check_kinds(kinds)
    inputs = [x for x in INPUT_KINDS if any(k.endswith("_" + x) for k in wanted)] or ["D"]
    was_training = model.training
    model.train()
    out: list[dict[str, torch.Tensor]] = []
    names: list[str] | None = None
    try:
        with tracing(model, pattern) as tracer:
            for x_kind in inputs:
                mine = [k for k in wanted if k.endswith("_" + x_kind)]
                grads = [k for k in mine if k.split("_")[0] in GRADS]
                x = batches[x_kind]
                if grads:
                    x = x.detach().clone().requires_grad_(True)
                tracer.reset()
                with torch.set_grad_enabled(bool(grads)):
                    logits = model(x)
                blocks = tracer.match()
                if names is None:
                    names = [b.name for b in blocks]
                    out = [{} for _ in blocks]
                    if "T3" in wanted:
                        for stats, block in zip(out, blocks, strict=True):
                            stats["T3"] = block.conv.module.weight.detach().clone()
                elif names != [b.name for b in blocks]:
                    raise RuntimeError(f"blocks differ between inputs {inputs[0]} and {x_kind}")
                for kind in mine:
                    family = kind.split("_")[0]
                    if family in BASE:
                        for stats, block in zip(out, blocks, strict=True):
                            stats[kind] = _tensor_of(block, family).detach()
                if grads:
                    _backward(logits, batches.labels, blocks, grads, out)
                tracer.reset()
    finally:
        model.train(was_training)
    return names or [], out


def _backward(
    logits: torch.Tensor,
    labels: torch.Tensor,
    blocks: list[Block],
    grads: list[str],
    out: list[dict[str, torch.Tensor]],
) -> None:
    """Fill ``out`` with the requested gradient kinds of one input's loss (one autograd call)."""
    loss = F.cross_entropy(logits, labels)
    targets: list[torch.Tensor] = []
    slot: dict[int, int] = {}  # id(tensor) -> position in targets (shared T1s asked once)
    wanted = []
    for i, block in enumerate(blocks):
        for kind in grads:
            tensor = _tensor_of(block, kind.split("_")[0][:2])
            if id(tensor) not in slot:
                slot[id(tensor)] = len(targets)
                targets.append(tensor)
            wanted.append((i, kind, slot[id(tensor)]))
    values = torch.autograd.grad(loss, targets, allow_unused=True, materialize_grads=True)
    for i, kind, j in wanted:
        out[i][kind] = values[j]
