"""The Proxy interface and the registry that names proxies (``@register_proxy("naswot")``).

A proxy scores an untrained model on an input batch. Each declares what it needs so that
callers (correlation reports, searches) can prepare inputs once and share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from eznas.proxies.combo import Combo

ProxyFn = Callable[..., float]
PROXIES: dict[str, Proxy] = {}


@dataclass(frozen=True)
class Proxy:
    """A named scoring rule: ``score(model, inputs, labels, seed=...) -> float``.

    ``batch_size`` is the default batch; ``needs_labels``/``needs_grad`` say whether it
    uses the labels and backpropagation; ``uses_arch`` marks proxies computed from the arch
    string alone (model and inputs are then ignored). ``version`` is raised when a proxy's
    definition changes, so that scores cached under the old one are not reused. Proxies
    with the same ``shares_model`` (the components of one exported file; the saliencies that
    read one loss backward) leave a model as they found it for each other, so a Scorer
    builds one model per network for all of them;
    ``"*"`` marks a proxy that only reads the model (params), which any group can share.
    ``spaces`` names the only spaces a proxy is defined for (empty: any).
    """

    name: str
    fn: ProxyFn
    batch_size: int = 64
    needs_data: bool = True
    needs_labels: bool = False
    needs_grad: bool = False
    keeps_bn: bool = True
    uses_arch: bool = False
    version: int = 1
    description: str = ""
    shares_model: str = ""
    spaces: tuple[str, ...] = ()

    def score(
        self,
        model: nn.Module,
        inputs: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        *,
        seed: int = 0,
        **context,
    ) -> float:
        """Score ``model``; ``context`` carries extras such as ``arch`` and ``space``."""
        if self.needs_data and inputs is None:
            raise ValueError(f"proxy {self.name!r} needs an input batch")
        if self.needs_labels and labels is None:
            raise ValueError(f"proxy {self.name!r} needs labels")
        return float(self.fn(model, inputs, labels, seed=seed, **context))


def register_proxy(name: str, **options) -> Callable[[ProxyFn], ProxyFn]:
    """Function decorator registering a proxy under ``name`` with Proxy ``options``."""

    def add(fn: ProxyFn) -> ProxyFn:
        if name in PROXIES:
            raise ValueError(f"proxy {name!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        PROXIES[name] = Proxy(name, fn, description=doc[0] if doc else "", **options)
        return fn

    return add


def check_spaces(names: list[str] | tuple[str, ...], space: str) -> None:
    """ValueError before any scoring when one of ``names`` (per-network proxies) is defined
    for other spaces only, rather than after the others have scored a network."""
    for name in names:
        proxy = get_proxy(name)
        if isinstance(proxy, Proxy) and proxy.spaces and space not in proxy.spaces:
            raise ValueError(
                f"proxy {name!r} is defined for the spaces {', '.join(proxy.spaces)} only, "
                f"not for {space!r}"
            )


def get_proxy(name: str) -> Proxy | Combo:
    """A registered proxy by name, an exported proxy file's (a path ending in ``.py``), or a
    combo (``combo:AGG(p1,p2)`` or an alias such as ``az_nas``), which has no per-network
    score: callers aggregate its components over the networks they compare.

    ``"all"`` is expanded by callers, not here.
    """
    from eznas.proxies.combo import is_combo, parse_combo

    if is_combo(name):
        return parse_combo(name)
    if ".py#" in str(name):
        from eznas.proxies.loader import load_component

        return load_component(name)
    from eznas.proxies.evolved import EVOLVED
    from eznas.proxies.loader import load_proxy_file

    if str(name).endswith(".py"):
        return load_proxy_file(name)
    if name in EVOLVED:
        return load_proxy_file(EVOLVED[name])
    try:
        return PROXIES[name]
    except KeyError:
        raise ValueError(
            f"unknown proxy {name!r}; available: {', '.join(sorted(PROXIES))}, the evolved "
            f"{', '.join(EVOLVED) or '(none)'} and combos 'combo:AGG(p1,p2,...)'"
        ) from None
