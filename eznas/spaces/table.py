"""A space restricted to the archs of a ground-truth table.

A benchmark built by ``eznas bench build`` trains a sample of its space, so a search on it
may only propose archs whose accuracy is known. ``TableSpace`` samples from the table and
moves every mutation and crossover child to the nearest table arch (fewest differing
decisions, ties broken by the run's RNG): a mutation stays a small step, a crossover child
stays between its parents. Models, keys and ids are the base space's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch import nn

from eznas.spaces.base import SearchSpace


class TableSpace(SearchSpace):
    def __init__(self, base: SearchSpace, archs: Sequence[str]):
        if not archs:
            raise ValueError("a table space needs at least one arch")
        self.base = base
        self.name = base.name
        self.block_pattern = base.block_pattern
        self._archs = [base.validate(a) for a in archs]
        self._index = {a: i for i, a in enumerate(self._archs)}
        self._codes = np.stack([base.encode(a) for a in self._archs])

    @property
    def id(self) -> str:
        return self.base.id

    def validate(self, arch: str) -> str:
        arch = self.base.validate(arch)
        if arch not in self._index:
            raise ValueError(f"arch {arch!r} is not one of the {len(self)} archs of this table")
        return arch

    def encode(self, arch: str) -> np.ndarray:
        return self.base.encode(arch)

    def __iter__(self) -> Iterator[str]:
        return iter(self._archs)

    def __len__(self) -> int:
        return len(self._archs)

    def sample(self, rng: np.random.Generator) -> str:
        return self._archs[int(rng.integers(len(self._archs)))]

    def nearest(self, arch: str, rng: np.random.Generator, exclude: str | None = None) -> str:
        """A table arch differing from ``arch`` in the fewest decisions (random among ties)."""
        distance = (self._codes != self.base.encode(arch)).sum(axis=1)
        if exclude in self._index and len(self._archs) > 1:
            distance[self._index[exclude]] = distance.max() + 1
        ties = np.flatnonzero(distance == distance.min())
        return self._archs[int(rng.choice(ties))]

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """The table arch nearest to a base-space mutant (not ``arch`` itself): a random
        direction, so repeated mutations of one parent explore more than its nearest few."""
        return self.nearest(self.base.mutate(arch, rng), rng, exclude=arch)

    def crossover(self, a: str, b: str, rng: np.random.Generator) -> str:
        return self.nearest(self.base.crossover(a, b, rng), rng)

    def key(self, arch: str) -> str:
        return self.base.key(arch)

    def build(self, arch: str, dataset: str) -> nn.Module:
        return self.base.build(arch, dataset)
