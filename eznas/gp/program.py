"""Programs (DEAP expression trees over the RCB statistics) and their evaluation.

Terminals are statistic kinds: the 22 raw tensors of EZNAS and the summaries over a batch's
samples (``eznas.runtime.SUMMARY_KINDS``); a primitive set offers the kinds the task
statistics hold, and any kind parses.

A program is applied to every RCB of a network, reduced to one number per RCB by
``to_scalar`` and turned into the network's score by a network op over the RCBs in depth
order (``eznas.gp.network``; EZNAS-A: mean and mean). Evaluation
is vectorised: the RCBs of all networks are grouped by the shapes of their tensors
(``BlockSet``), each group is stacked into one tensor per kind, the tree runs once per group
(one op call per node, not per block) and the per-block values are segmented back to
networks. Subtrees shared across a population are computed once per group (``memo``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from deap import gp

from eznas.gp.network import NET_OPS, padded
from eznas.gp.ops import OPS, Shape, ShapeError, get_op, op_l2, op_mean, op_sum
from eznas.runtime import ALL_KINDS, KINDS, kind_axis, kind_dtype, parse_kind

TO_SCALAR: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "mean": op_mean,
    "l2": op_l2,
    "sum": op_sum,
}
AGGREGATIONS = tuple(NET_OPS)
SHAPE_FAMILIES = ("input", "weight", "output", "sample", "stage", "stage map")
"""T1/T2 (+G, +their C), T3 (+G), T4 (+G, +their C), the B x B or B summaries S, K, L, T5
(+its C), and T6 (+its C, on rows of its own): within a cache, one kind of each fixes the
shapes of all others."""
MEMO_BYTES = 256 * 2**20  # per shape group; larger intermediate results are recomputed


def _shape_family(kind: str) -> str:
    parsed = parse_kind(kind)
    if parsed.summary in ("S", "K", "L"):
        return "sample"
    families = {"T1": "input", "T2": "input", "T3": "weight", "T4": "output", "T5": "stage"}
    return families.get(parsed.family, "stage map")


def make_pset(kinds: Iterable[str] = KINDS) -> gp.PrimitiveSet:
    """DEAP primitive set: the registered ops as primitives, ``kinds`` as terminals (the
    statistics a task set holds; the raw 22 by default), in ``ALL_KINDS`` order so a seeded
    run draws the same trees whatever order the kinds come in."""
    wanted = set(kinds)
    for kind in wanted:
        parse_kind(kind)
    kinds = [k for k in ALL_KINDS if k in wanted]
    pset = gp.PrimitiveSet("EZNAS", len(kinds))
    pset.renameArguments(**{f"ARG{i}": kind for i, kind in enumerate(kinds)})
    for op in OPS.values():
        pset.addPrimitive(op.fn, op.arity, name=op.name)
    return pset


@dataclass(frozen=True)
class Node:
    """One node of a compiled tree; ``key`` is its subtree's text, used to share results."""

    key: str
    name: str
    args: tuple[Node, ...] = ()

    @property
    def is_kind(self) -> bool:
        return not self.args


@dataclass(frozen=True)
class Program:
    text: str
    root: Node
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return self.text


def compile_tree(tree: gp.PrimitiveTree | str, pset: gp.PrimitiveSet | None = None) -> Program:
    """A DEAP tree (or its string) as a ``Program``; unknown names raise ValueError."""
    if isinstance(tree, str):
        try:
            tree = gp.PrimitiveTree.from_string(tree, pset or make_pset(ALL_KINDS))
        except (TypeError, IndexError, KeyError) as err:
            raise ValueError(f"cannot parse program {tree!r}: {err}") from None
    nodes = list(tree)

    def build(i: int) -> tuple[Node, int]:
        node = nodes[i]
        if node.arity == 0:
            kind = node.format()
            if kind not in ALL_KINDS:
                raise ValueError(f"unknown terminal {kind!r}; allowed: {', '.join(ALL_KINDS)}")
            return Node(kind, kind), i + 1
        get_op(node.name)
        args, j = [], i + 1
        for _ in range(node.arity):
            arg, j = build(j)
            args.append(arg)
        key = f"{node.name}({', '.join(a.key for a in args)})"
        return Node(key, node.name, tuple(args)), j

    root, _ = build(0)
    kinds = sorted({n.format() for n in nodes if n.arity == 0}, key=ALL_KINDS.index)
    return Program(root.key, root, tuple(kinds))


def output_shape(node: Node, shapes: dict[str, Shape]) -> Shape:
    """Item shape of ``node``'s result for blocks with these kind shapes; ShapeError if invalid."""
    if node.is_kind:
        return shapes[node.name]
    return get_op(node.name).shape(*(output_shape(a, shapes) for a in node.args))


