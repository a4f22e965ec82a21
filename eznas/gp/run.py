"""``Run``: the owner of a run folder (``config.json``, ``log.jsonl``, ``checkpoint.json``).

Everything that reads a run goes through this object: the evolver's resume, held-out
testing, export, the demo and the CLI. ``program(select)`` is the one place that decides
what "the best program" of a run means. Opening validates every field against the
dataclass that wrote it, so a hand-edited or damaged folder fails with one line naming the
file and the field, never with a traceback from deep inside the evolver.
"""

from __future__ import annotations

import json
import os
import textwrap
import types
import typing
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
import sympy

from eznas.errors import BadFileError
from eznas.gp import checkpoint as ck
from eznas.gp.config import EvolveConfig
from eznas.gp.fitness import split_positions
from eznas.gp.individual import Individual, parse_individual, parse_individuals
from eznas.gp.program import Program

Select = int | str
"""``"final"`` (the final population's fittest), an int k (the k-th best-ever program of the
hall of fame), ``"task"`` (the hall-of-fame program best on the whole task set),
``"validation"`` (best on the task networks the run kept out of fitness), ``"selection"``
(best of the hall of fame and its ensembles on networks outside the caches, scored live:
``eznas.gp.selection``) or ``"selection:<proxy>"`` (the same, by the Kendall tau within
groups of networks the library proxy scores alike, e.g. ``selection:depth``)."""


@dataclass
class Checkpoint:
    """The state after a finished generation (see ``eznas.gp.checkpoint``)."""

    generation: int
    population: list[str]
    fitness: list[float | None]
    hall_of_fame: list[list]
    random_state: list
    elapsed: float
    cases: list[list[float]] | None = None  # lexicase runs: each individual's case taus


