"""EZNAS Algorithm 1: evolve valid programs maximising the min-Kendall fitness.

Each generation: floor(n/2) valid offspring from DEAP's ``varOr`` (crossover of random
subtrees keeping the first child, mutation replacing a random subtree by a random tree,
reproduction), plus floor(n/2) fresh random valid programs for diversity; the fitness of the
whole population is recomputed on a new task draw. Algorithm 1 as printed has no
selection step, so ``varOr`` gets a tournament-selected copy of the population
(``tournsize=1`` reproduces Algorithm 1 literally). Algorithm 1 has no elitism either: a
generation's best can vanish, which wastes a fitness that does not change between draws
(``per_pair`` = every task network); ``elite`` = k carries the k best over unchanged, in
place of k random newcomers. Trees are limited to height 10.

``parents="lexicase"`` picks the parents by DEAP's automatic epsilon-lexicase selection
instead of the tournament: the cases are the Kendall taus on ``cases`` consecutive chunks of
every drawn pair's networks, so a program that ranks one dataset's or one group of networks'
subtleties best can become a parent even when its mean tau is not the population's best.
On NB201 one family (MeCo's smallest correlation eigenvalue summed over blocks) otherwise
fills half the population and decides the ImageNet16-120 ranking (docs/evolution-history.md).

All randomness comes from Python's ``random`` (which DEAP uses), seeded once and saved in
every checkpoint, so a resumed run continues exactly as an uninterrupted one. Fitness runs
in-process, with joblib (``jobs``), or on a Dask cluster (``scheduler``); workers load the
task statistics once per process and receive only program strings; local jobs are threads
sharing one copy of the statistics.
"""

from __future__ import annotations

import operator
import random
import signal
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from deap import algorithms, base, creator, gp, tools

from eznas.gp import checkpoint as ck
from eznas.gp.config import EvolveConfig
from eznas.gp.fitness import draw, fitness_chunk, load_task, pair_kendall, split_positions
from eznas.gp.individual import SEPARATOR, parse_individual, parse_individuals
from eznas.gp.program import (
    BlockGroup,
    BlockSet,
    check_shapes,
    compile_tree,
    evaluate,
    make_pset,
)
from eznas.gp.run import Run


class Components(list):
    """A multi-component individual for DEAP: component trees, each with its network op as
    ``.aggregate``, and the network terms; its text is the ``Individual`` text."""

    def __init__(self, trees=(), terms=()):
        super().__init__(trees)
        self.terms = list(terms)

    def __str__(self) -> str:
        parts = [f"{t.aggregate}:{t}" for t in self] + [f"@{c}" for c in self.terms]
        return SEPARATOR.join(parts)

    def __eq__(self, other) -> bool:  # the hall of fame's similarity test
        return str(self) == str(other)

    __hash__ = None

    @property
    def height(self) -> int:
        return max(t.height for t in self)


if not hasattr(creator, "EZNASFitness"):
    creator.create("EZNASFitness", base.Fitness, weights=(1.0,))
    creator.create("EZNASIndividual", gp.PrimitiveTree, fitness=creator.EZNASFitness)
    creator.create("EZNASComponents", Components, fitness=creator.EZNASFitness)


class Interrupted(BaseException):
    """Raised by the SIGINT/SIGTERM handler; the run saves and exits cleanly."""


