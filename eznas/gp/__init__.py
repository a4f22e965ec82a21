"""Genetic programming of zero-cost proxies: ops, programs, fitness, evolution, export.

``ops`` registers tensor operations with shape rules, ``program`` evaluates DEAP trees on
stacked RCB statistics, ``fitness`` draws task networks and scores min-Kendall fitness,
``evolve`` runs EZNAS Algorithm 1 in a checkpointed run folder, ``run`` owns that folder (open,
choose a program, formula, export), ``holdout`` tests programs on unseen networks and
``export`` writes a standalone torch-only proxy module.
"""

from eznas.gp.config import EvolveConfig
from eznas.gp.evolve import evolve
from eznas.gp.export import export_program, formula
from eznas.gp.holdout import run_holdout_test
from eznas.gp.ops import OPS, gp_op
from eznas.gp.program import BlockSet, Program, compile_tree, evaluate
from eznas.gp.run import Run

__all__ = [
    "OPS",
    "BlockSet",
    "EvolveConfig",
    "Program",
    "Run",
    "compile_tree",
    "evaluate",
    "evolve",
    "export_program",
    "formula",
    "gp_op",
    "run_holdout_test",
]
