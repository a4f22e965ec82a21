"""The HDF5 statistics cache: one file per (space, dataset, pattern, batch size, seed, dtype,
raw or summaries, kinds stored).

Layout (schema 1, raw tensors)::

    /                      attrs: schema_version, space, dataset, pattern, batch_size, seed,
                                  dtype, kinds, input_source, benchmark (its name)
    /networks/<index>      one group per network (NB201 index), attrs: index, arch, accuracy,
                           params (millions), rcb_count, complete (written last)
        shapes             int64 (rows, 6, 4): per block the 4-D shape of T1, T2, T3, T4, T5
                           (T5 zeros unless stored; caches before T5 have 4 columns), then
                           per stage map (``stage_count`` rows, with T6 stored) its T6 shape
        block_names        module names of each block (debugging, cross-space checks)
        <kind> x 22        1-D: the kind's tensors of all blocks, flattened and concatenated
                           (in ``dtype``; the flow kinds T4_O, T3G_O, T4G_O always float64)

Schema 2, summaries (``collect(summaries=True)``, file name ``...-sum.h5``): the same layout
with the 28 kinds ``T3`` and ``SUMMARY_KINDS`` (see ``eznas.runtime``: channel covariances,
sample Grams, code kernels, per-sample norms of a B-sample batch) instead of the 22 raw ones.
``shapes`` still holds the 4-D shapes of the (unstored) raw T1, T2, T4 of the batch and of
T3; each summary's shape follows from its family's row (``runtime.summary_shape``: C gives
(C, C), S and K (B, B), L (B,)), so no second table is needed. Measured on 10 NB201
CIFAR-10 networks (``experiments/bench_summaries.py``, gzip): 3.9 MB per network on disk at
B = 16 and 4.7 MB at B = 32 (5.3 and 6.6 MB uncompressed, 1.55 MB of it T3; the C matrices
of the 64-channel blocks are most of the rest), where the raw tensors would take 407 and
808 MB; a raw B = 1 cache takes 21 MB. Readers take both schemas; writers and resumption
refuse to mix them in one file.

A cache may store a subset of its schema's kinds (``collect(kinds=...)``, file name
``...-k{hash}.h5``, the root ``kinds`` attribute lists them): the sample-axis kinds S, K, L
alone take about 12 KB per block at B = 16 whatever its width, while the C matrices grow with the
square of the channels (NAS-Bench-Macro's 1,536-channel blocks: 293 MB per network).

Why: the evolver reads one kind for many networks, so each (network, kind) is one contiguous
dataset (one read, split into zero-copy views by the shapes); blocks of one network vary in
shape, so a padded (block, ...) array would waste space. Chunks of <= 64 Ki elements keep
single-block reads cheap. Default filter shuffle + gzip level 1: about 32 % smaller than raw
at B = 1 (activations are dense floats; ReLU outputs and their gradients hold the zeros), but
compression costs several times the collection itself, so ``lzf`` and ``none`` trade size
for speed (readers do not care which was used).

Crash safety: nothing is ever modified in place. Each network is written to its own shard
(``<file>.parts/net-<index>.h5``) under a temporary name and renamed atomically; the cache
file itself is either the final consolidated file or a small index of HDF5 external links to
the shards, also replaced atomically after each network. A ``kill -9`` at any moment leaves
the previous complete version of every file, and readers only ever see complete networks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np
import torch

from eznas.errors import BadFileError, UnknownKeyError
from eznas.runtime import (
    ALL_KINDS,
    FAMILIES,
    FLOW_KINDS,
    KINDS,
    STAGE_KINDS,
    STAGE_MAP_KINDS,
    STAGE_MAP_SUMMARY_KINDS,
    STAGE_SUMMARY_KINDS,
    SUMMARY_KINDS,
    kind_axis,
    kind_dtype,
    parse_kind,
    summary_shape,
)

SCHEMA_VERSION = 1
SUMMARY_SCHEMA_VERSION = 2
SCHEMAS = {SCHEMA_VERSION: "raw tensors", SUMMARY_SCHEMA_VERSION: "summaries"}
SUMMARY_CACHE_KINDS: tuple[str, ...] = ("T3", *SUMMARY_KINDS)
"""What a summary cache stores: T3 (no input changes it) and the summaries."""
DTYPES = ("float32", "float16")
COMPRESSIONS: dict[str, dict] = {
    "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    "lzf": {"compression": "lzf", "shuffle": True},
    "none": {},
}
"""HDF5 filters per ``compression`` choice: gzip is compact, none is fastest to write and read."""
CHUNK = 1 << 16
ROOT_KEYS = ("space", "dataset", "pattern", "batch_size", "seed", "dtype")


def cache_name(
    space: str,
    dataset: str,
    pattern: str,
    batch_size: int,
    seed: int,
    dtype: str,
    summaries: bool = False,
    kinds: Sequence[str] | None = None,
) -> str:
    """``{space}-{dataset}-{pattern}-b{B}-s{seed}.h5``; ``-sum`` (summaries), ``-f16``
    (float16) and ``-k{hash}`` (a subset of the kinds) go before ``.h5``, so caches of one
    setting sit side by side."""
    suffix = ("-sum" if summaries else "") + ("-f16" if dtype == "float16" else "")
    if kinds is not None and tuple(kinds) != stored_kinds(summaries):
        suffix += "-k" + hashlib.sha1(",".join(kinds).encode()).hexdigest()[:8]
    return f"{space}-{dataset}-{pattern}-b{batch_size}-s{seed}{suffix}.h5"


def stored_kinds(summaries: bool) -> tuple[str, ...]:
    """The kinds a summary (or raw) cache holds by default, in storage order."""
    return SUMMARY_CACHE_KINDS if summaries else KINDS


def storable_kinds(summaries: bool) -> tuple[str, ...]:
    """The kinds a summary (or raw) cache may hold: the default ones, then the opt-in stage
    inputs (``T5``) and stage maps (``T6``), or their channel covariances, and, raw, the flow
    kinds, in storage order."""
    if summaries:
        return stored_kinds(True) + STAGE_SUMMARY_KINDS + STAGE_MAP_SUMMARY_KINDS
    return stored_kinds(False) + STAGE_KINDS + FLOW_KINDS + STAGE_MAP_KINDS


def _family(kind: str) -> int:
    return FAMILIES.index(parse_kind(kind).family)


def _plain(value):
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic(path: Path, fill) -> None:
    """Write an HDF5 file with ``fill(h5file)`` under a temporary name, then rename it."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as handle:
            fill(handle)
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _set_root(handle: h5py.File, attrs: Mapping) -> None:
    handle.attrs.update({k: attrs[k] for k in (*ROOT_KEYS, "input_source", "benchmark")})
    summaries = attrs.get("summaries", False)
    handle.attrs["kinds"] = list(attrs["kinds"])
    handle.attrs["schema_version"] = SUMMARY_SCHEMA_VERSION if summaries else SCHEMA_VERSION
    handle.require_group("networks")


