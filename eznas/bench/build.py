"""Build a benchmark: train sampled architectures and write an NB201-format accuracy CSV.

Results are appended, one JSON line per trained network, to ``<out>.partial.jsonl`` (after
a header naming the training setup) and fsynced, so a killed build loses at most the
networks in flight; rerunning the same command skips what is done. The CSV
(``index,arch,<dataset>``) and a sidecar ``<out>.json`` (recipe, space options, seeds,
command, seed-to-seed Kendall tau, build time) are written atomically once every network
is trained.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from eznas.bench.train import Recipe, split_data, train_and_test
from eznas.files import write_atomic
from eznas.metrics import kendall
from eznas.spaces import get_space


@dataclass(frozen=True)
class BenchmarkSpec:
    space: str = "nb201"
    dataset: str = "digits"
    n: int = 1000
    seed: int = 0
    channels: int = 8
    cells: int = 1
    noise_subset: int = 100  # networks also trained with the next ``seeds`` seeds
    recipe: Recipe = Recipe()
    seeds: int = 1  # each accuracy is the mean over this many training seeds

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")

    def first_seeds(self) -> range:
        return range(self.seed, self.seed + self.seeds)

    def second_seeds(self) -> range:
        """The independent repeat that measures the table's own noise."""
        return range(self.seed + self.seeds, self.seed + 2 * self.seeds)

    def space_options(self) -> dict:
        return {"channels": self.channels, "cells": self.cells}


def sample_archs(spec: BenchmarkSpec) -> list[str]:
    """``n`` distinct archs drawn by ``seed`` (every arch when n covers the space)."""
    space = get_space(spec.space, **spec.space_options())
    if spec.n >= len(space):
        return list(space)
    rng = np.random.default_rng(spec.seed)
    seen: dict[str, None] = {}
    while len(seen) < spec.n:
        seen.setdefault(space.sample(rng), None)
    return list(seen)


def _train_chunk(spec: BenchmarkSpec, jobs: list[tuple[str, int]], data_dir) -> list[dict]:
    torch.set_num_threads(1)
    space = get_space(spec.space, **spec.space_options())
    data = split_data(spec.dataset, spec.recipe, data_dir)
    rows = []
    for arch, seed in jobs:
        start = time.perf_counter()
        accuracy = train_and_test(space, arch, spec.dataset, data, spec.recipe, seed)
        seconds = time.perf_counter() - start
        rows.append({"arch": arch, "seed": seed, "accuracy": accuracy, "seconds": seconds})
    return rows


def _training_setup(spec: BenchmarkSpec) -> dict:
    """What a trained row depends on (not n or seeds: rows are per arch and seed)."""
    return {
        "space": spec.space,
        "space_options": spec.space_options(),
        "dataset": spec.dataset,
        "recipe": spec.recipe.as_dict(),
    }


def _read_partial(path: Path, spec: BenchmarkSpec) -> dict[tuple[str, int], dict]:
    """Rows of an earlier, interrupted build; refuses a log of another training setup."""
    done: dict[tuple[str, int], dict] = {}
    if not path.exists() or not path.stat().st_size:
        path.write_text(json.dumps({"setup": _training_setup(spec)}) + "\n")
        return done
    for number, line in enumerate(path.read_text().splitlines()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        if number == 0:
            if row.get("setup") != json.loads(json.dumps(_training_setup(spec))):
                raise ValueError(
                    f"{path} holds networks trained with another setup ({row.get('setup')}); "
                    f"delete it or choose another --out"
                )
            continue
        done[(row["arch"], row["seed"])] = row
    return done


def build_benchmark(
    spec: BenchmarkSpec,
    out: str | os.PathLike,
    *,
    jobs: int = 1,
    data_dir: str | os.PathLike | None = None,
    progress: bool = True,
    command: str | None = None,
) -> Path:
    """Train every network of ``spec`` (resuming a partial build) and write the CSV."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    archs = sample_archs(spec)
    todo = [(a, s) for a in archs for s in spec.first_seeds()]
    todo += [(a, s) for a in archs[: spec.noise_subset] for s in spec.second_seeds()]
    partial = out.with_name(out.name + ".partial.jsonl")
    done = _read_partial(partial, spec)
    missing = [job for job in todo if job not in done]
    started = time.perf_counter()
    meter = tqdm(
        total=len(todo),
        initial=len(todo) - len(missing),
        desc="networks trained",
        unit="net",
        disable=not progress,
    )
    chunk = max(1, min(8, len(missing) // max(1, 4 * jobs)))
    with partial.open("a") as log, Parallel(n_jobs=jobs, return_as="generator") as parallel:
        calls = (
            delayed(_train_chunk)(spec, missing[i : i + chunk], data_dir)
            for i in range(0, len(missing), chunk)
        )
        for rows in parallel(calls):
            for row in rows:
                log.write(json.dumps(row) + "\n")
                done[(row["arch"], row["seed"])] = row
            log.flush()
            os.fsync(log.fileno())
            meter.update(len(rows))
    meter.close()

    def mean_accuracy(arch: str, seeds: range) -> float:
        return float(np.mean([done[(arch, s)]["accuracy"] for s in seeds]))

    first = np.array([mean_accuracy(a, spec.first_seeds()) for a in archs])
    noise = archs[: spec.noise_subset]
    second = np.array([mean_accuracy(a, spec.second_seeds()) for a in noise])
    lines = [f"index,arch,{spec.dataset}"]
    lines += [f"{i},{a},{acc:.4f}" for i, (a, acc) in enumerate(zip(archs, first, strict=True))]
    write_atomic(out, "\n".join(lines) + "\n")
    sidecar = {
        "space": spec.space,
        "space_options": spec.space_options(),
        "dataset": spec.dataset,
        "n": len(archs),
        "seed": spec.seed,
        "seeds": spec.seeds,
        "recipe": spec.recipe.as_dict(),
        "noise_subset": len(noise),
        "seed_to_seed_kendall": kendall(first[: len(noise)], second) if len(noise) > 1 else None,
        "train_seconds_total": float(sum(r["seconds"] for r in done.values())),
        "wall_seconds_last_session": time.perf_counter() - started,
        "command": command or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    write_atomic(out.with_suffix(".json"), json.dumps(sidecar, indent=2) + "\n")
    return out
