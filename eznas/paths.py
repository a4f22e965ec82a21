"""Where the data lives: an explicit path, else ``$EZNAS_DATA``, else ``../shared/data``.

One resolver is used by every stage so that the CLI, the Python API and the tests agree on
which files they read, and so that a missing file is reported with every place looked in.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "EZNAS_DATA"


class DataNotFoundError(FileNotFoundError):
    """A data file was not found in any of the candidate folders."""


def data_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Candidate data folders in priority order (explicit option, env var, ../shared/data)."""
    roots: list[Path] = []
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    if os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]).expanduser())
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidate = base.parent / "shared" / "data"
        if candidate not in roots:
            roots.append(candidate)
    return roots


def find_data(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the path of ``name`` (a file or folder) in the first data root holding it.

    Raises DataNotFoundError naming the file and every folder looked in.
    """
    roots = data_roots(data_dir)
    for root in roots:
        path = root / name
        if path.exists():
            return path
    looked = ", ".join(str(r) for r in roots)
    raise DataNotFoundError(
        f"could not find {name!r}; looked in: {looked}. "
        f"Pass --data DIR (data_dir=...) or set {ENV_VAR}=DIR to the folder holding it."
    )


def default_cache_dir() -> Path:
    """Default folder for statistics caches (``./statistics_cache``)."""
    return Path("statistics_cache")