def run(node: Node, tensors: dict[str, torch.Tensor], memo: dict | None = None) -> torch.Tensor:
    """Value of ``node`` on stacked tensors; ``memo`` shares subtree results between calls."""
    if node.is_kind:
        return tensors[node.name]
    if memo is not None and node.key in memo:
        return memo[node.key]
    out = get_op(node.name).fn(*(run(a, tensors, memo) for a in node.args))
    if memo is not None:
        size = out.numel() * out.element_size()
        if memo.get("__bytes__", 0) + size <= MEMO_BYTES:
            memo[node.key] = out
            memo["__bytes__"] = memo.get("__bytes__", 0) + size
    return out


# ---------------------------------------------------------------- stacked statistics
@dataclass
class BlockGroup:
    """All RCBs (of any networks) whose tensors have the same shapes, stacked on axis 0; or,
    on ``axis`` "stage", all such stage maps (``eznas.runtime.kind_axis``)."""

    net: np.ndarray  # (G,) position of each block's network in the BlockSet
    block: np.ndarray  # (G,) each block's depth: its position in its network's blocks
    tensors: dict[str, torch.Tensor]  # kind -> (G, *item shape)
    axis: str = "block"
    shapes: dict[str, Shape] = field(init=False)

    def __post_init__(self) -> None:
        self.shapes = {k: tuple(t.shape[1:]) for k, t in self.tensors.items()}


@dataclass
class BlockSet:
    """The RCB statistics of ``n_networks`` networks, grouped by tensor shapes."""

    groups: list[BlockGroup]
    n_networks: int

    @classmethod
    def build(
        cls, read: Callable[[str], Sequence[Sequence[object]]], kinds: Iterable[str]
    ) -> BlockSet:
        """Stack the RCBs given by ``read(kind) -> per network, per RCB array``, kind by kind
        (per stage map for stage-map kinds, which form groups of their own).

        Groups are keyed by the shapes of one kind per shape family (input, weight,
        output, sample: together they fix all other shapes), a raw kind where there is one
        (its spatial sizes are finer than a summary's channels);
        reading one kind at a time keeps peak memory near one kind above the result.
        """
        kinds = list(kinds)
        groups: list[BlockGroup] = []
        n = 0
        for axis in ("block", "stage"):
            mine = [k for k in kinds if kind_axis(k) == axis]
            if mine:
                more, n = cls._stack(read, mine, axis)
                groups += more
        return cls(groups, n)

    @staticmethod
    def _stack(
        read: Callable[[str], Sequence[Sequence[object]]], kinds: list[str], axis: str
    ) -> tuple[list[BlockGroup], int]:
        """The groups of one axis and the number of networks."""
        by_rawness = sorted(kinds, key=lambda k: parse_kind(k).summary is not None)
        keys = [
            k
            for k in (
                next((k for k in by_rawness if _shape_family(k) == f), None) for f in SHAPE_FAMILIES
            )
            if k
        ]
        shapes = [read(k) for k in keys]
        n = len(shapes[0])
        buckets: dict[tuple, list[tuple[int, int]]] = {}
        for pos in range(n):
            if not len(shapes[0][pos]):
                what = "RCB statistics" if axis == "block" else "stage maps"
                raise ValueError(f"network at position {pos} has no {what}")
            for b in range(len(shapes[0][pos])):
                sig = tuple(tuple(np.shape(s[pos][b])) for s in shapes)
                buckets.setdefault(sig, []).append((pos, b))
        members = list(buckets.values())
        tensors: list[dict[str, torch.Tensor]] = [{} for _ in members]
        for kind in kinds:
            data = shapes[keys.index(kind)] if kind in keys else read(kind)
            dtype = kind_dtype(kind)
            for g, pairs in enumerate(members):
                tensors[g][kind] = torch.stack(
                    [torch.as_tensor(np.asarray(data[p][b]), dtype=dtype) for p, b in pairs]
                )
            del data
        groups = [
            BlockGroup(np.array([p for p, _ in pairs]), np.array([b for _, b in pairs]), t, axis)
            for pairs, t in zip(members, tensors, strict=True)
        ]
        return groups, n

    @classmethod
    def from_blocks(cls, networks: Sequence[Sequence[dict[str, object]]]) -> BlockSet:
        """From per-network lists of per-RCB ``{kind: tensor or array}`` dicts (then the
        stage-map rows, as ``eznas.runtime.capture`` gives them)."""
        if not networks or not networks[0]:
            raise ValueError("no networks or no RCBs to stack")
        kinds = {k: None for row in networks[0] for k in row}
        return cls.build(lambda k: [[r[k] for r in rows if k in r] for rows in networks], kinds)

    def subset(self, positions: Sequence[int]) -> BlockSet:
        """The networks at ``positions`` (in that order), as a new BlockSet."""
        remap = np.full(self.n_networks, -1)
        remap[np.asarray(positions)] = np.arange(len(positions))
        groups = []
        for g in self.groups:
            keep = np.flatnonzero(remap[g.net] >= 0)
            if len(keep):
                idx = torch.as_tensor(keep)
                tensors = {k: t[idx] for k, t in g.tensors.items()}
                groups.append(BlockGroup(remap[g.net[keep]], g.block[keep], tensors, g.axis))
        return BlockSet(groups, len(positions))

    def kinds(self) -> set[str]:
        """The kinds every group of their axis holds."""
        held: set[str] = set()
        for axis in {g.axis for g in self.groups}:
            held |= set.intersection(*(set(g.tensors) for g in self.groups if g.axis == axis))
        return held


