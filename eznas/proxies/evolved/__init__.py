"""Evolved proxies that ship with eznas: exported files, usable by name like any proxy.

Each ``<name>.py`` here is a file ``eznas export`` wrote, kept as it was written; beside it
``<name>.md`` records the command and seeds that produced it, how it was chosen (never by a
held-out network) and its held-out table. ``get_proxy("<name>")`` loads the file.
"""

from __future__ import annotations

from pathlib import Path

EVOLVED: dict[str, Path] = {
    path.stem: path
    for path in sorted(Path(__file__).parent.glob("*.py"))
    if path.stem != "__init__"
}
"""Shipped evolved proxies by name: their exported files."""