class Evolver:
    """One run: the DEAP toolbox, the task data, validity checks and fitness evaluation."""

    def __init__(self, config: EvolveConfig):
        self.config = config
        self.spec = config.spec()
        self.pairs = load_task(self.spec)
        self.pset = make_pset(set.intersection(*(p.blocks.kinds() for p in self.pairs)))
        self.fitness_positions = [
            split_positions(len(p.indices), config.validation_split, config.seed)[0]
            for p in self.pairs
        ]
        self.checks = [
            p.blocks.subset(_validation_positions(p, config.validation)) for p in self.pairs
        ]
        self.blank = (
            [_noise_like(b, config.seed) for b in self.checks] if config.needs_values else []
        )
        self._valid: dict[str, bool] = {}
        self._last: tuple[list, dict[str, np.ndarray]] = ([], {})  # previous draw, its values
        self.cases = config.cases if config.parents == "lexicase" else 0
        tb = base.Toolbox()
        tb.register(
            "expr", gp.genHalfAndHalf, pset=self.pset, min_=config.init_min, max_=config.init_max
        )
        tb.register("mate", gp.cxOnePoint)
        tb.register("expr_mut", gp.genFull, min_=0, max_=2)
        tb.register("mutate", gp.mutUniform, expr=tb.expr_mut, pset=self.pset)
        limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=config.max_height)
        if config.multi:  # variation acts per component (see ``mate_components``)
            tb.register("mate", self.mate_components)
            tb.register("mutate", self.mutate_components)
        tb.decorate("mate", limit)
        tb.decorate("mutate", limit)
        self.toolbox = tb

    def parse(self, texts: list[str]) -> list:
        return parse_individuals(texts, self.config.aggregate)

    # ------------------------------------------------------------ validity
    def valid(self, ind) -> bool:
        """A classic program, or every component of a multi-component individual, passes
        ``valid_tree``; components are distinct and at most ``components`` of them."""
        if not self.config.multi:
            return self.valid_tree(ind, self.config.aggregate)
        texts = [f"{t.aggregate}:{t}" for t in ind]
        return (
            0 < len(ind) <= self.config.components
            and len(set(texts)) == len(texts)
            and all(self.valid_tree(t, t.aggregate) for t in ind)
        )

    def valid_tree(self, tree: gp.PrimitiveTree, aggregate: str) -> bool:
        """Runs on every shape group and gives finite, non-constant scores on the validation
        networks; with ``needs_values`` the scores must also change when every statistic is
        replaced by noise of the same shape (else the program only counts shapes: that is
        what the ``@params`` term is for)."""
        text, cfg = f"{aggregate}:{tree}", self.config
        if text not in self._valid:
            program = compile_tree(tree)
            ok = tree.height <= cfg.max_height and all(
                check_shapes(program, p.blocks) for p in self.pairs
            )
            scores = []
            for blocks in self.checks:
                if not ok:
                    break
                scores.append(evaluate([program], blocks, cfg.to_scalar, aggregate))
                ok = bool(np.isfinite(scores[-1]).all()) and np.ptp(scores[-1]) > 0
            if ok and self.blank:
                ok = not all(
                    np.allclose(s, evaluate([program], b, cfg.to_scalar, aggregate))
                    for s, b in zip(scores, self.blank, strict=True)
                )
            self._valid[text] = ok
        return self._valid[text]

    def first_population(self, n: int) -> list:
        """The config's start individuals (each must be valid here), then random valid ones."""
        cfg, start = self.config, []
        for text in cfg.start:
            own = text
            if not cfg.multi:  # a run of single programs under one network op: bare trees
                parsed = parse_individual(text, cfg.aggregate, self.pset)
                if (
                    parsed.size > 1
                    or parsed.terms
                    or parsed.components[0].aggregate != cfg.aggregate
                ):
                    raise ValueError(
                        f"start {text!r}: this run takes bare trees (no components, terms or "
                        f"network ops other than {cfg.aggregate!r})"
                    )
                own = parsed.components[0].program.text
            ind = _restore([own], [None], cfg, self.pset)[0]
            if not self.valid(ind):
                raise ValueError(
                    f"start {text!r} is not valid on this task set (it fails on some blocks, "
                    "is not finite, or does not read tensor values)"
                )
            start.append(ind)
        return start + self.random_valid(n - len(start))

    def random_valid(self, n: int) -> list:
        out = []
        for _ in range(10_000 * max(n, 1)):
            if len(out) == n:
                return out
            ind = self.random_individual() if self.config.multi else self.random_tree()
            if self.valid(ind):
                out.append(ind)
        raise RuntimeError(f"found only {len(out)} of {n} valid random programs")

    def random_tree(self, aggregate: str | None = None):
        tree = creator.EZNASIndividual(self.toolbox.expr())
        ops = self.config.net_ops  # a classic run draws nothing more from the RNG than before
        tree.aggregate = aggregate or (random.choice(ops) if ops else self.config.aggregate)
        return tree

    def random_component(self):
        """A random valid component (a tree with a random network op of the run's)."""
        for _ in range(10_000):
            tree = self.random_tree()
            if self.valid_tree(tree, tree.aggregate):
                return tree
        raise RuntimeError("found no valid random component in 10,000 tries")

    def random_individual(self):
        """1..components random valid components, each network term with probability 1/2."""
        size = random.randint(1, self.config.components)
        terms = [t for t in self.config.terms if random.random() < 0.5]
        return creator.EZNASComponents([self.random_component() for _ in range(size)], terms)

    # ------------------------------------------------------------ variation of components
    def mate_components(self, a, b):
        """Swap one component between the parents, or cross two components' trees."""
        i, j = random.randrange(len(a)), random.randrange(len(b))
        if random.random() < 0.5:
            a[i], b[j] = b[j], a[i]
        else:
            gp.cxOnePoint(a[i], b[j])
        return a, b

    def mutate_components(self, ind):
        """One of: a component's subtree, its network op, a component added or removed, a
        network term toggled."""
        cfg, roll = self.config, random.random()
        i = random.randrange(len(ind))
        if roll < 0.6:
            gp.mutUniform(ind[i], expr=self.toolbox.expr_mut, pset=self.pset)
        elif roll < 0.75 and len(cfg.net_ops) > 1:
            ind[i].aggregate = random.choice([o for o in cfg.net_ops if o != ind[i].aggregate])
        elif roll < 0.85 and len(ind) < cfg.components:
            ind.append(self.random_component())
        elif roll < 0.95 and len(ind) > 1:
            del ind[i]
        elif cfg.terms:
            term = random.choice(cfg.terms)
            ind.terms = sorted(set(ind.terms) ^ {term})
        return (ind,)

    def offspring(self, population: list) -> list:
        """floor(n/2) valid children of a copy of the population picked by ``parents``."""
        want, out = len(population) // 2, []
        while len(out) < want:
            parents = self.parents(population)
            children = algorithms.varOr(
                parents, self.toolbox, want - len(out), self.config.cxpb, self.config.mutpb
            )
            out.extend(c for c in children if self.valid(c))
        return out

    def parents(self, population: list) -> list:
        """As many parents as individuals: tournament, or epsilon-lexicase over each
        individual's case taus (an invalid case counts as tau -1, the worst)."""
        if not self.cases:
            return tools.selTournament(population, len(population), self.config.tournsize)
        weights = (1.0,) * len(population[0].cases)  # every case is a tau to maximise
        views = [
            SimpleNamespace(ind=ind, fitness=SimpleNamespace(values=ind.cases, weights=weights))
            for ind in population
        ]
        return [v.ind for v in tools.selAutomaticEpsilonLexicase(views, len(population))]

    # ------------------------------------------------------------ fitness
    def evaluate(self, population: list, rng: random.Random) -> dict:
        sizes = [len(positions) for positions in self.fitness_positions]
        sample = [
            (p, [self.fitness_positions[p][i] for i in picked])
            for p, picked in draw(rng, sizes, self.config.s, self.config.per_pair)
        ]
        texts = sorted({str(ind) for ind in population})
        # a draw equal to the last one (per_pair = every task network) gives carried-over
        # programs (elites, reproduced copies) the fitness they had: score only new texts
        known = self._last[1] if sample == self._last[0] else {}
        new = [t for t in texts if t not in known]
        values = {t: known[t] for t in texts if t in known}
        if new:
            values.update(zip(new, self._fitness(sample, new), strict=True))
        self._last = (sample, values)
        for ind in population:
            _set_values(ind, values[str(ind)])
        return {"pairs": [self.pairs[p].name for p, _ in sample], "programs": len(texts)}

    def _fitness(self, sample, texts: list[str]) -> np.ndarray:
        """Fitness in-process or in workers; Python's RNG is restored afterwards because
        schedulers (dask.distributed) draw from it, and DEAP's variation depends on it."""
        state = random.getstate()
        try:
            return self._fitness_on_workers(sample, texts)
        finally:
            random.setstate(state)

    def _fitness_on_workers(self, sample, texts: list[str]) -> np.ndarray:
        """``jobs`` > 1: threads over chunks of programs, sharing this process's statistics
        (torch ops release the GIL; worker processes would each hold a copy of the task
        set, gigabytes for three NB201 caches). A Dask scheduler gets picklable program
        strings and its workers load the task set once each."""
        cfg = self.config
        if cfg.jobs == 1 and not cfg.scheduler:
            return pair_kendall(
                self.parse(texts), self.pairs, sample, cfg.to_scalar, cfg.over_pairs, self.cases
            )
        from joblib import Parallel, delayed, parallel_config

        chunks = [
            list(c)
            for c in np.array_split(np.array(texts, dtype=object), 2 * max(cfg.jobs, 1))
            if len(c)
        ]
        if cfg.scheduler:
            from dask.distributed import Client

            calls = (delayed(fitness_chunk)(self.spec, sample, c, self.cases) for c in chunks)
            with Client(cfg.scheduler), parallel_config(backend="dask"):
                parts = Parallel(n_jobs=-1)(calls)
        else:
            calls = (
                delayed(pair_kendall)(
                    self.parse(c), self.pairs, sample, cfg.to_scalar, cfg.over_pairs, self.cases
                )
                for c in chunks
            )
            parts = Parallel(n_jobs=cfg.jobs, prefer="threads")(calls)
        return np.concatenate(parts)


