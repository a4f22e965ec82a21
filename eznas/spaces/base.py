"""The SearchSpace interface every space implements, and the registry that names them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

import numpy as np
from torch import nn

SPACES: dict[str, type[SearchSpace]] = {}


def register_space(name: str) -> Callable[[type[SearchSpace]], type[SearchSpace]]:
    """Class decorator adding a SearchSpace to the registry under ``name``."""

    def add(cls: type[SearchSpace]) -> type[SearchSpace]:
        if name in SPACES:
            raise ValueError(f"search space {name!r} is already registered")
        cls.name = name
        SPACES[name] = cls
        return cls

    return add


def get_space(name: str, **options) -> SearchSpace:
    """Instantiate the registered space ``name`` (e.g. ``"nb201"``)."""
    try:
        cls = SPACES[name]
    except KeyError:
        raise ValueError(
            f"unknown search space {name!r}; available: {', '.join(sorted(SPACES))}"
        ) from None
    return cls(**options)


class SearchSpace(ABC):
    """A space of architectures, each identified by a canonical string.

    Archs are plain strings so they can be hashed, logged, stored in HDF5 attributes and
    matched against ground-truth tables without conversion.
    """

    name: str = ""
    block_pattern: str = "rcb"
    """How the statistics collector finds this space's blocks ("rcb" or "cbr")."""

    @property
    def id(self) -> str:
        """Name plus any non-default options: what keys cached scores and statistics, since
        the same arch string builds different models in differently sized spaces."""
        return self.name

    def encode(self, arch: str) -> np.ndarray:
        """The arch's decisions as a fixed-length integer vector (for nearest-arch lookups)."""
        raise TypeError(f"search space {self.name!r} cannot encode archs as decision vectors")

    @abstractmethod
    def validate(self, arch: str) -> str:
        """Return the canonical form of ``arch``; raise ValueError quoting the bad part."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> str:
        """A uniformly random architecture."""

    @abstractmethod
    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """A neighbour of ``arch`` that differs in one decision."""

    @abstractmethod
    def crossover(self, a: str, b: str, rng: np.random.Generator) -> str:
        """A child mixing the decisions of ``a`` and ``b``."""

    @abstractmethod
    def key(self, arch: str) -> str:
        """Isomorphism-invariant key: equal for archs that compute the same function."""

    @abstractmethod
    def build(self, arch: str, dataset: str) -> nn.Module:
        """A freshly initialised torch model of ``arch`` for ``dataset`` returning logits."""

    def __iter__(self) -> Iterator[str]:
        raise TypeError(f"search space {self.name!r} cannot be enumerated")

    def __len__(self) -> int:
        raise TypeError(f"search space {self.name!r} has no finite size")