def _fits(value: object, hint: object) -> bool:
    """Does a JSON value match a field's type hint (int, float, str, list[...], X | None)?"""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list) and (not args or all(_fits(v, args[0]) for v in value))
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def from_json(cls: type, path: Path) -> typing.Any:
    """An instance of dataclass ``cls`` from a JSON file, each field checked; BadFileError
    naming the file and the field otherwise."""
    if not path.is_file():
        raise BadFileError(f"{path} not found: is {path.parent} a run folder of `eznas evolve`?")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadFileError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise BadFileError(f"{path} must hold a JSON object, found {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise BadFileError(f"{path}: unknown field {unknown[0]!r}; allowed: {', '.join(names)}")
    for name, value in data.items():
        if not _fits(value, hints[name]):
            expected = getattr(hints[name], "__name__", str(hints[name]))
            raise BadFileError(f"{path}: field {name!r} is {value!r}; expected {expected}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as err:  # missing fields, or the class's own checks
        raise BadFileError(f"{path}: {err}") from None


class Run:
    """A run folder of ``eznas evolve``: its config, state, log and programs."""

    def __init__(self, folder: str | os.PathLike, config: EvolveConfig):
        self.folder = Path(folder)
        self.config = config
        self.interrupted = False  # set by ``evolve`` when a signal stopped it

    @staticmethod
    def check_free(folder: str | os.PathLike) -> None:
        """Refuse a folder that already holds a run (checked before any expensive work)."""
        if (Path(folder) / ck.CHECKPOINT).exists():
            raise ValueError(f"{folder} already holds a run; resume it or choose another folder")

    @classmethod
    def create(cls, folder: str | os.PathLike, config: EvolveConfig) -> Run:
        """A new run folder holding ``config``; refuses a folder that already holds a run."""
        cls.check_free(folder)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        run = cls(folder, config)
        run.save_config()
        return run

    @classmethod
    def open(cls, folder: str | os.PathLike) -> Run:
        """An existing run folder, validated (config and, if written, checkpoint)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"run folder {str(folder)!r} does not exist")
        run = cls(folder, from_json(EvolveConfig, folder / ck.CONFIG))
        if (folder / ck.CHECKPOINT).exists():
            run.checkpoint  # noqa: B018  (validate now, not at first use)
        return run

    def save_config(self) -> None:
        ck.write_json(self.folder / ck.CONFIG, self.config.__dict__)

    # ------------------------------------------------------------ state
    @cached_property
    def checkpoint(self) -> Checkpoint:
        path = self.folder / ck.CHECKPOINT
        state: Checkpoint = from_json(Checkpoint, path)
        if len(state.fitness) != len(state.population):
            raise BadFileError(
                f"{path}: 'fitness' has {len(state.fitness)} values for "
                f"{len(state.population)} programs in 'population'"
            )
        if state.cases is not None and len(state.cases) != len(state.population):
            raise BadFileError(
                f"{path}: 'cases' has {len(state.cases)} rows for "
                f"{len(state.population)} programs in 'population'"
            )
        for i, entry in enumerate(state.hall_of_fame):
            if not (len(entry) == 2 and isinstance(entry[0], str)):
                raise BadFileError(f"{path}: hall_of_fame[{i}] must be [program, fitness]")
        for field, texts in (
            ("population", state.population),
            ("hall_of_fame", [t for t, _ in state.hall_of_fame]),
        ):
            for text in texts:
                try:
                    parse_individual(text, self.config.aggregate)
                except ValueError as err:
                    raise BadFileError(f"{path}: field {field!r}: {err}") from None
        return state

    def reload(self) -> Run:
        """Forget the cached state (after the evolver wrote a new checkpoint)."""
        self.__dict__.pop("checkpoint", None)
        self.__dict__.pop("_task_best", None)
        self.__dict__.pop("_validation_best", None)
        self.__dict__.pop("selection", None)
        return self

    @property
    def generation(self) -> int:
        return self.checkpoint.generation

    @property
    def population(self) -> list[str]:
        """The final population's programs (DEAP tree strings)."""
        return list(self.checkpoint.population)

    @property
    def fitness(self) -> list[float]:
        """Fitness of each program of ``population`` (NaN: invalid)."""
        return [ck.decode_fitness(f) for f in self.checkpoint.fitness]

    @property
    def hall_of_fame(self) -> list[tuple[str, float]]:
        """The best-ever programs, best first, with the fitness they were kept for."""
        return [(t, ck.decode_fitness(f)) for t, f in self.checkpoint.hall_of_fame]

    def log(self) -> list[dict]:
        """The per-generation records of ``log.jsonl``."""
        return ck.read_log(self.folder)

    # ------------------------------------------------------------ choosing a program
    def choose(self, select: Select = 0) -> tuple[str, float]:
        """(program text, the fitness it was chosen by) for ``select`` (see ``Select``)."""
        if select == "final":
            scores = [-np.inf if np.isnan(f) else f for f in self.fitness]
            best = int(np.argmax(scores))
            return self.population[best], self.fitness[best]
        if select == "task":
            return self._task_best
        if select == "validation":
            return self._validation_best
        if isinstance(select, str) and select.partition(":")[0] == "selection":
            within = select.partition(":")[2] or None
            record = self.selection if within is None else self.selection_within(within)
            text, tau = record["chosen"]
            return str(text), float(tau)
        hof = self.hall_of_fame
        if isinstance(select, int | np.integer) and 0 <= select < len(hof):
            return hof[int(select)]
        raise ValueError(
            f"select {select!r}: use 'final', 'task', 'validation', 'selection', "
            "'selection:<proxy>' or a "
            "hall-of-fame rank "
            f"0..{len(hof) - 1}"
        )

    def individual(self, select: Select = 0) -> Individual:
        """The chosen individual: its components (program and network op) and network
        terms (a classic run's is one program under the run's ``aggregate``)."""
        return parse_individual(self.choose(select)[0], self.config.aggregate)

    def program(self, select: Select = 0) -> Program:
        """The chosen program, compiled (runs of one component; see ``individual``)."""
        individual = self.individual(select)
        if individual.size > 1:
            raise ValueError(
                f"the chosen individual has {individual.size} terms combined by ranks; "
                "use run.individual() for its components"
            )
        return individual.components[0].program

    @cached_property
    def _task_best(self) -> tuple[str, float]:
        """The hall-of-fame program with the best min-Kendall tau over *all* task networks.

        In-run fitness comes from random draws of 20 networks, so the best-ever entry is partly
        luck; re-ranking on the whole task set (still no held-out network) is sturdier.
        """
        return self._best_on("task", lambda size: list(range(size)))

    @cached_property
    def _validation_best(self) -> tuple[str, float]:
        """The hall-of-fame program best on the task networks no fitness draw ever saw."""
        split = self.config.validation_split
        if not split:
            raise ValueError(f"run {self.folder} kept no validation networks (validation_split 0)")
        return self._best_on(
            "validation", lambda size: split_positions(size, split, self.config.seed)[1]
        )

    def _choices(self) -> dict:
        """``choices.json`` if it was written for the current hall of fame, else {}."""
        path = self.folder / ck.CHOICES
        try:
            saved = ck.read_json(path) if path.exists() else {}
        except ValueError:  # a damaged record is recomputed and rewritten
            saved = {}
        texts = [t for t, _ in self.hall_of_fame]
        return saved if isinstance(saved, dict) and saved.get("hall_of_fame") == texts else {}

    def _remember(self, which: str, value: object) -> None:
        saved = self._choices() or {"hall_of_fame": [t for t, _ in self.hall_of_fame]}
        saved[which] = value
        ck.write_json(self.folder / ck.CHOICES, saved)

    def _best_on(self, which: str, positions) -> tuple[str, float]:
        """The hall-of-fame entry with the best fitness (Kendall tau reduced over pairs as in
        the evolution) over ``positions(size)`` of
        each task pair; remembered in ``choices.json`` (keyed by the hall of fame), so later
        exports and tests need not load the task statistics again."""
        from eznas.gp.fitness import load_task, pair_kendall

        saved = self._choices()
        if which in saved:
            text, tau = saved[which]
            return str(text), float(tau)
        texts = [t for t, _ in self.hall_of_fame]
        pairs = load_task(self.config.spec())  # the evolver's key: reuses its loaded task set
        chosen = [(p, positions(len(pair.indices))) for p, pair in enumerate(pairs)]
        individuals = parse_individuals(texts, self.config.aggregate)
        cfg = self.config
        taus = pair_kendall(individuals, pairs, chosen, cfg.to_scalar, cfg.over_pairs)
        taus = np.where(np.isfinite(taus), taus, -np.inf)
        best = int(np.argmax(taus))
        self._remember(which, [texts[best], float(taus[best])])
        return texts[best], float(taus[best])

    @cached_property
    def selection(self) -> dict:
        """The ``select_networks`` choice: the chosen text and its mean tau, the selection
        networks, every candidate's taus (``eznas.gp.selection.select``); computed once
        (from the default data folder unless ``select_live`` ran first) and remembered."""
        saved = self._choices().get("selection")
        return saved if saved is not None else self.select_live()

    def selection_within(self, within: str) -> dict:
        """``selection`` by the tau within groups of networks the proxy ``within`` scores
        alike; remembered as ``selection:<within>``."""
        saved = self._choices().get(f"selection:{within}")
        return saved if saved is not None else self.select_live(within=within)

    def select_live(
        self,
        data_dir: str | os.PathLike | None = None,
        progress: bool = True,
        within: str | None = None,
    ) -> dict:
        """Score the hall of fame and its ensembles on the run's selection networks (read
        from ``data_dir``) and remember the choice; see ``selection`` and
        ``selection_within``."""
        from eznas.gp.selection import select

        n = self.config.select_networks
        if not n:
            raise ValueError(f"run {self.folder} has select_networks 0: no selection networks")
        record = select(
            [t for t, _ in self.hall_of_fame],
            self.config.caches,
            n,
            self.config.seed,
            to_scalar=self.config.to_scalar,
            default=self.config.aggregate,
            data_dir=data_dir,
            progress=progress,
            within=within,
        )
        self._remember(f"selection:{within}" if within else "selection", record)
        if not within:
            self.__dict__["selection"] = record
        return record

    # ------------------------------------------------------------ formula and export
    def formula(self, select: Select = 0) -> sympy.Expr:
        """The simplified per-block formula of the chosen program (sympy); for several
        components, the tuple of their formulas (ranks combine them, not arithmetic)."""
        from eznas.gp.export import formula

        formulas = [formula(c.program) for c in self.individual(select).components]
        return formulas[0] if len(formulas) == 1 else sympy.Tuple(*formulas)

    def latex(self, select: Select = 0) -> str:
        """The per-block formula as LaTeX (as PySR's ``latex()``)."""
        return sympy.latex(self.formula(select))

    def statistics(self) -> tuple[dict, list[tuple[int, list[str]]]]:
        """Attributes of the run's first statistics cache (block pattern, seed...) and the
        (batch size, kinds) of each cache of a task pair: the exported proxy captures its
        statistics the same way."""
        from eznas.gp.fitness import pair_captures

        return pair_captures(self.config.caches[0])

    def export(self, path: str | os.PathLike, select: Select = 0, name: str | None = None) -> Path:
        """Write the chosen individual as a standalone torch-only proxy module (several
        components: a file eznas combines by log-rank wherever a proxy name is accepted)."""
        from eznas.gp.export import export_individual

        text, fitness = self.choose(select)
        attrs, captures = self.statistics()
        note = textwrap.fill(
            f"Run {self.folder} (selected: {select!r}, fitness {fitness}); "
            f"config: {json.dumps(self.config.__dict__)}",
            88,
        )
        return export_individual(
            parse_individual(text, self.config.aggregate),
            path,
            name=name or Path(path).stem,
            captures=captures,
            to_scalar=self.config.to_scalar,
            pattern=attrs["pattern"],
            note=note,
        )

    def test(self, n: int = 1000, benchmark=None, data_dir=None, **options) -> dict:
        """Held-out Kendall/Spearman of the final best, the two best-ever and the task-set best
        on ``n`` networks outside every task set (of ``benchmark``, default: the one the
        statistics came from); saved as ``test.json`` (see ``holdout``)."""
        from eznas.gp.holdout import run_holdout_test

        return run_holdout_test(self, n, benchmark, data_dir, **options)

    def __repr__(self) -> str:
        return f"Run({str(self.folder)!r})"
