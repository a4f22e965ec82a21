"""The DARTS cell space of NAS-Bench-301: a normal and a reduction cell of 4 nodes each.

Each intermediate node (2..5) of a cell sums two ops applied to two distinct earlier nodes
(0 and 1 are the cell's inputs). An arch is written like NB201's strings, one ``op~input``
token per edge, nodes separated by ``+``, the two cells named::

    normal=|sep_conv_3x3~0|sep_conv_3x3~1|+|skip_connect~0|sep_conv_3x3~1|+|...|+|...|;reduce=...

The two edges of a node are unordered (their sum does not depend on the order), so the
canonical string lists them by input node. ``validate`` also accepts NASLib's compact
encoding (the keys of NAS-Bench-Suite-Zero), ``[[(input, op_index) x 8], [...]]``: pairs
2k and 2k+1 feed node k+2, op indices point into ``OPS`` (the order of NASLib's
``convert_compact_to_genotype``), input 0 is the older cell input. Checked against the
reference: parameter counts match for all 725 archs, which pins every op index but the
max/avg pool pair (both parameter-free); grad_norm agrees with the reference's at Spearman
0.97 as decoded and 0.73 with the two pools swapped (40 archs with pools), synflow at 0.9999
as decoded and 0.66 with inputs 0 and 1 swapped (60 archs).
"""

from __future__ import annotations

import ast
import re

import numpy as np
from torch import nn

from eznas.data.datasets import dataset_info
from eznas.spaces.base import SearchSpace, register_space
from eznas.spaces.nb301_net import Cell, DartsNetwork

OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
CELLS = ("normal", "reduce")
NODES = 4
_TOKEN = re.compile(r"^([a-z_0-9]+)~(\d+)$")


def _check_cell(name: str, pairs: Cell, where: str) -> Cell:
    """Sort each node's two edges by input; ValueError (quoting ``where``) when invalid."""
    out: list[tuple[int, str]] = []
    for node in range(NODES):
        (a, op_a), (b, op_b) = pairs[2 * node : 2 * node + 2]
        for src, op in ((a, op_a), (b, op_b)):
            if op not in OPS:
                raise ValueError(
                    f"NB301 arch {where}: unknown op {op!r} in {name} node {node + 2}; "
                    f"allowed: {', '.join(OPS)}"
                )
            if not 0 <= src <= node + 1:
                raise ValueError(
                    f"NB301 arch {where}: {name} node {node + 2} takes input {src}; "
                    f"it may only read nodes 0..{node + 1}"
                )
        if a == b:
            raise ValueError(
                f"NB301 arch {where}: {name} node {node + 2} reads node {a} twice; "
                "its two edges need distinct inputs"
            )
        out.extend(sorted([(a, op_a), (b, op_b)]))
    return tuple(out)


def _parse_string(arch: str) -> tuple[Cell, Cell]:
    parts = arch.split(";")
    if len(parts) != 2:
        raise ValueError(
            f"NB301 arch {arch!r} has {len(parts)} part(s) separated by ';'; expected 2, "
            "'normal=|op~i|op~j|+...;reduce=|op~i|op~j|+...'"
        )
    cells = []
    for part, name in zip(parts, CELLS, strict=True):
        label, _, body = part.partition("=")
        if label != name:
            raise ValueError(f"NB301 arch {arch!r}: part {part!r} should start with '{name}='")
        groups = body.split("+")
        if len(groups) != NODES:
            raise ValueError(
                f"NB301 arch {arch!r}: {name} cell {body!r} has {len(groups)} node group(s) "
                f"separated by '+'; expected {NODES}"
            )
        pairs: list[tuple[int, str]] = []
        for node, group in enumerate(groups, start=2):
            tokens = group[1:-1].split("|")
            if not (group.startswith("|") and group.endswith("|")) or len(tokens) != 2:
                raise ValueError(
                    f"NB301 arch {arch!r}: {name} node {node} group {group!r} must be '|op~i|op~j|'"
                )
            for token in tokens:
                match = _TOKEN.match(token)
                if not match:
                    raise ValueError(f"NB301 arch {arch!r}: edge {token!r} is not 'op~input'")
                pairs.append((int(match.group(2)), match.group(1)))
        cells.append(_check_cell(name, pairs, repr(arch)))
    return cells[0], cells[1]


def _parse_compact(arch: str) -> tuple[Cell, Cell]:
    try:
        compact = ast.literal_eval(arch)
    except (ValueError, SyntaxError):
        raise ValueError(f"NB301 compact arch {arch!r} is not a Python literal") from None
    if not (isinstance(compact, list | tuple) and len(compact) == 2):
        raise ValueError(f"NB301 compact arch {arch!r} must be [normal_cell, reduction_cell]")
    cells = []
    for cell, name in zip(compact, CELLS, strict=True):
        if not (isinstance(cell, list | tuple) and len(cell) == 2 * NODES):
            raise ValueError(f"NB301 compact arch: {name} cell {cell!r} needs 8 (input, op) pairs")
        pairs = []
        for pair in cell:
            ok = isinstance(pair, list | tuple) and len(pair) == 2
            if not (ok and all(isinstance(v, int) for v in pair) and 0 <= pair[1] < len(OPS)):
                raise ValueError(
                    f"NB301 compact arch: {name} pair {pair!r} must be (input, op index 0..6)"
                )
            pairs.append((pair[0], OPS[pair[1]]))
        cells.append(_check_cell(name, pairs, repr(arch)))
    return cells[0], cells[1]