def _noise_like(blocks: BlockSet, seed: int) -> BlockSet:
    """``blocks`` with every tensor replaced by seeded N(0, 1) noise of the same shape."""
    gen = torch.Generator().manual_seed(seed)
    groups = [
        BlockGroup(
            g.net,
            g.block,
            {k: torch.randn(t.shape, generator=gen) for k, t in g.tensors.items()},
            g.axis,
        )
        for g in blocks.groups
    ]
    return BlockSet(groups, blocks.n_networks)


def _validation_positions(pair, count: int) -> list[int]:
    """The first ``count`` task networks plus a few that together hold every shape group."""
    chosen = set(range(min(count, len(pair.indices))))
    holds: dict[int, set[int]] = {}
    for g, group in enumerate(pair.blocks.groups):
        for net in set(group.net.tolist()):
            holds.setdefault(net, set()).add(g)
    missing = set(range(len(pair.blocks.groups))) - set().union(*(holds[n] for n in chosen))
    while missing:  # greedy set cover: the network holding most missing groups first
        net = max(sorted(holds), key=lambda n: len(holds[n] & missing))
        chosen.add(net)
        missing -= holds[net]
    return sorted(chosen)


def _set_values(ind, value) -> None:
    """Fitness (NaN: -inf, never chosen) and, given a row of ``pair_kendall`` with cases,
    the case taus lexicase selection reads (NaN: -1, the worst tau)."""
    row = np.atleast_1d(np.asarray(value, dtype=float))
    ind.fitness.values = (row[0] if np.isfinite(row[0]) else -np.inf,)
    if len(row) > 1:
        ind.cases = tuple(np.nan_to_num(row[1:], nan=-1.0).tolist())


