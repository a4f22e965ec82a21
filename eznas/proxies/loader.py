"""Exported evolved proxies: a standalone ``.py`` file used wherever a proxy name is.

The file defines ``score_model(model, inputs, labels, *, seed=0) -> float`` and
``PROXY_INFO = {"name", "batch_size", "needs_labels", "needs_grad", "kinds"}``. Its Proxy
is named ``file:<name>@<hash>``, with a short hash of the file's bytes, so it cannot clash
with a registered proxy and the score cache never serves scores of an older version.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from eznas.errors import BadFileError
from eznas.proxies.base import Proxy

REQUIRED_INFO = ("name", "batch_size", "needs_labels", "needs_grad")
_LOADED: dict[tuple[str, str], Proxy] = {}


def load_proxy_file(path: str | os.PathLike) -> Proxy:
    """The Proxy defined by an exported file (loaded once per path and content)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"exported proxy file {str(path)!r} does not exist")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    key = (str(path), digest)
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
        score = getattr(module, "score_model", None)
        if not callable(score) or not isinstance(info, dict):
            raise BadFileError(
                f"{path} is not an exported proxy: it must define score_model() and PROXY_INFO"
            )
        missing = [k for k in REQUIRED_INFO if k not in info]
        if missing:
            raise BadFileError(f"{path}: PROXY_INFO lacks {', '.join(missing)}")

        def fn(model, inputs, labels, *, seed: int = 0, **_):
            return score(model, inputs, labels, seed=seed)

        _LOADED[key] = Proxy(
            name=f"file:{info['name'] or path.stem}@{digest}",
            fn=fn,
            batch_size=int(info["batch_size"]),
            needs_labels=bool(info["needs_labels"]),
            needs_grad=bool(info["needs_grad"]),
            description=f"exported proxy {path.name} (kinds: {info.get('kinds', [])})",
        )
    return _LOADED[key]