def write_shard(
    path: Path,
    attrs: Mapping,
    meta: Mapping,
    stats: list[dict[str, torch.Tensor]],
    names: list[str],
    compression: str = "gzip",
    shapes: np.ndarray | None = None,
) -> None:
    """Atomically write one network's group (all kinds the cache stores) into its own shard.

    ``stats`` are ``capture``'s rows: one per block (``names``), then one per stage map.
    ``shapes`` (rows, families, 4) are the raw tensors' shapes; a raw cache's own tensors
    give them, a summary cache must pass them (its summaries do not hold H and W).
    """
    dtype = np.dtype(attrs["dtype"])
    filters = COMPRESSIONS[compression]
    if shapes is None:
        shapes = np.zeros((len(stats), len(FAMILIES), 4), dtype=np.int64)
        for b, block in enumerate(stats):
            for kind, tensor in block.items():
                shapes[b, _family(kind)] = tensor.shape

    def fill(handle: h5py.File) -> None:
        _set_root(handle, attrs)
        group = handle["networks"].create_group(str(meta["index"]))
        group.create_dataset("shapes", data=np.asarray(shapes, dtype=np.int64))
        group.create_dataset("block_names", data=np.array(names, dtype=h5py.string_dtype()))
        for kind in attrs["kinds"]:
            flat = [row[kind].reshape(-1).numpy() for row in stats if kind in row]
            stored = np.float64 if kind_dtype(kind) == torch.float64 else dtype
            data = np.concatenate(flat).astype(stored, copy=False) if flat else np.zeros(0, stored)
            parts = max(1, -(-data.size // CHUNK))
            chunks = (max(1, -(-data.size // parts)),)
            group.create_dataset(kind, data=data, chunks=chunks, **filters)
        group.attrs.update({k: meta[k] for k in ("index", "arch", "accuracy", "params")})
        group.attrs["rcb_count"] = len(names)
        group.attrs["stage_count"] = len(stats) - len(names)
        group.attrs["complete"] = True

    _atomic(path, fill)


def complete_networks(handle: h5py.File) -> list[int]:
    """Indices of the complete network groups of an open file (dangling links skipped)."""
    groups = handle.get("networks")
    if groups is None:
        return []
    found = []
    for name in groups:
        group = groups.get(name)
        if group is not None and group.attrs.get("complete", False):
            found.append(int(name))
    return sorted(found)


def write_index(path: Path, attrs: Mapping, members: Mapping[int, Path]) -> None:
    """Atomically write the cache file as external links to the networks in ``members``."""

    def fill(handle: h5py.File) -> None:
        _set_root(handle, attrs)
        for index, shard in sorted(members.items()):
            rel = os.path.relpath(shard, path.parent)
            handle["networks"][str(index)] = h5py.ExternalLink(rel, f"/networks/{index}")

    _atomic(path, fill)


def consolidate(path: Path, attrs: Mapping, members: Mapping[int, Path]) -> None:
    """Atomically replace the cache file by a self-contained copy of all ``members``."""

    def fill(handle: h5py.File) -> None:
        _set_root(handle, attrs)
        for index, shard in sorted(members.items()):
            with h5py.File(shard, "r") as src:
                src.copy(src[f"networks/{index}"], handle["networks"], name=str(index))

    _atomic(path, fill)


def check_attrs(found: Mapping, expected: Mapping, where: Path) -> None:
    """Refuse to mix statistics collected with different settings or schema in one file;
    ``expected`` may hold ``summaries`` (bool), which the schema version answers."""
    version = _plain(found.get("schema_version"))
    if version not in SCHEMAS:
        raise ValueError(
            f"{where} has schema version {version}, this eznas reads "
            f"{' and '.join(f'{v} ({what})' for v, what in SCHEMAS.items())}; "
            "collect it again with this version"
        )
    if "summaries" in expected:
        want = SUMMARY_SCHEMA_VERSION if expected["summaries"] else SCHEMA_VERSION
        if version != want:
            raise BadFileError(
                f"{where} holds {SCHEMAS[version]} (schema {version}), not {SCHEMAS[want]} "
                f"(schema {want}); give another --out or file name"
            )
    for key, value in {k: v for k, v in expected.items() if k != "summaries"}.items():
        if _plain(found.get(key)) != value:
            raise BadFileError(f"{where} has {key}={_plain(found.get(key))!r}, expected {value!r}")


class StatsCache:
    """Read-only view of a statistics cache; only networks marked complete are visible."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"no statistics cache at {self.path}; create one with `eznas collect`"
            )
        try:
            self.file = h5py.File(self.path, "r")
        except OSError as err:
            raise _unreadable(self.path, err) from None
        try:
            check_attrs(self.file.attrs, {}, self.path)
            self.attrs: dict = {k: _plain(v) for k, v in self.file.attrs.items()}
            self.summaries = self.attrs["schema_version"] == SUMMARY_SCHEMA_VERSION
            self.kinds: tuple[str, ...] = tuple(self.attrs["kinds"])
            unknown = set(self.kinds) - set(ALL_KINDS)
            if unknown:
                raise BadFileError(f"{self.path} holds unknown kinds {sorted(unknown)}")
            self._index = complete_networks(self.file)
        except (ValueError, OSError, KeyError) as err:
            self.file.close()
            raise err if isinstance(err, ValueError) else _unreadable(self.path, err) from None
        self._offsets: dict[tuple[int, str], np.ndarray] = {}

    def __enter__(self) -> StatsCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()

    def networks(self) -> list[int]:
        """NB201 indices of the complete networks, ascending."""
        return list(self._index)

    def _group(self, index: int) -> h5py.Group:
        if int(index) not in self._index:
            raise UnknownKeyError(
                f"network {index} is not in {self.path} (it has {len(self._index)} complete "
                f"networks: {self._index[:5]}{'...' if len(self._index) > 5 else ''})"
            )
        return self.file["networks"][str(int(index))]

    def meta(self, index: int) -> dict:
        """index, arch, accuracy, params (millions) and rcb_count of one network."""
        attrs = self._group(index).attrs
        return {k: _plain(attrs[k]) for k in ("index", "arch", "accuracy", "params", "rcb_count")}

    def block_names(self, index: int) -> list[str]:
        return list(self._group(index)["block_names"].asstr()[()])

    def shapes(self, kind: str, index: int) -> list[tuple[int, ...]]:
        """Per block (per stage map for T6 kinds), the shape of ``kind`` in network ``index``
        (no tensor data read)."""
        self._check_kind(kind)
        group = self._group(index)
        blocks = int(group.attrs["rcb_count"])
        rows = group["shapes"][:, _family(kind)].tolist()
        rows = rows[blocks:] if kind_axis(kind) == "stage" else rows[:blocks]
        return [summary_shape(kind, tuple(s)) for s in rows]

    def _bounds(self, index: int, kind: str) -> np.ndarray:
        key = (index, kind)
        if key not in self._offsets:
            sizes = [int(np.prod(s)) for s in self.shapes(kind, index)]
            self._offsets[key] = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        return self._offsets[key]

    def _check_kind(self, kind: str) -> None:
        if kind not in self.kinds:
            what = "unknown tensor kind" if kind not in ALL_KINDS else "tensor kind"
            raise UnknownKeyError(
                f"{what} {kind!r} is not in {self.path}; it holds: {', '.join(self.kinds)}"
            )

    def read(
        self, kind: str, indices: list[int] | np.ndarray, blocks: list[int] | None = None
    ) -> list[list[np.ndarray]]:
        """``kind`` per network in ``indices``: a list of per-block arrays (all, or ``blocks``)."""
        self._check_kind(kind)
        try:
            return self._read(kind, indices, blocks)
        except OSError as err:
            raise _unreadable(self.path, err) from None

    def _read(
        self, kind: str, indices: list[int] | np.ndarray, blocks: list[int] | None
    ) -> list[list[np.ndarray]]:
        out = []
        for index in indices:
            index = int(index)
            data = self._group(index)[kind]
            shapes = self.shapes(kind, index)
            bounds = self._bounds(index, kind)
            if blocks is None:
                flat = data[()]
                out.append(
                    [
                        flat[a:b].reshape(s)
                        for a, b, s in zip(bounds, bounds[1:], shapes, strict=False)
                    ]
                )
            else:
                picked = [self._block(b, len(shapes), index) for b in blocks]
                out.append([data[bounds[b] : bounds[b + 1]].reshape(shapes[b]) for b in picked])
        return out

    @staticmethod
    def _block(b: int, count: int, index: int) -> int:
        if not -count <= b < count:
            raise IndexError(f"block {b} of network {index}, which has {count} blocks")
        return b % count

    def iter_blocks(self, index: int) -> Iterator[dict[str, np.ndarray]]:
        """Each block of network ``index`` as {kind: array} (its block kinds), reading each
        kind once."""
        kinds = [k for k in self.kinds if kind_axis(k) == "block"]
        per_kind = {kind: self.read(kind, [index])[0] for kind in kinds}
        for b in range(self.meta(index)["rcb_count"]):
            yield {kind: arrays[b] for kind, arrays in per_kind.items()}


def _unreadable(path: Path, err: Exception) -> BadFileError:
    """One line for a file h5py cannot read: not HDF5, cut short, or damaged."""
    why = str(err).splitlines()[0] if str(err) else type(err).__name__
    return BadFileError(
        f"{path} is not a readable statistics cache ({why}); collect it again with `eznas collect`"
    )


def open_cache(path: str | os.PathLike) -> StatsCache:
    """Open a statistics cache for reading (use as a context manager)."""
    return StatsCache(path)
