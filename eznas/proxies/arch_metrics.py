"""Proxies computed from the arch string alone: FreeREA's ``skip`` and ET-NAS's ``degree``.

Both favour trainable cells. A skip connection from node i to node j of an NB201 cell
bypasses the ``j - i - 1`` intermediate nodes; FreeREA's ``skip`` is that count averaged over
the cell's skip connections (0 without any), as in FreeREA's released code; ET-NAS's
``degree`` adds the number of conv edges to the total number of skipped nodes.

NB101 carries the idea over: its ops sit on vertices and every edge is a plain connection
(identity, or a 1x1 projection from the cell input), so every edge is a skip connection,
bypassing the vertices of the longest path between its ends; convs are the c3/c1
vertices. NAS-Bench-Macro is a chain without a cell graph (its only shortcuts are the
fixed residuals of the inverted-residual blocks), so both proxies refuse it.
"""

from __future__ import annotations

import numpy as np

from eznas.proxies.base import register_proxy
from eznas.spaces import nb101, nb201
from eznas.spaces.nb201_net import EDGES


def _space_name(space) -> str:
    name = getattr(space, "name", "nb201")
    if name not in ("nb201", "nb101"):
        raise ValueError(
            f"skip/degree count skip connections of a cell graph (NB201, NB101); "
            f"space {name!r} has none"
        )
    return name


def _longest_paths(matrix: np.ndarray) -> np.ndarray:
    """Edges on the longest path from u to v of a DAG in topological order (0: no path)."""
    n = len(matrix)
    longest = np.zeros((n, n), dtype=np.int64)
    for v in range(n):
        for u in range(v):
            reached = [w for w in range(u, v) if matrix[w, v] and (w == u or longest[u, w])]
            longest[u, v] = max((longest[u, w] + 1 for w in reached), default=0)
    return longest


def skipped_nodes(arch: str, space=None) -> list[int]:
    """Nodes bypassed by each skip connection of the cell (one entry per skip edge)."""
    if _space_name(space) == "nb101":
        matrix, _ = nb101.canonical_spec(arch)
        longest = _longest_paths(matrix)
        return [int(longest[u, v]) - 1 for u, v in zip(*np.nonzero(matrix), strict=True)]
    edges = zip(nb201.parse_arch(arch), EDGES, strict=True)
    return [dst - src - 1 for op, (src, dst) in edges if op == "skip_connect"]


def conv_count(arch: str, space=None) -> int:
    """Conv edges of an NB201 cell, conv vertices of an NB101 cell."""
    if _space_name(space) == "nb101":
        return sum(op in ("c3", "c1") for op in nb101.canonical_spec(arch)[1])
    return sum(op in nb201.CONV_OPS for op in nb201.parse_arch(arch))


@register_proxy("skip", needs_data=False, uses_arch=True, batch_size=1)
def skip_proxy(model, inputs, labels, *, seed: int = 0, arch: str, space=None, **_) -> float:
    """FreeREA skipped layers: mean number of nodes a skip connection bypasses."""
    skipped = skipped_nodes(arch, space)
    return sum(skipped) / len(skipped) if skipped else 0.0


@register_proxy("degree", needs_data=False, uses_arch=True, batch_size=1)
def degree_proxy(model, inputs, labels, *, seed: int = 0, arch: str, space=None, **_) -> float:
    """ET-NAS degree: conv edges plus nodes bypassed by skip connections."""
    return float(conv_count(arch, space) + sum(skipped_nodes(arch, space)))
