"""Find ReLU-Conv-BN (RCB) or Conv-BN-ReLU (CBR) blocks of any torch model by data flow.

Blocks are found on a real forward pass, not from module names: forward hooks record every
call of the pattern's module types with the exact tensor objects it consumed and produced,
and a block is a chain of calls where each call's input *is* the previous call's output. So
the same code works for any space, a module reused twice yields two blocks, and a Conv-BN
pair whose output is summed before the ReLU (NB201 cell nodes) is correctly not a CBR.
Blocks come in execution order (the order of their last call). Functional activations
(``F.relu``) are invisible to module hooks and so are not matched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

PATTERNS: dict[str, tuple[type[nn.Module], ...]] = {}
"""Pattern name -> module types of the chain, in data-flow order."""


def register_pattern(name: str, *chain: type[nn.Module]) -> None:
    """Add a block pattern; it must contain exactly one ReLU and one Conv2d (T1-T4 need them)."""
    if sum(t is nn.ReLU for t in chain) != 1 or sum(t is nn.Conv2d for t in chain) != 1:
        raise ValueError(f"pattern {name!r} needs one nn.ReLU and one nn.Conv2d, got {chain}")
    PATTERNS[name] = chain


register_pattern("rcb", nn.ReLU, nn.Conv2d, nn.BatchNorm2d)
register_pattern("cbr", nn.Conv2d, nn.BatchNorm2d, nn.ReLU)


def check_pattern(pattern: str) -> tuple[type[nn.Module], ...]:
    if pattern not in PATTERNS:
        raise ValueError(f"unknown block pattern {pattern!r}; allowed: {', '.join(PATTERNS)}")
    return PATTERNS[pattern]


@dataclass
class Call:
    """One module call seen by the tracer."""

    name: str
    module: nn.Module
    input: torch.Tensor
    output: torch.Tensor


@dataclass
class Block:
    """One matched instance: the ReLU and Conv2d calls (for T1, T2, T3, T4) and all names."""

    names: tuple[str, ...]
    relu: Call
    conv: Call

    @property
    def name(self) -> str:
        return "+".join(self.names)


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
        """Blocks of the last forward pass, in execution order.

        A run of convs, each fed by the previous one, stands for the pattern's one conv and
        is represented by its first: a separable conv (ReLU, depthwise, pointwise, BN, as in
        DARTS) is one RCB whose conv is the depthwise one, which is how EZNAS treats
        ReLU-Conv-Conv-BN in the NDS spaces ("ignoring the second convolution").
        """
        producer: dict[int, Call] = {}
        blocks = []
        for call in self.calls:
            if isinstance(call.module, self.chain[-1]):
                chain, matched = [call], 1
                for kind in reversed(self.chain[:-1]):
                    prev = producer.get(id(chain[0].input))
                    if prev is None or not isinstance(prev.module, kind):
                        break
                    chain.insert(0, prev)
                    matched += 1
                    while kind is nn.Conv2d and _is_conv(producer.get(id(prev.input))):
                        prev = producer[id(prev.input)]
                        chain.insert(0, prev)
                if matched == len(self.chain):
                    relu = next(c for c in chain if isinstance(c.module, nn.ReLU))
                    conv = next(c for c in chain if isinstance(c.module, nn.Conv2d))
                    blocks.append(Block(tuple(c.name for c in chain), relu, conv))
            producer[id(call.output)] = call
        return blocks


def _is_conv(call: Call | None) -> bool:
    return call is not None and isinstance(call.module, nn.Conv2d)


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


def find_blocks(model: nn.Module, x: torch.Tensor, pattern: str = "rcb") -> list[Block]:
    """The blocks of ``model`` on input ``x`` (one no-grad forward pass in the current mode)."""
    with tracing(model, pattern) as tracer, torch.no_grad():
        model(x)
        return tracer.match()
