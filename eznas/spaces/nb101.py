"""NAS-Bench-101 (Ying et al., 2019): cells are DAGs of at most 7 vertices and 9 edges.

Arch string: the vertex ops, then the adjacency matrix rows, e.g.
``in-c3-c1-mp-out|01100.00010.00010.00001.00000`` (``c3`` conv3x3-bn-relu, ``c1``
conv1x1-bn-relu, ``mp`` maxpool3x3; row i lists the edges i -> j). Like NASBench's
ModelSpec, vertices not on an input -> output path are pruned: the canonical string is
the pruned graph, so the 7 x 7 specs NAS-Bench-Suite-Zero stores (with dangling vertices)
and their pruned forms name the same arch; the 9-edge limit applies after pruning.

The key is NASBench's own graph hash (``hash_module``: iterated MD5 of in/out degrees and
op labels over in- and out-neighbours), equal for isomorphic cells. The space is not
enumerated (423,624 unique cells); benchmarks restrict it to their labelled archs.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from torch import nn

from eznas.data.datasets import dataset_info
from eznas.spaces.base import SearchSpace, register_space
from eznas.spaces.nb101_net import NB101Network

OPS: tuple[str, ...] = ("c3", "c1", "mp")
"""Interior ops in NASBench's ``available_ops`` order (their index is the hash label)."""
OP_NAMES = {"c3": "conv3x3-bn-relu", "c1": "conv1x1-bn-relu", "mp": "maxpool3x3"}
MAX_VERTICES = 7
MAX_EDGES = 9
NASLIB_OPS = ("in", "out", "mp", "c1", "c3")
"""NAS-Bench-Suite-Zero's op codes 0..4 (NASLib's ``all_ops``)."""
_ROW = re.compile(r"^[01]+$")

Spec = tuple[np.ndarray, tuple[str, ...]]


def parse_arch(arch: str) -> Spec:
    """Adjacency matrix and ops of an arch string, unpruned; ValueError quotes the bad part."""
    if not isinstance(arch, str):
        raise ValueError(f"NB101 arch must be a string, got {type(arch).__name__}: {arch!r}")
    parts = arch.strip().split("|")
    if len(parts) != 2:
        raise ValueError(f"NB101 arch {arch!r} must be '<ops>|<rows>' like 'in-c3-out|011.001.000'")
    ops = tuple(parts[0].split("-"))
    rows = parts[1].split(".")
    n = len(ops)
    if not 2 <= n <= MAX_VERTICES:
        raise ValueError(f"NB101 arch {arch!r}: {n} vertices in {parts[0]!r}; allowed 2..7")
    if ops[0] != "in" or ops[-1] != "out":
        raise ValueError(f"NB101 arch {arch!r}: ops {parts[0]!r} must start 'in' and end 'out'")
    for op in ops[1:-1]:
        if op not in OPS:
            raise ValueError(
                f"NB101 arch {arch!r}: unknown op {op!r}; allowed: "
                + ", ".join(f"{k} ({v})" for k, v in OP_NAMES.items())
            )
    if len(rows) != n:
        raise ValueError(f"NB101 arch {arch!r}: {len(rows)} matrix rows for {n} ops")
    for i, row in enumerate(rows):
        if len(row) != n or not _ROW.match(row):
            raise ValueError(f"NB101 arch {arch!r}: row {i} {row!r} must be {n} digits 0/1")
        if "1" in row[: i + 1]:
            raise ValueError(
                f"NB101 arch {arch!r}: row {i} {row!r} has an edge at or below the diagonal "
                "(the matrix must be upper-triangular)"
            )
    matrix = np.array([[int(c) for c in row] for row in rows], dtype=np.int64)
    return matrix, ops


def format_arch(matrix: np.ndarray, ops: tuple[str, ...] | list[str]) -> str:
    return "-".join(ops) + "|" + ".".join("".join(str(int(b)) for b in row) for row in matrix)


def prune(matrix: np.ndarray, ops: tuple[str, ...]) -> Spec:
    """Drop vertices not on an input -> output path (NASBench's ModelSpec._prune)."""
    n = len(matrix)
    forward, backward = {0}, {n - 1}
    for v in range(1, n):
        if any(matrix[u, v] for u in forward):
            forward.add(v)
    for v in range(n - 2, -1, -1):
        if any(matrix[v, w] for w in backward):
            backward.add(v)
    keep = sorted(forward & backward)
    if 0 not in keep or n - 1 not in keep:
        raise ValueError(f"NB101 cell {format_arch(matrix, ops)!r}: no path from input to output")
    return matrix[np.ix_(keep, keep)], tuple(ops[v] for v in keep)


def canonical_spec(arch: str) -> Spec:
    """The pruned (matrix, ops) of a valid arch; ValueError when NB101 does not contain it."""
    matrix, ops = prune(*parse_arch(arch))
    edges = int(matrix.sum())
    if edges > MAX_EDGES:
        raise ValueError(
            f"NB101 arch {arch!r} has {edges} edges after pruning; NB101 allows at most {MAX_EDGES}"
        )
    return matrix, ops


