"""Score architectures with proxies, once: a persistent score cache and a Scorer on top.

Correlation reports and searches both ask "what is proxy p of arch a on dataset d with seed
s?" many times; the SQLite cache answers repeats instantly, survives interruption (each
score is committed as it is computed) and is safe to share between worker processes. It
also keeps the seconds each score cost, so a warm run can still report cold compute time.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import torch

from eznas.data import data_batch
from eznas.proxies.base import Proxy, get_proxy
from eznas.proxies.combo import Combo
from eznas.spaces import SearchSpace, get_space

DEFAULT_CACHE = Path("score_cache") / "scores.sqlite"


class ScoreCache:
    """(space, dataset, proxy key, seed, arch) -> (score, seconds) in one SQLite file."""

    def __init__(self, path: str | os.PathLike = DEFAULT_CACHE):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS scores (space TEXT, dataset TEXT, proxy TEXT, "
            "seed INTEGER, arch TEXT, score REAL, seconds REAL, "
            "PRIMARY KEY (space, dataset, proxy, seed, arch))"
        )
        self._db.commit()

    def get(self, space: str, dataset: str, proxy: str, seed: int, arch: str):
        """(score, seconds) or None; a stored NULL score is NaN (SQLite has no NaN)."""
        row = self._db.execute(
            "SELECT score, seconds FROM scores WHERE space=? AND dataset=? AND proxy=? "
            "AND seed=? AND arch=?",
            (space, dataset, proxy, seed, arch),
        ).fetchone()
        if row is None:
            return None
        return (math.nan if row[0] is None else row[0]), row[1]

    def put(
        self,
        space: str,
        dataset: str,
        proxy: str,
        seed: int,
        arch: str,
        score: float,
        seconds: float,
    ) -> None:
        value = None if math.isnan(score) else score
        self._db.execute(
            "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?)",
            (space, dataset, proxy, seed, arch, value, seconds),
        )
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]

    def __reduce__(self):
        """Sent to a worker process as its path: the worker opens its own connection (an
        SQLite connection cannot be pickled; WAL mode lets the processes share the file)."""
        return ScoreCache, (self.path,)

    def close(self) -> None:
        self._db.close()


class Scorer:
    """Scores archs of one space/dataset/seed with any proxy, through an optional cache.

    ``inits`` > 1 averages the score over that many weight initialisations (seeds
    ``seed .. seed+inits-1``) on the same batch, as FreeREA does for NASWOT and LogSynflow.
    ``batch_size`` overrides every proxy's default batch size.
    """

    def __init__(
        self,
        space: str | SearchSpace = "nb201",
        dataset: str = "cifar10",
        seed: int = 0,
        *,
        data_dir: str | os.PathLike | None = None,
        cache: ScoreCache | str | os.PathLike | None = None,
        inits: int = 1,
        batch_size: int | None = None,
    ):
        if inits < 1:
            raise ValueError(f"inits must be >= 1, got {inits}")
        self.space = get_space(space) if isinstance(space, str) else space
        self.dataset, self.seed, self.inits = dataset, seed, inits
        self.data_dir, self.batch_size = data_dir, batch_size
        self.cache = cache if cache is None or isinstance(cache, ScoreCache) else ScoreCache(cache)
        self._batches: dict[int, tuple[torch.Tensor, torch.Tensor, str]] = {}
        self._shared: tuple[tuple[str, int, str], torch.nn.Module, torch.Tensor] | None = None
        self._pending: dict[tuple[str, str], tuple[float, float]] = {}  # see _group_scores
        self.hits = self.misses = 0
        self.compute_seconds = 0.0  # real proxy computation, including cached scores' cost

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        """The seeded data batch of ``size`` images (built once)."""
        if size not in self._batches:
            self._batches[size] = data_batch(self.dataset, size, self.seed, self.data_dir)
        return self._batches[size]

    def proxy_key(self, proxy: Proxy) -> str:
        name = proxy.name if proxy.version == 1 else f"{proxy.name}.v{proxy.version}"
        size = self.batch_size or proxy.batch_size
        return f"{name}@b{size}x{self.inits}" if proxy.needs_data else name

    def __call__(self, arch: str, proxy: str | Proxy) -> float:
        proxy = get_proxy(proxy) if isinstance(proxy, str) else proxy
        if isinstance(proxy, Combo):
            raise proxy.no_score_error()
        key = self.proxy_key(proxy)
        if self.cache is not None:
            found = self.cache.get(self.space.id, self.dataset, key, self.seed, arch)
            if found is not None:
                self.hits += 1
                self.compute_seconds += found[1]
                return found[0]
        score, seconds = self._pending.pop((arch, key), None) or self._timed(arch, proxy)
        self.misses += 1
        self.compute_seconds += seconds
        if self.cache is not None:
            self.cache.put(self.space.id, self.dataset, key, self.seed, arch, score, seconds)
        return score

    def _timed(self, arch: str, proxy: Proxy) -> tuple[float, float]:
        """(score, cold seconds); with several inits, the other members of the proxy's model
        group (an exported file's components) are scored too and wait in ``_pending``."""
        group = proxy.shares_model
        if self.inits > 1 and proxy.needs_data and group not in ("", "*"):
            return self._group_scores(arch, proxy)
        start = time.perf_counter()
        score = self.compute(arch, proxy)
        return score, time.perf_counter() - start

    def _group_scores(self, arch: str, proxy: Proxy) -> tuple[float, float]:
        """Score ``proxy`` and its model group init by init, so each initialisation's model
        (and an exported file's capture of it) serves every member: proxy by proxy, each
        init would rebuild the model and capture it again. Same scores as ``compute``."""
        from eznas.proxies.loader import model_group

        members = [proxy] + [
            m for m in model_group(proxy.shares_model) if m is not proxy and m.needs_data
        ]
        inputs, labels, _ = self.batch(self.batch_size or proxy.batch_size)
        scores = np.zeros((self.inits, len(members)))
        seconds = np.zeros(len(members))
        for init in range(self.inits):
            for j, member in enumerate(members):
                start = time.perf_counter()
                model = self._model(arch, member, self.seed + init)
                scores[init, j] = self._score(member, model, inputs, labels, arch, init)
                seconds[j] += time.perf_counter() - start
        self._pending = {
            (arch, self.proxy_key(m)): (float(scores[:, j].mean()), float(seconds[j]))
            for j, m in enumerate(members[1:], 1)
        }  # only the current arch's wait
        return float(scores[:, 0].mean()), float(seconds[0])

    def compute(self, arch: str, proxy: Proxy) -> float:
        """Uncached score: build, score and average over ``inits`` initialisations."""
        inputs = labels = None
        if proxy.needs_data or proxy.needs_labels:  # gradients of noise use the data labels
            inputs, labels, _ = self.batch(self.batch_size or proxy.batch_size)
        runs = 1 if proxy.uses_arch or not proxy.needs_data else self.inits
        scores = []
        for init in range(runs):
            model = None if proxy.uses_arch else self._model(arch, proxy, self.seed + init)
            scores.append(self._score(proxy, model, inputs, labels, arch, init))
        return float(np.mean(scores))

    def _score(self, proxy: Proxy, model, inputs, labels, arch: str, init: int) -> float:
        """One score of ``proxy`` on a built model (initialisation ``init``), with the
        context proxies may read: the arch, the space, the seeded batch of any size."""
        seed = self.seed + init
        context = {"arch": arch, "space": self.space, "batch": self.batch}
        return proxy.score(model, inputs, labels, seed=seed, **context)

    def _model(self, arch: str, proxy: Proxy, seed: int) -> torch.nn.Module:
        """``arch`` built after ``torch.manual_seed(seed)``. A proxy with a ``shares_model``
        group gets the model last built for the same (arch, seed) if only its group and
        read-only proxies (``"*"``) have had it, with the random state it would have seen
        after building the model itself; a read-only proxy takes any such model."""
        group = proxy.shares_model
        if group and self._shared is not None:
            (last_arch, last_seed, owner), model, rng = self._shared
            if (last_arch, last_seed) == (arch, seed) and (owner == group or "*" in (group, owner)):
                if group != "*":
                    self._shared = ((arch, seed, group), model, rng)
                torch.set_rng_state(rng)
                return model
        torch.manual_seed(seed)
        model = self.space.build(arch, self.dataset)
        self._shared = ((arch, seed, group), model, torch.get_rng_state()) if group else None
        return model
