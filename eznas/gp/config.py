"""``EvolveConfig``: every setting of an evolution, saved as a run folder's ``config.json``."""

from __future__ import annotations

from dataclasses import dataclass

from eznas.gp.fitness import TaskSpec
from eznas.gp.program import AGGREGATIONS, TO_SCALAR


@dataclass
class EvolveConfig:
    """Every setting of a run; saved as ``config.json`` in the run folder."""

    caches: list[str]
    population: int = 100
    generations: int = 50
    seed: int = 0
    s: int = 4  # pairs drawn per generation (capped at the number of caches)
    per_pair: int = 20  # networks drawn per pair
    n_task: int = 80  # fixed task networks per cache
    to_scalar: str = "mean"
    aggregate: str = "mean"
    cxpb: float = 0.5
    mutpb: float = 0.3
    tournsize: int = 3
    max_height: int = 10
    init_min: int = 1
    init_max: int = 4
    validation: int = 2  # networks per pair for the finiteness check (+ cover of all shapes)
    hall_of_fame: int = 10
    needs_values: bool = False  # reject programs blind to tensor values (shape counters)
    jobs: int = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ValueError(f"population must be >= 2, got {self.population}")
        if not self.caches:
            raise ValueError("no statistics caches given")
        if self.jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {self.jobs}")
        for name, allowed in (("to_scalar", TO_SCALAR), ("aggregate", AGGREGATIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} {getattr(self, name)!r}; allowed: {', '.join(allowed)}")
        if self.cxpb + self.mutpb > 1:
            raise ValueError(f"cxpb + mutpb must be <= 1, got {self.cxpb} + {self.mutpb}")

    def spec(self) -> TaskSpec:
        return TaskSpec(
            tuple(str(c) for c in self.caches),
            self.n_task,
            self.seed,
            to_scalar=self.to_scalar,
            aggregate=self.aggregate,
        )
