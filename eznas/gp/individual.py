"""Individuals of several components, combined by ranks over the networks compared.

AZ-NAS, VKDNW's aggregated form and TE-NAS do not add their components: they rank the
networks by each component and sum log(rank / n), so no component's scale dominates and a
network must be good on every axis. An individual here is up to k such components, each a
block program with its own network op (``eznas.gp.network``), plus optional network terms
(``@params``, or a library proxy as ``@naswot``: ``eznas.gp.terms``), combined the same
way. Its text, which run folders store, is

    min_step:eig_entropy(gram_channel(T4_D)) ; mean:l2(T3G_D) ; @params

and a single component with the run's fixed network op is just the tree, so a classic EZNAS
program and its text are the special case k = 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from eznas.gp.network import get_net_op
from eznas.gp.program import Program, compile_tree, make_pset
from eznas.gp.terms import check_term
from eznas.ranks import logrank
from eznas.runtime import ALL_KINDS

SEPARATOR = " ; "


@dataclass(frozen=True)
class Component:
    """One block program and the network op that turns its block values into a score."""

    program: Program
    aggregate: str

    def text(self, default: str | None = None) -> str:
        """``op:tree``, or the bare tree when ``op`` is the run's fixed network op."""
        return self.program.text if self.aggregate == default else f"{self.aggregate}:{self}"

    def __str__(self) -> str:
        return self.program.text


@dataclass(frozen=True)
class Individual:
    components: tuple[Component, ...]
    terms: tuple[str, ...] = ()

    def text(self, default: str | None = None) -> str:
        parts = [c.text(default) for c in self.components]
        return SEPARATOR.join([*parts, *(f"@{t}" for t in self.terms)])

    @property
    def size(self) -> int:
        """Terms the rank combination sums (components and network terms)."""
        return len(self.components) + len(self.terms)


def parse_individual(text: str, default: str = "mean", pset=None) -> Individual:
    """An individual from its text; a bare tree takes the network op ``default``."""
    components, terms = [], []
    for part in (p.strip() for p in text.split(SEPARATOR.strip())):
        if part.startswith("@"):
            terms.append(check_term(part[1:]))
            continue
        head, colon, tree = part.partition(":")
        aggregate, tree = (head, tree) if colon else (default, part)
        get_net_op(aggregate)
        components.append(Component(compile_tree(tree.strip(), pset), aggregate))
    if not components:
        raise ValueError(f"individual {text!r} has no program component")
    return Individual(tuple(components), tuple(terms))


def parse_individuals(texts: Iterable[str], default: str = "mean") -> list[Individual]:
    pset = make_pset(ALL_KINDS)
    return [parse_individual(t, default, pset) for t in texts]


def combined_scores(
    individuals: Sequence[Individual],
    component_scores: dict[str, np.ndarray],
    terms: dict[str, np.ndarray],
    *,
    partial: bool = False,
) -> np.ndarray:
    """(individuals, networks): one term alone as it is, several by AZ-NAS's log-rank
    (``eznas.ranks.logrank``). A NaN or inf in a component (an invalid program) makes the
    individual's row NaN; a network term's NaN or -inf (naswot's singular kernel) ranks that
    network lowest, as the exported file's combination does. ``partial`` (held-out scoring,
    one network at a time like the exported file): components are ranked as that file ranks
    them (NaN lowest, infinities at their ends); only a component NaN on every network (an
    invalid program) voids the row."""
    rows = []
    for ind in individuals:
        parts = np.vstack([component_scores[c.text()] for c in ind.components])
        invalid = np.isnan(parts).all(1).any() if partial else not np.isfinite(parts).all()
        if invalid:
            rows.append(np.full(parts.shape[1], np.nan))
            continue
        stack = np.vstack([parts, *(terms[t] for t in ind.terms)])
        rows.append(stack[0] if len(stack) == 1 else logrank(stack.T))
    return np.vstack(rows)
