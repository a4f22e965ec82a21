"""The run folder: ``config.json``, ``log.jsonl`` (one line per generation), ``checkpoint.json``.

Everything is JSON (programs as DEAP tree strings, fitnesses, the RNG state), never pickle,
so anyone can open someone else's run without executing code. The checkpoint is written to
a temporary file and renamed over the old one, so a ``kill -9`` leaves the previous
generation's checkpoint intact and loses at most the generation in progress.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from eznas.files import write_atomic

CONFIG, LOG, CHECKPOINT = "config.json", "log.jsonl", "checkpoint.json"
CHOICES = "choices.json"  # the hall-of-fame entries chosen on task / validation networks


def write_json(path: Path, content: dict) -> None:
    """Atomic write: temporary file in the same folder, fsync, rename."""
    write_atomic(path, json.dumps(content, indent=1))


def read_json(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {path.parent} a run folder?")
    return json.loads(path.read_text())


def append_log(folder: Path, entry: dict) -> None:
    """One JSON line per generation; lines past the checkpoint are trimmed on resume."""
    with (folder / LOG).open("a") as handle:
        handle.write(json.dumps(entry) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_log(folder: Path) -> list[dict]:
    path = Path(folder) / LOG
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by kill -9; its generation reruns
            continue
    return entries


def trim_log(folder: Path, generation: int) -> None:
    """Drop log lines of generations after ``generation`` (written before a crash)."""
    kept = [e for e in read_log(folder) if e["generation"] <= generation]
    write_atomic(Path(folder) / LOG, "".join(json.dumps(e) + "\n" for e in kept))


def encode_fitness(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def decode_fitness(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def encode_random_state(state: tuple) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def decode_random_state(state: list) -> tuple:
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