def _restore(texts: list[str], fitness: list, config: EvolveConfig, pset, cases=None) -> list:
    """DEAP individuals from their texts (trees, or components for a multi-component run),
    with their fitness and, for lexicase runs, their case taus."""
    population = []
    for k, (text, f) in enumerate(zip(texts, fitness, strict=True)):
        if config.multi:
            parsed = parse_individual(text, config.aggregate, pset)
            trees = []
            for c in parsed.components:
                tree = creator.EZNASIndividual(gp.PrimitiveTree.from_string(c.program.text, pset))
                tree.aggregate = c.aggregate
                trees.append(tree)
            ind = creator.EZNASComponents(trees, parsed.terms)
        else:
            ind = creator.EZNASIndividual(gp.PrimitiveTree.from_string(text, pset))
        _set_values(ind, [np.nan if f is None else f, *(cases[k] if cases else [])])
        population.append(ind)
    return population


def _fitness_value(ind) -> float:
    f = ind.fitness.values[0]
    return float("nan") if not np.isfinite(f) else float(f)


def _save(folder: Path, generation: int, population: list, hof, rng_state, elapsed: float) -> None:
    lexicase = hasattr(population[0], "cases")
    ck.write_json(
        folder / ck.CHECKPOINT,
        {
            "generation": generation,
            "population": [str(i) for i in population],
            "fitness": [ck.encode_fitness(_fitness_value(i)) for i in population],
            **({"cases": [list(i.cases) for i in population]} if lexicase else {}),
            "hall_of_fame": [[str(i), ck.encode_fitness(_fitness_value(i))] for i in hof],
            "random_state": ck.encode_random_state(rng_state),
            "elapsed": elapsed,
        },
    )


