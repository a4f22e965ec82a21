"""``collect``: sample networks, gather their statistics in parallel, resume, consolidate.

Workers build, collect and write their own shard (compression runs in parallel, tensors never
travel between processes); the parent only rewrites the small link index after each network
and finally consolidates everything into one self-contained file (see ``cache``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import torch
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from eznas.benchmark.benchmarks import Benchmark, as_benchmark
from eznas.data import Batches, make_batches
from eznas.errors import BadFileError
from eznas.runtime import (
    FAMILIES,
    check_pattern,
    find_blocks,
    match_kinds,
    parse_kind,
    stage_maps,
)
from eznas.spaces import SearchSpace
from eznas.spaces.cost import count_params
from eznas.stats.cache import (
    COMPRESSIONS,
    DTYPES,
    ROOT_KEYS,
    cache_name,
    check_attrs,
    complete_networks,
    consolidate,
    storable_kinds,
    stored_kinds,
    write_index,
    write_shard,
)
from eznas.stats.collector import collect_named


def sample_networks(size: int, n: int, seed: int) -> np.ndarray:
    """``n`` distinct indices out of ``size``, sorted: the same draw as ``correlation``'s."""
    if not 1 <= n <= size:
        raise ValueError(f"n must be in 1..{size}, got {n}")
    return np.sort(np.random.default_rng(seed).choice(size, size=n, replace=False))


@contextmanager
def _locked(folder: Path):
    """Exclusive, non-blocking lock on ``folder`` (released by the kernel even on kill -9)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BadFileError(f"another `eznas collect` is writing {folder}") from None
        yield
    finally:
        os.close(fd)


def _is_index(handle: h5py.File) -> bool:
    groups = handle.get("networks")
    return groups is not None and any(
        isinstance(groups.get(name, getlink=True), h5py.ExternalLink) for name in groups
    )


def _collect_one(
    space: SearchSpace,
    arch: str,
    meta: dict,
    batches: Batches,
    attrs: dict,
    shard: Path,
    compression: str,
) -> tuple[int, Path]:
    """Build, collect and write one network on one torch thread (B = 1 convs gain little from
    intra-op threads, and on a shared machine extra threads mostly wait for each other).

    Summaries keep no spatial sizes, so a summary cache takes the raw shapes from one more
    no-grad forward pass of D (after the capture, which it cannot change).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(attrs["seed"])
        model = space.build(arch, attrs["dataset"])
        kinds = attrs["kinds"]
        names, stats = collect_named(model, batches, attrs["pattern"], kinds)
        shapes = None
        if attrs["summaries"]:
            stages = any(parse_kind(k).family == "T5" for k in kinds)
            blocks = find_blocks(model, batches.D, attrs["pattern"], stages)
            if [b.name for b in blocks] != names:
                raise RuntimeError(f"blocks of {arch} differ between two forward passes")
            own = [f for f in FAMILIES if f != "T6" and (stages or f != "T5")]
            shapes = [
                [b.tensor(f).shape if f in own else (0,) * 4 for f in FAMILIES] for b in blocks
            ]
            if len(stats) > len(names):  # stage-map rows: their T6 shapes
                for stage in stage_maps(model, batches.D, attrs["pattern"]):
                    shapes.append([stage.shape if f == "T6" else (0,) * 4 for f in FAMILIES])
            shapes = np.array(shapes)
        meta = {**meta, "params": count_params(model)}
        write_shard(shard, attrs, meta, stats, names, compression, shapes)
    finally:
        torch.set_num_threads(threads)
    return meta["index"], shard


