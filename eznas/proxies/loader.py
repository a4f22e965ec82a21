"""Exported evolved proxies: a standalone ``.py`` file used wherever a proxy name is.

A file of several rank-combined components loads as a ``Combo`` of its components (each a
Proxy named ``path.py#i``) and its network terms.

The file defines ``score_model(model, inputs, labels, *, seed=0, batch=None) -> float`` and
``PROXY_INFO = {"name", "batch_size", "needs_labels", "needs_grad", "kinds"}``; ``batch(size)``
gives the seeded batches of other sizes a file captures at (raw B = 1 beside summaries). Its Proxy
is named ``file:<name>@<hash>``, with a short hash of the file's bytes, so it cannot clash
with a registered proxy and the score cache never serves scores of an older version.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
from collections.abc import Callable
from pathlib import Path

from eznas.errors import BadFileError
from eznas.proxies.base import Proxy
from eznas.proxies.combo import Combo

REQUIRED_INFO = ("name", "batch_size", "needs_labels", "needs_grad")
_LOADED: dict[tuple[str, str], Proxy | Combo] = {}
_COMPONENTS: dict[tuple[str, str], list[Proxy]] = {}


def load_component(name: str) -> Proxy:
    """Component ``i`` of a multi-component file, named ``path.py#i`` (a name any worker
    process can resolve, unlike a proxy registered at run time)."""
    path, _, index = name.rpartition("#")
    combo = load_proxy_file(path)
    components = _COMPONENTS.get(_key(Path(path).resolve()), [])
    if not isinstance(combo, Combo) or not index.isdigit() or int(index) >= len(components):
        raise ValueError(f"{name!r} is not a component of an exported multi-component proxy")
    return components[int(index)]


def model_group(group: str) -> list[Proxy]:
    """The components of the loaded file whose ``shares_model`` is ``group``."""
    path, _, digest = group.rpartition("@")
    return _COMPONENTS.get((path, digest), [])


def _passes(score) -> Callable[..., dict]:
    """The context a file's scoring function takes: ``batch`` (the scorer's seeded batch of
    any size), ``pattern`` (the scored space's block pattern) and, where it names it,
    ``arch`` (the scored arch, which lets components share a capture). Exported files take
    them; a hand-written ``score_model(model, inputs, labels, *, seed)`` need not."""
    params = inspect.signature(score).parameters.values()
    takes = {p.name for p in params} | ({"batch", "pattern"} if any(
        p.kind is p.VAR_KEYWORD for p in params) else set())  # fmt: skip

    def context(batch=None, space=None, arch=None) -> dict:
        found = {"batch": batch, "pattern": getattr(space, "block_pattern", None), "arch": arch}
        return {k: v for k, v in found.items() if k in takes}

    return context


def _key(path: Path) -> tuple[str, str]:
    return str(path), hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def load_proxy_file(path: str | os.PathLike) -> Proxy | Combo:
    """The Proxy defined by an exported file (loaded once per path and content); a file of
    several components gives their log-rank Combo, components named ``path.py#i``."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"exported proxy file {str(path)!r} does not exist")
    key = _key(path)
    digest = key[1]
    if key not in _LOADED:
        spec = importlib.util.spec_from_file_location(f"eznas_exported_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as err:  # noqa: BLE001  (whatever the user's file raises is its fault)
            raise BadFileError(
                f"{path} cannot be loaded as a proxy: {type(err).__name__}: {err}"
            ) from None
        info = getattr(module, "PROXY_INFO", None)
        if isinstance(info, dict) and "components" in info:
            _LOADED[key] = _combo(path, module, info, digest)
            return _LOADED[key]
        score = getattr(module, "score_model", None)
        if not callable(score) or not isinstance(info, dict):
            raise BadFileError(
                f"{path} is not an exported proxy: it must define score_model() and PROXY_INFO"
            )
        missing = [k for k in REQUIRED_INFO if k not in info]
        if missing:
            raise BadFileError(f"{path}: PROXY_INFO lacks {', '.join(missing)}")

        context = _passes(score)

        def fn(model, inputs, labels, *, seed: int = 0, batch=None, space=None, arch=None, **_):
            return score(model, inputs, labels, seed=seed, **context(batch, space, arch))

        _LOADED[key] = Proxy(
            name=f"file:{info['name'] or path.stem}@{digest}",
            fn=fn,
            batch_size=int(info["batch_size"]),
            needs_labels=bool(info["needs_labels"]),
            needs_grad=bool(info["needs_grad"]),
            description=f"exported proxy {path.name} (kinds: {info.get('kinds', [])})",
        )
    return _LOADED[key]


def _combo(path: Path, module, info: dict, digest: str) -> Combo:
    """The Combo of a multi-component file: one Proxy per component, plus its network terms
    (library proxies), aggregated as ``info["combine"]``."""
    score = getattr(module, "score_component", None)
    if not callable(score):
        raise BadFileError(f"{path}: a multi-component proxy must define score_component()")
    components, context = [], _passes(score)
    for i, entry in enumerate(info["components"]):

        def fn(
            model, inputs, labels, *, seed: int = 0, batch=None, space=None, arch=None, _i=i, **_
        ):
            return score(_i, model, inputs, labels, seed=seed, **context(batch, space, arch))

        components.append(
            Proxy(
                name=f"file:{info['name'] or path.stem}@{digest}#{i}",
                fn=fn,
                batch_size=int(info["batch_size"]),
                needs_data=bool(entry.get("needs_data", True)),
                needs_labels=bool(entry["needs_labels"]),
                needs_grad=bool(entry["needs_grad"]),
                description=f"component {i} of {path.name} (kinds: {entry['kinds']})",
                shares_model=f"{path}@{digest}",
            )
        )
    _COMPONENTS[(str(path), digest)] = components
    names = [f"{path}#{i}" for i in range(len(components))] + list(info.get("terms", []))
    return Combo(f"file:{info['name'] or path.stem}@{digest}", info["combine"], tuple(names))
