"""The errors a user's input can cause: the CLI prints their one line and exits with status 2.

eznas raises ``ValueError`` for a bad value (unknown name, number out of range) and the
classes below for bad files, so the error boundary in ``eznas.cli.main`` can tell a user's
mistake (one line, nothing lost) from a bug in eznas (a traceback).
"""

from __future__ import annotations


class BadFileError(ValueError):
    """A file the user gave is missing a part, truncated, corrupt, or of another schema."""


class UnknownKeyError(ValueError, KeyError):
    """A name or index that is not in a table, cache or registry (also a ``KeyError``)."""

    __str__ = BaseException.__str__  # KeyError's would quote the message


USER_ERRORS: tuple[type[Exception], ...] = (ValueError, FileNotFoundError)
"""What the CLI reports as the user's mistake: bad values and files (BadFileError and
UnknownKeyError are ValueErrors; DataNotFoundError is a FileNotFoundError)."""
