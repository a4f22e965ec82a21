"""Capture EZNAS block statistics from a live torch model: the runtime every proxy file carries.

This module imports nothing but torch and the standard library, on purpose: ``eznas
export`` copies its source into each exported proxy, so the collector that fills the
statistics cache and the file that scores a model later run the very same code. (No
dataclasses: they need the module in ``sys.modules``, which a file loaded by path is not.)

Blocks are found on a real forward pass, not from module names: forward hooks record every
call of the pattern's module types with the exact tensor objects it consumed and produced,
and a block is a chain of calls where each call's input *is* the previous call's output. So
the same code works for any space, a module reused twice yields two blocks, and a Conv-BN
pair whose output is summed before the ReLU (NB201 cell nodes) is correctly not a CBR.
Blocks come in execution order (the order of their last call). Functional activations
(``F.relu``) are invisible to module hooks and so are not matched.

Statistic kinds, per block and input X in D (data), N (noise), P (data + noise): T1_X the
ReLU's input, T2_X its output, T4_X the conv's output, T3 the conv weight, and T1G_X..T4G_X
the gradients of the cross-entropy loss of X's forward pass against the data labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

INPUT_KINDS = ("D", "N", "P")
FAMILIES = ("T1", "T2", "T3", "T4")
KINDS: tuple[str, ...] = (
    *(f"{t}_{x}" for x in INPUT_KINDS for t in ("T1", "T2", "T4")),
    "T3",
    *(f"{t}G_{x}" for x in INPUT_KINDS for t in FAMILIES),
)
"""The 22 tensor kinds per block, in storage order."""


class Kind(NamedTuple):
    """A parsed kind name: ``T4G_P`` is family T4, a gradient, of input P."""

    family: str
    grad: bool
    input: str | None  # None for T3, the weight, which no input changes


def parse_kind(name: str) -> Kind:
    """The parts of a kind name; ValueError naming the allowed kinds otherwise."""
    if name not in KINDS:
        raise ValueError(f"unknown tensor kind {name!r}; allowed: {', '.join(KINDS)}")
    head, _, x = name.partition("_")
    return Kind(head[:2], head.endswith("G"), x or None)


def inputs_needed(kinds: tuple[str, ...] | list[str]) -> list[str]:
    """The inputs whose forward passes ``kinds`` need, in D, N, P order (D alone for T3)."""
    used = {parse_kind(k).input for k in kinds}
    return [x for x in INPUT_KINDS if x in used] or ["D"]


def make_inputs(data: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """D, N = N(0, 1) noise and P = D + N(0, 1) noise, drawn from ``seed`` in that order."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(data.shape, generator=gen)
    perturbation = torch.randn(data.shape, generator=gen)
    return {"D": data, "N": noise, "P": data + perturbation}


# ---------------------------------------------------------------- finding blocks
PATTERNS: dict[str, tuple[type[nn.Module], ...]] = {
    "rcb": (nn.ReLU, nn.Conv2d, nn.BatchNorm2d),
    "cbr": (nn.Conv2d, nn.BatchNorm2d, nn.ReLU),
}
"""Pattern name -> module types of the chain, in data-flow order."""


def check_pattern(pattern: str) -> tuple[type[nn.Module], ...]:
    if pattern not in PATTERNS:
        raise ValueError(f"unknown block pattern {pattern!r}; allowed: {', '.join(PATTERNS)}")
    return PATTERNS[pattern]


class Call(NamedTuple):
    """One module call seen by the tracer."""

    name: str
    module: nn.Module
    input: torch.Tensor
    output: torch.Tensor


class Block(NamedTuple):
    """One matched instance: the ReLU and Conv2d calls (for T1, T2, T3, T4) and all names."""

    names: tuple[str, ...]
    relu: Call
    conv: Call

    @property
    def name(self) -> str:
        return "+".join(self.names)

    def tensor(self, family: str) -> torch.Tensor:
        """The live tensor behind a kind family (T1, T2, T3 or T4)."""
        if family == "T1":
            return self.relu.input
        if family == "T2":
            return self.relu.output
        if family == "T3":
            return self.conv.module.weight
        return self.conv.output


