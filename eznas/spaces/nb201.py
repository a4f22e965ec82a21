"""NAS-Bench-201 / NATS-Bench topology search space (TSS): 5 ops on the 6 edges of a cell.

Archs are NB201 strings ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. Enumeration order is
lexicographic over OPS; NATS-Bench indices come from a ground-truth table, not from here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import numpy as np
from torch import nn

from eznas.data.datasets import dataset_info
from eznas.spaces.base import SearchSpace, register_space
from eznas.spaces.nb201_net import EDGES, NB201Network

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
CONV_OPS = frozenset({"nor_conv_1x1", "nor_conv_3x3"})
_TOKEN = re.compile(r"^([a-z_0-9]+)~(\d+)$")


def parse_arch(arch: str) -> tuple[str, ...]:
    """The six edge ops of an NB201 string, in string order; ValueError quotes the bad part."""
    if not isinstance(arch, str):
        raise ValueError(f"NB201 arch must be a string, got {type(arch).__name__}: {arch!r}")
    nodes = arch.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(
            f"NB201 arch {arch!r} has {len(nodes)} node group(s) separated by '+'; expected 3 "
            "like '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'"
        )
    ops: list[str] = []
    for target, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            raise ValueError(
                f"NB201 arch {arch!r}: node group {group!r} must start and end with '|'"
            )
        tokens = group[1:-1].split("|")
        if len(tokens) != target:
            raise ValueError(
                f"NB201 arch {arch!r}: node group {group!r} has {len(tokens)} edge(s); "
                f"node {target} needs {target}"
            )
        for source, token in enumerate(tokens):
            match = _TOKEN.match(token)
            if not match:
                raise ValueError(f"NB201 arch {arch!r}: edge {token!r} is not of the form 'op~i'")
            op, src = match.group(1), int(match.group(2))
            if op not in OPS:
                raise ValueError(
                    f"NB201 arch {arch!r}: unknown op {op!r} in {token!r}; "
                    f"allowed: {', '.join(OPS)}"
                )
            if src != source:
                raise ValueError(
                    f"NB201 arch {arch!r}: edge {token!r} should come from node {source}"
                )
            ops.append(op)
    return tuple(ops)


def format_arch(ops: tuple[str, ...] | list[str]) -> str:
    """NB201 string of six edge ops given in string order."""
    if len(ops) != 6 or any(op not in OPS for op in ops):
        raise ValueError(f"need six ops from {OPS}, got {ops!r}")
    groups = ([0], [1, 2], [3, 4, 5])
    return "+".join(
        "|" + "|".join(f"{ops[i]}~{EDGES[i][0]}" for i in group) + "|" for group in groups
    )


def cell_expression(ops: tuple[str, ...]) -> str:
    """Canonical expression of the cell output as a function of its input.

    Each node is the sorted multiset of its non-zero incoming terms; a skip passes its
    source's expression through; ``none`` and zero-valued sources contribute nothing. Two
    cells with the same expression compute the same function (up to weight values), which
    is the notion NATS-Bench's unique-architecture count uses.
    """
    nodes: list[str | None] = ["x"]
    for target in (1, 2, 3):
        terms = []
        for op, (src, dst) in zip(ops, EDGES, strict=True):
            if dst != target or op == "none" or nodes[src] is None:
                continue
            terms.append(nodes[src] if op == "skip_connect" else f"{op}({nodes[src]})")
        nodes.append("+".join(sorted(terms)) if terms else None)
    return nodes[3] or "zero"


@register_space("nb201")
class NB201Space(SearchSpace):
    """The 15,625-cell NB201 space; ``channels``/``cells`` shrink it for cheap benchmarks."""

    datasets = ("cifar10", "cifar100", "ImageNet16-120")

    def __init__(self, channels: int = 16, cells: int = 5):
        if channels < 1 or cells < 1:
            raise ValueError(f"channels and cells must be >= 1, got {channels}, {cells}")
        self.channels = channels
        self.cells = cells

    @property
    def id(self) -> str:
        if (self.channels, self.cells) == (16, 5):
            return self.name
        return f"{self.name}-c{self.channels}n{self.cells}"

    def validate(self, arch: str) -> str:
        return format_arch(parse_arch(arch))

    def encode(self, arch: str) -> np.ndarray:
        return np.array([OPS.index(op) for op in parse_arch(arch)])

    def ops(self, arch: str) -> tuple[str, ...]:
        return parse_arch(arch)

    def __iter__(self) -> Iterator[str]:
        return (format_arch(ops) for ops in itertools.product(OPS, repeat=6))

    def __len__(self) -> int:
        return len(OPS) ** 6

    def sample(self, rng: np.random.Generator) -> str:
        return format_arch([OPS[i] for i in rng.integers(len(OPS), size=6)])

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        ops = list(parse_arch(arch))
        edge = int(rng.integers(6))
        ops[edge] = rng.choice([op for op in OPS if op != ops[edge]])
        return format_arch(ops)

    def crossover(self, a: str, b: str, rng: np.random.Generator) -> str:
        ops_a, ops_b = parse_arch(a), parse_arch(b)
        take_a = rng.random(6) < 0.5
        return format_arch([x if t else y for x, y, t in zip(ops_a, ops_b, take_a, strict=True)])

    def key(self, arch: str) -> str:
        return cell_expression(parse_arch(arch))

    def build(self, arch: str, dataset: str) -> nn.Module:
        info = dataset_info(dataset)
        return NB201Network(parse_arch(arch), info.num_classes, self.channels, self.cells)

    def conv_edges(self, arch: str) -> int:
        """Number of conv edges in the cell (each becomes one RCB per cell)."""
        return sum(op in CONV_OPS for op in parse_arch(arch))
