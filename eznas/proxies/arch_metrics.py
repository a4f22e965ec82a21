"""Proxies computed from the arch string alone: FreeREA's ``skip`` and ET-NAS's ``degree``.

Both favour trainable cells. A skip connection from node i to node j of an NB201 cell
bypasses the ``j - i - 1`` intermediate nodes; FreeREA's ``skip`` is that count averaged over
the cell's skip connections (0 without any), as in FreeREA's released code; ET-NAS's
``degree`` adds the number of conv edges to the total number of skipped nodes.
"""

from __future__ import annotations

from eznas.proxies.base import register_proxy
from eznas.spaces.nb201 import CONV_OPS, parse_arch
from eznas.spaces.nb201_net import EDGES


def _cell_ops(arch: str, space) -> tuple[str, ...]:
    name = getattr(space, "name", "nb201")
    if name != "nb201":
        raise ValueError(f"skip/degree are defined on NB201 cells, not on space {name!r}")
    return parse_arch(arch)


def skipped_nodes(arch: str, space=None) -> list[int]:
    """Nodes bypassed by each skip connection of the cell (one entry per skip edge)."""
    ops = _cell_ops(arch, space)
    edges = zip(ops, EDGES, strict=True)
    return [dst - src - 1 for op, (src, dst) in edges if op == "skip_connect"]


@register_proxy("skip", needs_data=False, uses_arch=True, batch_size=1)
def skip_proxy(model, inputs, labels, *, seed: int = 0, arch: str, space=None, **_) -> float:
    """FreeREA skipped layers: mean number of nodes a skip connection bypasses."""
    skipped = skipped_nodes(arch, space)
    return sum(skipped) / len(skipped) if skipped else 0.0


@register_proxy("degree", needs_data=False, uses_arch=True, batch_size=1)
def degree_proxy(model, inputs, labels, *, seed: int = 0, arch: str, space=None, **_) -> float:
    """ET-NAS degree: conv edges plus nodes bypassed by skip connections."""
    convs = sum(op in CONV_OPS for op in _cell_ops(arch, space))
    return float(convs + sum(skipped_nodes(arch, space)))