class Tracer:
    """Records calls of one pattern's module types during forward passes; ``match`` pairs them."""

    def __init__(self, pattern: str):
        self.chain = check_pattern(pattern)
        self.calls: list[Call] = []

    def reset(self) -> None:
        self.calls = []

    def hook(self, name: str):
        def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if inputs and isinstance(inputs[0], torch.Tensor):
                self.calls.append(Call(name, module, inputs[0], output))

        return record

    def match(self) -> list[Block]:
        """Blocks of the last forward pass, in execution order."""
        producer: dict[int, Call] = {}
        blocks = []
        for call in self.calls:
            if isinstance(call.module, self.chain[-1]):
                chain = [call]
                for kind in reversed(self.chain[:-1]):
                    prev = producer.get(id(chain[0].input))
                    if prev is None or not isinstance(prev.module, kind):
                        break
                    chain.insert(0, prev)
                if len(chain) == len(self.chain):
                    by_type = {type(c.module): c for c in chain}
                    names = tuple(c.name for c in chain)
                    blocks.append(Block(names, by_type[nn.ReLU], by_type[nn.Conv2d]))
            producer[id(call.output)] = call
        return blocks


@contextmanager
def tracing(model: nn.Module, pattern: str = "rcb") -> Iterator[Tracer]:
    """Hook ``model`` for ``pattern``; in-place ReLUs run out-of-place meanwhile so T1 survives."""
    tracer = Tracer(pattern)
    kinds = tuple(set(tracer.chain))
    handles, inplace = [], []
    for name, module in model.named_modules():
        if type(module) in kinds:
            handles.append(module.register_forward_hook(tracer.hook(name)))
            if isinstance(module, nn.ReLU) and module.inplace:
                module.inplace = False
                inplace.append(module)
    try:
        yield tracer
    finally:
        for handle in handles:
            handle.remove()
        for module in inplace:
            module.inplace = True


# ---------------------------------------------------------------- capturing statistics
def capture(
    model: nn.Module,
    inputs: dict[str, torch.Tensor],
    labels: torch.Tensor | None,
    pattern: str = "rcb",
    kinds: tuple[str, ...] | list[str] = KINDS,
) -> tuple[list[str], list[dict[str, torch.Tensor]]]:
    """(block names, one {kind: detached tensor} per block) in execution order.

    Runs the model in train mode, one forward pass per needed input of ``inputs`` (D, N, P)
    and one ``autograd.grad`` call per input if a gradient kind is asked for. Gradients are
    the full dL/dT, so a tensor with several consumers (an NB201 cell node feeding three
    edges) sums all of them; parameters' ``.grad`` are never touched, so the model is left
    as it was (apart from BN running statistics).
    """
    wanted = [k for k in KINDS if k in set(kinds)]
    parsed = {k: parse_kind(k) for k in kinds}
    was_training = model.training
    model.train()
    out: list[dict[str, torch.Tensor]] = []
    names: list[str] | None = None
    try:
        with tracing(model, pattern) as tracer:
            for x_kind in inputs_needed(wanted):
                mine = [k for k in wanted if parsed[k].input == x_kind]
                grads = [k for k in mine if parsed[k].grad]
                x = inputs[x_kind]
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
                    raise RuntimeError(f"blocks differ between the inputs D and {x_kind}")
                for kind in mine:
                    if not parsed[kind].grad:
                        for stats, block in zip(out, blocks, strict=True):
                            stats[kind] = block.tensor(parsed[kind].family).detach()
                if grads:
                    _backward(F.cross_entropy(logits, labels), blocks, grads, out)
                tracer.reset()
    finally:
        model.train(was_training)
    return names or [], out


def _backward(
    loss: torch.Tensor, blocks: list[Block], grads: list[str], out: list[dict[str, torch.Tensor]]
) -> None:
    """Fill ``out`` with the requested gradient kinds of one loss (one autograd call)."""
    targets: list[torch.Tensor] = []
    slot: dict[int, int] = {}  # id(tensor) -> position in targets (shared T1s asked once)
    wanted = []
    for i, block in enumerate(blocks):
        for kind in grads:
            tensor = block.tensor(parse_kind(kind).family)
            if id(tensor) not in slot:
                slot[id(tensor)] = len(targets)
                targets.append(tensor)
            wanted.append((i, kind, slot[id(tensor)]))
    values = torch.autograd.grad(loss, targets, allow_unused=True, materialize_grads=True)
    for i, kind, j in wanted:
        out[i][kind] = values[j]


def find_blocks(model: nn.Module, x: torch.Tensor, pattern: str = "rcb") -> list[Block]:
    """The blocks of ``model`` on input ``x`` (one no-grad forward pass in the current mode)."""
    with tracing(model, pattern) as tracer, torch.no_grad():
        model(x)
        return tracer.match()