def program_axis(program: Program) -> str | None:
    """The rows a program runs on (``eznas.runtime.kind_axis``); None if it mixes stage-map
    kinds with block kinds, which no row holds together."""
    axes = {kind_axis(k) for k in program.kinds} or {"block"}
    return axes.pop() if len(axes) == 1 else None


def check_shapes(program: Program, blocks: BlockSet) -> bool:
    """True if every op's shape rule holds on every shape group of ``blocks`` the program
    runs on; False if it mixes axes; ValueError if it reads a kind ``blocks`` does not hold
    (the statistics, not it, are wrong)."""
    missing = set(program.kinds) - blocks.kinds()
    if missing:
        raise ValueError(
            f"program {program} reads {', '.join(sorted(missing))}, which the statistics do "
            f"not hold (they hold {', '.join(k for k in ALL_KINDS if k in blocks.kinds())})"
        )
    axis = program_axis(program)
    if axis is None:
        return False
    try:
        for g in blocks.groups:
            if g.axis == axis:
                output_shape(program.root, g.shapes)
    except ShapeError:
        return False
    return True


def evaluate(
    programs: Sequence[Program],
    blocks: BlockSet,
    to_scalar: str = "mean",
    aggregate: str = "mean",
    *,
    per_network: bool = False,
) -> np.ndarray:
    """Scores (len(programs), n_networks) as float64; a row of NaN marks an invalid program.

    Invalid: a shape rule fails on some group, an op raises, or any score is not finite.
    Each program runs on the groups of its axis (blocks, or stage maps). ``per_network``
    (held-out tables): values that are not finite stay as they are, each network scored as
    the exported file scores it alone (a -inf logdet becomes inf under l2), so no network's
    score depends on the others evaluated with it; fitness keeps the whole-program rule.
    """
    if to_scalar not in TO_SCALAR:
        raise ValueError(f"to_scalar {to_scalar!r}; allowed: {', '.join(TO_SCALAR)}")
    if aggregate not in AGGREGATIONS:
        raise ValueError(f"aggregate {aggregate!r}; allowed: {', '.join(AGGREGATIONS)}")
    reduce = TO_SCALAR[to_scalar]
    ok = np.array([check_shapes(p, blocks) for p in programs], dtype=bool)
    axes = [program_axis(p) for p in programs]
    scores = np.full((len(programs), blocks.n_networks), np.nan)
    with torch.no_grad():
        for axis in dict.fromkeys(g.axis for g in blocks.groups):
            rows = [i for i, a in enumerate(axes) if a == axis and ok[i]]
            groups = [g for g in blocks.groups if g.axis == axis]
            if not rows:
                continue
            per_block = []
            for g in groups:
                memo: dict = {}
                values = torch.full((len(rows), len(g.net)), torch.nan, dtype=torch.float64)
                for r, i in enumerate(rows):
                    if not ok[i]:
                        continue
                    try:
                        values[r] = reduce(run(programs[i].root, g.tensors, memo).double())
                    except (RuntimeError, ValueError):
                        ok[i] = False
                if not per_network:  # NaN reads as padding below
                    ok[rows] &= torch.isfinite(values).all(1).numpy()
                per_block.append(values)
            net = torch.from_numpy(np.concatenate([g.net for g in groups]))
            block = torch.from_numpy(np.concatenate([g.block for g in groups]))
            depth = padded(torch.cat(per_block, 1), net, block, blocks.n_networks)
            scores[rows] = NET_OPS[aggregate](depth).numpy()
    scores[~ok] = np.nan
    if not per_network:
        scores[~np.isfinite(scores).all(1)] = np.nan
    return scores