def collect(
    benchmark: Benchmark | str = "nb201",
    dataset: str | None = None,
    n: int = 80,
    seed: int = 0,
    batch_size: int = 1,
    indices: list[int] | None = None,
    pattern: str | None = None,
    dtype: str = "float32",
    out: str | os.PathLike = "statistics_cache",
    jobs: int = 1,
    progress: bool = True,
    compression: str = "gzip",
    summaries: bool = False,
    kinds: list[str] | None = None,
) -> Path:
    """Collect the 22 statistics of ``n`` seeded-sampled (or given) networks into the cache.

    ``indices`` are rows of the benchmark's table; ``pattern`` defaults to the space's own
    block pattern. Re-running skips networks already in the file, so an interrupted run is
    finished by running the same call again. ``compression`` (gzip, lzf, none) only changes
    the size and speed, not the content. ``summaries`` stores T3 and the summary kinds of
    ``eznas.runtime`` (covariances, Grams, code kernels, norms over the B samples) instead
    of the raw tensors, in a ``-sum.h5`` file: the way to keep a sample axis at B >= 16.
    ``kinds`` (shell patterns such as ``S_*``) keeps only the matching kinds, in a file named
    with ``-k{hash}``: summaries of wide networks are mostly C x C channel covariances, so
    leaving them out makes such caches far smaller and quicker. Returns the cache's path.
    """
    bench = as_benchmark(benchmark)
    space, table, dataset = bench.space, bench.table, bench.dataset(dataset)
    pattern = pattern or space.block_pattern
    check_pattern(pattern)
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}; allowed: {', '.join(DTYPES)}")
    if summaries and dtype != "float32":
        raise ValueError(
            "summaries are stored as float32: gradient covariances and Grams (1e-11 and far "
            "below on NB201) would underflow float16"
        )
    stored = stored_kinds(summaries)
    what = f"kind a {'summary' if summaries else 'raw'} cache stores"
    chosen = match_kinds(kinds or [], storable_kinds(summaries), what) or stored
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression {compression!r}; allowed: {', '.join(COMPRESSIONS)}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if indices is None:
        wanted = [int(i) for i in sample_networks(len(table), n, seed)]
    else:
        wanted = sorted({int(i) for i in indices})
        bad = [i for i in wanted if not 0 <= i < len(table)]
        if bad:
            raise ValueError(f"indices {bad} out of range 0..{len(table) - 1}")
    batches = make_batches(dataset, batch_size, seed, bench.data_dir)
    attrs = {
        "space": space.id,
        "dataset": dataset,
        "pattern": pattern,
        "batch_size": batch_size,
        "seed": seed,
        "dtype": dtype,
        "summaries": summaries,
        "kinds": list(chosen),
    }
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / cache_name(
        space.id, dataset, pattern, batch_size, seed, dtype, summaries, chosen
    )
    parts = path.with_name(path.name + ".parts")
    consolidated = False
    if path.exists():
        with h5py.File(path, "r") as handle:
            check_attrs(handle.attrs, attrs, path)
            consolidated = not _is_index(handle)
            missing = set(wanted) - set(complete_networks(handle))
        if consolidated and not missing:
            shutil.rmtree(parts, ignore_errors=True)
            return path
    attrs["input_source"] = batches.source
    attrs["benchmark"] = bench.name
    parts.mkdir(exist_ok=True)
    with _locked(parts):
        for stale in [*parts.iterdir(), *folder.glob(path.name + ".tmp*")]:
            if consolidated or ".tmp" in stale.name:
                stale.unlink()
        if consolidated:
            _link_or_copy(path, parts / "base.h5")
        members = _scan(parts, attrs)
        todo = [i for i in wanted if i not in members]
        write_index(path, attrs, members)
        meter = tqdm(
            total=len(wanted),
            initial=len(wanted) - len(todo),
            desc="networks collected",
            unit="net",
            disable=not progress,
        )
        tasks = (
            delayed(_collect_one)(
                space,
                table.arch(i),
                {"index": i, "arch": table.arch(i), "accuracy": table.accuracy(i, dataset)},
                batches,
                attrs,
                parts / f"net-{i:05d}.h5",
                compression,
            )
            for i in todo
        )
        for index, shard in Parallel(n_jobs=jobs, return_as="generator_unordered")(tasks):
            members[index] = shard
            write_index(path, attrs, members)
            meter.update()
        meter.close()
        consolidate(path, attrs, members)
        shutil.rmtree(parts)
    return path


def _link_or_copy(source: Path, target: Path) -> None:
    """Keep a consolidated file's networks as a shard without copying them where possible."""
    try:
        os.link(source, target)
    except OSError:
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)


def _scan(parts: Path, attrs: dict) -> dict[int, Path]:
    """Complete networks available in the shard folder: {index: shard file}."""
    members: dict[int, Path] = {}
    expected = {k: attrs[k] for k in (*ROOT_KEYS, "summaries", "kinds")}
    for shard in sorted(parts.glob("*.h5")):
        with h5py.File(shard, "r") as handle:
            check_attrs(handle.attrs, expected, shard)
            for index in complete_networks(handle):
                members.setdefault(index, shard)
    return members