def evolve(
    config: EvolveConfig | None = None,
    out: str | Path = "runs/evolve",
    *,
    resume: bool = False,
    generations: int | None = None,
    verbose: bool = True,
    data_dir: str | Path | None = None,
) -> Run:
    """Run (or with ``resume=True`` continue) an evolution in the run folder ``out``.

    On resume the saved config is used; ``generations`` may extend it. SIGINT/SIGTERM
    save the last finished generation and return the Run with ``interrupted=True``.
    ``data_dir`` holds the benchmark the selection networks are scored on.
    """
    if resume:
        run = Run.open(out)
        config = run.config
    elif config is None:
        raise ValueError("give a config, or resume=True with an existing run folder")
    else:
        Run.check_free(out)
    evolver = Evolver(config)  # loads and checks the statistics before the folder is written
    if not resume:
        run = Run.create(out, config)
    folder = run.folder
    if generations is not None:
        config.generations = generations
        run.save_config()
    hof = tools.HallOfFame(config.hall_of_fame)

    if resume:
        state = run.checkpoint
        generation, elapsed = state.generation, state.elapsed
        population = _restore(state.population, state.fitness, config, evolver.pset, state.cases)
        # set the sorted lists directly: re-inserting would reorder ties
        hof.items = _restore(*zip(*state.hall_of_fame, strict=True), config, evolver.pset)
        hof.keys = [i.fitness for i in reversed(hof.items)]
        ck.trim_log(folder, generation)
        random.setstate(ck.decode_random_state(state.random_state))
    else:
        random.seed(config.seed)
        generation, elapsed = 0, 0.0

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def stop(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    try:
        for sig in previous:
            signal.signal(sig, stop)
        if not resume:
            started = time.perf_counter()
            population = evolver.first_population(config.population)
            info = evolver.evaluate(population, random)
            hof.update(population)
            elapsed += time.perf_counter() - started
            _log_generation(folder, 0, population, info, elapsed, elapsed, config, verbose)
            _save(folder, 0, population, hof, random.getstate(), elapsed)
        while generation < config.generations:
            started = time.perf_counter()
            n2 = config.population // 2
            kept = [evolver.toolbox.clone(i) for i in tools.selBest(population, config.elite)]
            children = evolver.offspring(population) + evolver.random_valid(n2 - len(kept)) + kept
            info = evolver.evaluate(children, random)
            hof.update(children)
            took = time.perf_counter() - started
            generation, population, elapsed = generation + 1, children, elapsed + took
            _log_generation(folder, generation, population, info, took, elapsed, config, verbose)
            _save(folder, generation, population, hof, random.getstate(), elapsed)
    except Interrupted as why:
        run.interrupted = True
        if verbose:
            print(
                f"{why}: stopped; checkpoint of generation {generation} in {folder}",
                file=sys.stderr,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    run.reload()
    if not run.interrupted:  # choose while the task statistics are loaded (choices.json)
        run.choose("task")
        if config.validation_split:
            run.choose("validation")
        if config.select_networks:
            run.select_live(data_dir, progress=verbose)
    return run


def _log_generation(folder, generation, population, info, took, elapsed, config, verbose) -> None:
    values = [_fitness_value(i) for i in population]
    finite = [v for v in values if np.isfinite(v)]
    best = max(population, key=lambda i: i.fitness.values[0])
    entry = {
        "generation": generation,
        "best": max(finite) if finite else None,
        "median": statistics.median(finite) if finite else None,
        "valid": len(finite) / len(values),
        "seconds": round(took, 3),
        "elapsed": round(elapsed, 3),
        "best_program": str(best),
        **info,
    }
    ck.append_log(folder, entry)
    if verbose and finite:
        eta = (config.generations - generation) * elapsed / max(generation + 1, 1)
        print(
            f"gen {generation}/{config.generations}  best {entry['best']:.4f}  "
            f"median {entry['median']:.4f}  valid {entry['valid']:.2f}  {took:.1f}s  "
            f"ETA {eta / 60:.1f} min  {entry['best_program']}",
            file=sys.stderr,
            flush=True,
        )
