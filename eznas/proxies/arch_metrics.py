"""Proxies computed from the arch string alone: FreeREA's ``skip`` and ET-NAS's ``degree``.

Both favour trainable networks. A skip connection from node i to node j of an NB201 cell
bypasses the ``j - i - 1`` intermediate nodes; FreeREA's ``skip`` is that count averaged over
the cell's skip connections (0 without any), as in FreeREA's released code; ET-NAS's
``degree`` adds the number of conv edges to the total number of skipped nodes.

Each space says what its skip connections are (``SKIP_DEFINITIONS``, one entry per space):

- NB201: ``skip_connect`` edges, bypassing ``j - i - 1`` nodes; convs are the conv edges.
- NB101: ops sit on vertices and every edge is a plain connection (identity, or a 1x1
  projection from the cell input), so every edge is a skip connection, bypassing the
  vertices of the longest path between its ends; convs are the c3/c1 vertices.
- NB301 (DARTS): ``skip_connect`` edges of the normal and the reduction cell, each bypassing
  the nodes of the longest path between its ends inside its cell (the two cell inputs are
  not joined inside the cell); convs are the sep/dil conv edges of both cells.
- NAS-Bench-Macro is a chain: its skip connections are the residual shortcuts of the
  inverted-residual blocks at stride-1 positions, each bypassing exactly one block. The
  mean bypass would be constant, so ``skip`` there is their number (the total of blocks
  bypassed, as ``degree`` counts everywhere); convs are the inverted-residual blocks. The
  other candidate, the number of identity layers, ranks the 6,561 archs at Kendall tau
  -0.69 with accuracy: FreeREA maximises ``skip``, so it would steer towards shallow
  networks; the shortcut count ranks them at +0.34.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from eznas.proxies.base import register_proxy
from eznas.spaces import nb101, nb201, nb301, nbmacro
from eznas.spaces.nb201_net import EDGES


@dataclass(frozen=True)
class SkipDefinition:
    """A space's skip connections (nodes each one bypasses) and its conv count."""

    skipped: Callable[[str], list[int]]
    convs: Callable[[str], int]
    mean: bool = True  # skip = mean bypass per connection (cells) or their total (chains)


SKIP_DEFINITIONS: dict[str, SkipDefinition] = {}


def register_skip_definition(space: str, definition: SkipDefinition) -> None:
    SKIP_DEFINITIONS[space] = definition


def skip_definition(space) -> SkipDefinition:
    name = getattr(space, "name", "nb201")
    if name not in SKIP_DEFINITIONS:
        raise ValueError(
            f"skip/degree need a space's skip connections; space {name!r} has no definition "
            f"(defined: {', '.join(sorted(SKIP_DEFINITIONS))})"
        )
    return SKIP_DEFINITIONS[name]


def _longest_paths(matrix: np.ndarray) -> np.ndarray:
    """Edges on the longest path from u to v of a DAG in topological order (0: no path)."""
    n = len(matrix)
    longest = np.zeros((n, n), dtype=np.int64)
    for v in range(n):
        for u in range(v):
            reached = [w for w in range(u, v) if matrix[w, v] and (w == u or longest[u, w])]
            longest[u, v] = max((longest[u, w] + 1 for w in reached), default=0)
    return longest


def _nb201_skipped(arch: str) -> list[int]:
    edges = zip(nb201.parse_arch(arch), EDGES, strict=True)
    return [dst - src - 1 for op, (src, dst) in edges if op == "skip_connect"]


def _nb101_skipped(arch: str) -> list[int]:
    matrix, _ = nb101.canonical_spec(arch)
    longest = _longest_paths(matrix)
    return [int(longest[u, v]) - 1 for u, v in zip(*np.nonzero(matrix), strict=True)]


def _nb301_skipped(arch: str) -> list[int]:
    skipped = []
    for cell in nb301.parse_arch(arch):
        matrix = np.zeros((nb301.NODES + 2, nb301.NODES + 2), dtype=np.int64)
        for edge, (src, _) in enumerate(cell):
            matrix[src, edge // 2 + 2] = 1
        longest = _longest_paths(matrix)
        skipped += [
            int(longest[src, edge // 2 + 2]) - 1
            for edge, (src, op) in enumerate(cell)
            if op == "skip_connect"
        ]
    return skipped


def _nbmacro_residual(arch: str) -> list[bool]:
    """Per choice block: is it an inverted residual with a shortcut (stride 1, same width)?"""
    digits = nbmacro.parse_arch(arch)
    return [
        digits[i] in nbmacro.MB_SHAPES and i != s.start
        for s in nbmacro.stage_slices()
        for i in range(s.start, s.stop)
    ]


def _nb201_convs(arch: str) -> int:
    return sum(op in nb201.CONV_OPS for op in nb201.parse_arch(arch))


def _nb101_convs(arch: str) -> int:
    return sum(op in ("c3", "c1") for op in nb101.canonical_spec(arch)[1])


def _nb301_convs(arch: str) -> int:
    return sum("conv" in op for cell in nb301.parse_arch(arch) for _, op in cell)


def _nbmacro_shortcuts(arch: str) -> list[int]:
    return [1] * sum(_nbmacro_residual(arch))


def _nbmacro_convs(arch: str) -> int:
    return sum(d in nbmacro.MB_SHAPES for d in nbmacro.parse_arch(arch))


register_skip_definition("nb201", SkipDefinition(_nb201_skipped, _nb201_convs))
register_skip_definition("nb101", SkipDefinition(_nb101_skipped, _nb101_convs))
register_skip_definition("nb301", SkipDefinition(_nb301_skipped, _nb301_convs))
register_skip_definition("nbmacro", SkipDefinition(_nbmacro_shortcuts, _nbmacro_convs, mean=False))


def skipped_nodes(arch: str, space=None) -> list[int]:
    """Nodes (blocks, in a chain) bypassed by each skip connection (one entry per skip)."""
    return skip_definition(space).skipped(arch)


def conv_count(arch: str, space=None) -> int:
    """Conv edges (NB201, NB301), conv vertices (NB101), inverted residuals (Macro)."""
    return skip_definition(space).convs(arch)


@register_proxy("skip", needs_data=False, uses_arch=True, batch_size=1)
def skip_proxy(model, inputs, labels, *, seed: int = 0, arch: str, space=None, **_) -> float:
    """FreeREA skipped layers: mean number of nodes a skip connection bypasses (chains:
    the number of shortcuts, see the module docstring)."""
    definition = skip_definition(space)
    skipped = definition.skipped(arch)
    if not definition.mean:
        return float(sum(skipped))
    return sum(skipped) / len(skipped) if skipped else 0.0


@register_proxy("degree", needs_data=False, uses_arch=True, batch_size=1)
def degree_proxy(model, inputs, labels, *, seed: int = 0, arch: str, space=None, **_) -> float:
    """ET-NAS degree: conv edges plus nodes bypassed by skip connections."""
    return float(conv_count(arch, space) + sum(skipped_nodes(arch, space)))