def parse_arch(arch: str) -> tuple[Cell, Cell]:
    """(normal, reduce) cells of an arch string or NASLib compact encoding, canonically
    ordered; ValueError quotes the bad part."""
    if not isinstance(arch, str):
        raise ValueError(f"NB301 arch must be a string, got {type(arch).__name__}: {arch!r}")
    arch = arch.strip()
    return _parse_compact(arch) if arch[:1] in "[(" else _parse_string(arch)


def format_arch(normal: Cell, reduce: Cell) -> str:
    """The canonical arch string of two cells (edges sorted within each node)."""
    parts = []
    for name, pairs in zip(CELLS, (normal, reduce), strict=True):
        cell = _check_cell(name, pairs, repr(pairs))
        nodes = (cell[2 * n : 2 * n + 2] for n in range(NODES))
        body = "+".join("|" + "|".join(f"{op}~{src}" for src, op in node) + "|" for node in nodes)
        parts.append(f"{name}={body}")
    return ";".join(parts)


def cell_expression(cell: Cell) -> str:
    """The cell as a multiset of node expressions over its inputs ``a`` and ``b``.

    The output concatenates all four intermediate nodes, and every consumer of a cell
    output starts with a 1x1 conv (or the classifier after pooling), which absorbs any
    channel permutation: so renumbering the intermediate nodes, like swapping a node's two
    edges, leaves the function unchanged up to weights. Each node is written as the sorted
    sum of its ops applied to its inputs' expressions; the cell is the sorted node list.
    """
    nodes = ["a", "b"]
    for n in range(NODES):
        terms = sorted(f"{op}({nodes[src]})" for src, op in cell[2 * n : 2 * n + 2])
        nodes.append("[" + "+".join(terms) + "]")
    return ",".join(sorted(nodes[2:]))


@register_space("nb301")
class NB301Space(SearchSpace):
    """DARTS cells in NB301's 8-cell, 32-channel CIFAR network (not enumerable: ~10^18 archs)."""

    block_pattern = "rcb"

    def validate(self, arch: str) -> str:
        return format_arch(*parse_arch(arch))

    def cells(self, arch: str) -> tuple[Cell, Cell]:
        return parse_arch(arch)

    def encode(self, arch: str) -> np.ndarray:
        """Per cell and node, the op index + 1 on each possible input (0 = not read).

        Changing one op changes one entry, moving one edge to another input two, whatever
        the order the edges were written in (nearest-arch lookups rely on this).
        """
        codes = []
        for cell in parse_arch(arch):
            for n in range(NODES):
                row = [0] * (n + 2)
                for src, op in cell[2 * n : 2 * n + 2]:
                    row[src] = OPS.index(op) + 1
                codes.extend(row)
        return np.array(codes)

    def sample(self, rng: np.random.Generator) -> str:
        cells = []
        for _ in CELLS:
            pairs = []
            for n in range(NODES):
                inputs = rng.choice(n + 2, size=2, replace=False)
                pairs += [(int(src), OPS[int(rng.integers(len(OPS)))]) for src in inputs]
            cells.append(tuple(pairs))
        return format_arch(*cells)

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Change one edge's op, or (where the node has an unread earlier node) its input."""
        cells = [list(cell) for cell in parse_arch(arch)]
        c, node, slot = int(rng.integers(2)), int(rng.integers(NODES)), int(rng.integers(2))
        edge = 2 * node + slot
        src, op = cells[c][edge]
        free = sorted(set(range(node + 2)) - {s for s, _ in cells[c][2 * node : 2 * node + 2]})
        if free and rng.random() < 0.5:
            cells[c][edge] = (int(rng.choice(free)), op)
        else:
            cells[c][edge] = (src, str(rng.choice([o for o in OPS if o != op])))
        return format_arch(*cells)

    def crossover(self, a: str, b: str, rng: np.random.Generator) -> str:
        """Each node (both its edges) of each cell from either parent."""
        children = []
        for cell_a, cell_b in zip(parse_arch(a), parse_arch(b), strict=True):
            take_a = rng.random(NODES) < 0.5
            pairs = []
            for n in range(NODES):
                pairs.extend((cell_a if take_a[n] else cell_b)[2 * n : 2 * n + 2])
            children.append(tuple(pairs))
        return format_arch(*children)

    def key(self, arch: str) -> str:
        return ";".join(cell_expression(cell) for cell in parse_arch(arch))

    def build(self, arch: str, dataset: str) -> nn.Module:
        normal, reduce = parse_arch(arch)
        return DartsNetwork(normal, reduce, dataset_info(dataset).num_classes)
