"""Combined proxies: several proxies aggregated relative to the networks being compared.

AZ-NAS, VKDNW's aggregated form, TE-NAS and FreeREA all turn per-network scores into a
score that depends on the whole set compared (ranks, min-max normalisation), so a combo is
not a per-network proxy: its components are scored (and cached) one network at a time and
``aggregate`` combines the resulting networks x components matrix with one of the
aggregators of ``eznas.ranks``. A combo is named ``combo:AGG(p1,p2,...)`` (e.g.
``combo:logrank(naswot,synflow)``) or by a registered alias (``az_nas``). One failed
component (NaN) lowers a network's combined score without making it NaN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from eznas.ranks import AGGREGATORS

COMBOS: dict[str, str] = {}  # alias -> "combo:agg(...)"
PREFIX = "combo:"
_SPEC = re.compile(r"^([A-Za-z_]\w*)\((.*)\)$")


@dataclass(frozen=True)
class Combo:
    """A parsed combo: its aggregator and component proxy names (no per-network score)."""

    name: str
    aggregator: str
    components: tuple[str, ...]

    def aggregate(self, scores: np.ndarray) -> np.ndarray:
        """One value per network (row) of ``scores`` (networks x components)."""
        scores = np.asarray(scores, dtype=float)
        if scores.ndim != 2 or scores.shape[1] != len(self.components):
            raise ValueError(
                f"{self.name}: need a networks x {len(self.components)} score matrix, "
                f"got shape {scores.shape}"
            )
        return AGGREGATORS[self.aggregator](scores)

    def no_score_error(self) -> ValueError:
        return ValueError(
            f"{self.name} is relative to the networks compared and has no per-network "
            f"score; score its components {', '.join(self.components)} and aggregate them"
        )

    def score(self, *args, **kwargs) -> float:
        raise self.no_score_error()


def register_combo(alias: str, spec: str) -> None:
    """Name the combo ``spec`` (``"combo:agg(a,b)"``) ``alias`` (checked when used)."""
    if alias in COMBOS:
        raise ValueError(f"combo {alias!r} is already registered")
    COMBOS[alias] = spec


def is_combo(name: str) -> bool:
    from eznas.proxies.evolved import EVOLVED

    if str(name).endswith(".py") or name in EVOLVED:  # a file of several components is one
        from eznas.proxies.loader import load_proxy_file

        return isinstance(load_proxy_file(EVOLVED.get(name, name)), Combo)
    return str(name).startswith(PREFIX) or name in COMBOS


def parse_combo(name: str) -> Combo:
    """The Combo named ``name``; a one-line ValueError names the bad part and the choices."""
    from eznas.proxies.base import PROXIES, get_proxy
    from eznas.proxies.evolved import EVOLVED

    if str(name).endswith(".py") or name in EVOLVED:
        from eznas.proxies.loader import load_proxy_file

        return load_proxy_file(EVOLVED.get(name, name))
    spec = COMBOS.get(name, name)
    if not spec.startswith(PREFIX):
        raise ValueError(f"{name!r} is not a combo: write 'combo:AGG(p1,p2,...)'")
    match = _SPEC.match(spec[len(PREFIX) :].replace(" ", ""))
    if not match:
        raise ValueError(f"combo {spec!r} is not of the form 'combo:AGG(p1,p2,...)'")
    aggregator, inner = match.groups()
    if aggregator not in AGGREGATORS:
        raise ValueError(
            f"combo {spec!r}: unknown aggregator {aggregator!r}; "
            f"allowed: {', '.join(sorted(AGGREGATORS))}"
        )
    components = tuple(inner.split(",")) if inner else ()
    if len(components) < 2:
        raise ValueError(f"combo {spec!r} needs at least two component proxies")
    if len(set(components)) != len(components):
        raise ValueError(f"combo {spec!r} repeats a component")
    for component in components:
        exported = component.endswith(".py") or ".py#" in component
        if is_combo(component) or component not in PROXIES and not exported:
            raise ValueError(
                f"combo {spec!r}: {component!r} is not a per-network proxy; "
                f"allowed: {', '.join(sorted(PROXIES))}"
            )
        get_proxy(component)
    return Combo(name, aggregator, components)


def scored_proxies(names: list[str] | tuple[str, ...]) -> list[str]:
    """The per-network proxies behind ``names``: combos replaced by their components, once each."""
    out: list[str] = []
    for name in names:
        for part in parse_combo(name).components if is_combo(name) else (name,):
            if part not in out:
                out.append(part)
    return out


def aggregate(name: str, scores: np.ndarray) -> np.ndarray:
    """Combo ``name`` of a networks x components score matrix (one value per network)."""
    return parse_combo(name).aggregate(scores)


register_combo("az_nas", "combo:logrank(az_expressivity,az_progressivity,az_trainability,flops)")
register_combo("vkdnw_agg", "combo:logrank(vkdnw,jacob_cov,az_expressivity,az_trainability,flops)")
register_combo("tenas", "combo:ranksum(tenas_ntk,tenas_regions)")