def graph_hash(matrix: np.ndarray, ops: tuple[str, ...]) -> str:
    """NASBench's isomorphism-invariant hash of a pruned cell (``graph_util.hash_module``).

    Each vertex starts from the MD5 of (out-degree, in-degree, label), label -1 input, -2
    output, else the op's index in OPS; then, as many rounds as there are vertices, a
    vertex's hash becomes the MD5 of its sorted in-neighbour hashes, its sorted
    out-neighbour hashes and its own. The cell's hash is the MD5 of the sorted final hashes.
    """
    n = len(matrix)
    labels = [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2]
    out_degree = [int(x) for x in matrix.sum(axis=1)]
    in_degree = [int(x) for x in matrix.sum(axis=0)]
    hashes = [_md5(str(h)) for h in zip(out_degree, in_degree, labels, strict=True)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[u] for u in range(n) if matrix[u, v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(n) if matrix[v, w]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def from_naslib(key: str | tuple[int, ...]) -> str:
    """The canonical arch of a NAS-Bench-Suite-Zero key (49 matrix entries, 7 op codes)."""
    values = tuple(int(x) for x in key.strip("()").split(",")) if isinstance(key, str) else key
    if len(values) != MAX_VERTICES * (MAX_VERTICES + 1):
        raise ValueError(f"NASLib NB101 key {key!r} must hold 49 matrix entries and 7 op codes")
    matrix = np.array(values[:49], dtype=np.int64).reshape(MAX_VERTICES, MAX_VERTICES)
    ops = tuple(NASLIB_OPS[c] for c in values[49:])
    return format_arch(*canonical_spec(format_arch(matrix, ops)))


def padded(arch: str) -> Spec:
    """The pruned cell on 7 vertices (output moved last, unused vertices edgeless ``c3``):
    the fixed-size form mutation, crossover and ``encode`` work on."""
    matrix, ops = canonical_spec(arch)
    n = len(matrix)
    index = list(range(n - 1)) + [MAX_VERTICES - 1]
    full = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    full[np.ix_(index, index)] = matrix
    full_ops = list(ops[:-1]) + ["c3"] * (MAX_VERTICES - n) + ["out"]
    return full, tuple(full_ops)


def _try(matrix: np.ndarray, ops: tuple[str, ...] | list[str]) -> str | None:
    """The canonical string of a 7-vertex spec, or None if NB101 does not contain it."""
    try:
        return format_arch(*canonical_spec(format_arch(matrix, ops)))
    except ValueError:
        return None


UPPER = np.triu_indices(MAX_VERTICES, k=1)
TRIES = 1000


@register_space("nb101")
class NB101Space(SearchSpace):
    """NB101 cells; ``sample`` draws 7-vertex specs as NASBench's ``random_spec`` does
    (each edge with probability 1/2, uniform ops, rejecting invalid ones), which is not
    uniform over unique cells."""

    block_pattern = "cbr"

    def validate(self, arch: str) -> str:
        return format_arch(*canonical_spec(arch))

    def encode(self, arch: str) -> np.ndarray:
        """21 upper-triangle edge bits then 5 interior op indices of the padded cell;
        padding vertices get op -1 so that they differ from every real op."""
        interior = len(canonical_spec(arch)[1]) - 2
        full, full_ops = padded(arch)
        codes = [OPS.index(op) if v <= interior else -1 for v, op in enumerate(full_ops[1:-1], 1)]
        return np.concatenate([full[UPPER], codes])

    def sample(self, rng: np.random.Generator) -> str:
        ops = ["in", "", "", "", "", "", "out"]
        for _ in range(TRIES):
            matrix = np.triu(rng.integers(2, size=(MAX_VERTICES, MAX_VERTICES)), k=1)
            ops[1:-1] = [OPS[i] for i in rng.integers(len(OPS), size=MAX_VERTICES - 2)]
            arch = _try(matrix, ops)
            if arch is not None:
                return arch
        raise RuntimeError(f"no valid NB101 cell in {TRIES} random draws")

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Flip one edge or change one op of the padded cell, until a valid cell of another
        key (an isomorphic relabelling would be the same network again).

        Some cells have no such neighbour (input -> output alone needs two new edges to
        gain a vertex), so after a third of the tries two decisions change, then three.
        """
        arch = self.validate(arch)
        parent = self.key(arch)
        base_matrix, base_ops = padded(arch)
        decisions = len(UPPER[0]) + MAX_VERTICES - 2
        for attempt in range(TRIES):
            matrix, ops = base_matrix.copy(), list(base_ops)
            for d in rng.choice(decisions, size=1 + 3 * attempt // TRIES, replace=False):
                if d < len(UPPER[0]):
                    matrix[UPPER[0][d], UPPER[1][d]] ^= 1
                else:
                    v = int(d) - len(UPPER[0]) + 1
                    ops[v] = str(rng.choice([op for op in OPS if op != ops[v]]))
            child = _try(matrix, ops)
            if child is not None and self.key(child) != parent:
                return child
        raise RuntimeError(f"no valid NB101 mutant of {arch!r} in {TRIES} tries")

    def crossover(self, a: str, b: str, rng: np.random.Generator) -> str:
        """Each edge and op from either padded parent, until valid (else parent ``a``)."""
        (ma, oa), (mb, ob) = padded(a), padded(b)
        for _ in range(TRIES):
            edges = rng.random(ma.shape) < 0.5
            take = rng.random(MAX_VERTICES) < 0.5
            ops = [x if t else y for x, y, t in zip(oa, ob, take, strict=True)]
            child = _try(np.where(edges, ma, mb), ops)
            if child is not None:
                return child
        return self.validate(a)

    def key(self, arch: str) -> str:
        return graph_hash(*canonical_spec(arch))

    def build(self, arch: str, dataset: str) -> nn.Module:
        matrix, ops = canonical_spec(arch)
        return NB101Network(matrix, ops, dataset_info(dataset).num_classes)
