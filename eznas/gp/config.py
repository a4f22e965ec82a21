"""``EvolveConfig``: every setting of an evolution, saved as a run folder's ``config.json``."""

from __future__ import annotations

from dataclasses import dataclass, field

from eznas.gp.fitness import OVER_PAIRS, TaskSpec
from eznas.gp.network import get_net_op
from eznas.gp.program import AGGREGATIONS, TO_SCALAR
from eznas.gp.terms import PARAMS, check_term
from eznas.runtime import match_kinds

PARENTS = ("tournament", "lexicase")
"""How parents are picked: DEAP's tournament on fitness, or its automatic epsilon-lexicase
over the case taus (``eznas.gp.evolve``)."""


def start_text(name: str) -> str:
    """An individual's text, or the program of a library proxy's anchor (``meco``,
    ``naswot``...: ``eznas.gp.anchors``), so an evolution can start from hand designs."""
    from eznas.gp.anchors import ANCHORS

    return ANCHORS[name].program if name in ANCHORS else name


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
    over_pairs: str = "min"  # per-pair taus -> fitness: min (EZNAS) or mean (less noisy)
    cxpb: float = 0.5
    mutpb: float = 0.3
    tournsize: int = 3
    max_height: int = 10
    init_min: int = 1
    init_max: int = 4
    validation: int = 2  # networks per pair for the finiteness check (+ cover of all shapes)
    hall_of_fame: int = 10
    elite: int = 0  # best individuals kept unchanged each generation, in place of newcomers
    parents: str = "tournament"  # parent selection: tournament, or lexicase over case taus
    cases: int = 8  # lexicase: network chunks per drawn pair, each chunk's tau one case
    needs_values: bool = False  # reject programs blind to tensor values (shape counters)
    components: int = 1  # most block programs per individual; > 1 combines them by log-rank
    net_ops: list[str] = field(default_factory=list)  # network ops to evolve; [] = aggregate
    terms: list[str] = field(default_factory=list)  # network terms to add: params, proxies
    validation_split: float = 0.0  # task networks kept out of fitness, to choose the export
    select_networks: int = 0  # networks per pair outside the caches, scored live to choose
    start: list[str] = field(default_factory=list)  # first individuals: texts or anchor names
    kinds: list[str] = field(default_factory=list)  # kind patterns to load; [] = all held
    jobs: int = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ValueError(f"population must be >= 2, got {self.population}")
        if not self.caches:
            raise ValueError("no statistics caches given")
        if self.jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {self.jobs}")
        for name, allowed in (
            ("to_scalar", TO_SCALAR),
            ("aggregate", AGGREGATIONS),
            ("over_pairs", OVER_PAIRS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} {getattr(self, name)!r}; allowed: {', '.join(allowed)}")
        if not 0 <= self.validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {self.validation_split}")
        if self.select_networks < 0:
            raise ValueError(f"select_networks must be >= 0, got {self.select_networks}")
        if not 0 <= self.elite <= self.population // 2:
            half = self.population // 2
            raise ValueError(f"elite must be in 0..{half} (half the population), got {self.elite}")
        if not 1 <= self.components <= 8:
            raise ValueError(f"components must be in 1..8, got {self.components}")
        for op in self.net_ops:
            get_net_op(op)
        for term in self.terms:
            check_term(term)
        if self.parents not in PARENTS:
            raise ValueError(f"parents {self.parents!r}; allowed: {', '.join(PARENTS)}")
        if self.parents == "lexicase" and not 2 <= self.cases <= self.per_pair:
            raise ValueError(
                f"cases must be in 2..{self.per_pair} (networks per pair), got {self.cases}"
            )
        if self.cxpb + self.mutpb > 1:
            raise ValueError(f"cxpb + mutpb must be <= 1, got {self.cxpb} + {self.mutpb}")
        if len(self.start) > self.population:
            raise ValueError(f"{len(self.start)} start individuals exceed the population")
        self.start = [start_text(s) for s in self.start]
        match_kinds(self.kinds)

    @property
    def multi(self) -> bool:
        """Individuals of components (with evolved network ops or network terms) rather
        than EZNAS's single program under the fixed ``aggregate``."""
        return self.components > 1 or bool(self.net_ops) or bool(self.terms)

    def spec(self) -> TaskSpec:
        return TaskSpec(
            tuple(str(c) for c in self.caches),
            self.n_task,
            self.seed,
            kinds=tuple(self.kinds) or None,
            to_scalar=self.to_scalar,
            aggregate=self.aggregate,
            terms=tuple(t for t in self.terms if t != PARAMS),
            over_pairs=self.over_pairs,
        )
