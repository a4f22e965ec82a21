"""Command-line options generated from the API: a function's or dataclass's parameters.

An option's type and the default its help shows are read from the signature, and an option
the user does not give stays out of the parsed namespace, so ``given`` passes only what was
typed and the API's own default applies: no default is written twice. ``Deprecated`` keeps an
old spelling working for one release.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields, is_dataclass

SHOWN = argparse.SUPPRESS  # an option not given stays out of the namespace


class Deprecated(argparse.Action):
    """An old spelling kept for one release: it warns, then stores like its new name."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        kwargs.setdefault("default", SHOWN)
        kwargs.setdefault("help", SHOWN)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"eznas: {option_string} is deprecated here, use {self.new} "
            "(the old spelling goes in the next release)",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def _field_default(f) -> object:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else MISSING


def parameters(api: Callable | type) -> dict[str, tuple[object, object]]:
    """name -> (type hint, default or MISSING) of a function's or dataclass's parameters."""
    hints = typing.get_type_hints(api)
    if is_dataclass(api):
        return {f.name: (hints[f.name], _field_default(f)) for f in fields(api)}
    out = {}
    for name, p in inspect.signature(api).parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        out[name] = (hints.get(name), MISSING if p.default is p.empty else p.default)
    return out


def _plain_type(hint: object) -> tuple[type | None, bool]:
    """(element type, is a list) of a hint such as ``int``, ``float | None``, ``list[str]``,
    ``str | os.PathLike`` (a path is given as a string)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kept = [_plain_type(a) for a in args if a is not type(None)]
        for found in ((str, False), *kept):
            if found in kept:
                return found
        return kept[0] if all(k == kept[0] for k in kept) else (None, False)
    if origin in (list, tuple, Sequence):
        return (args[0] if args and args[0] in (int, float, str) else None), True
    return (hint if hint in (bool, int, float, str) else None), False


def flag(name: str) -> str:
    return f"-{name}" if len(name) == 1 else "--" + name.replace("_", "-")


def add_option(
    parser: argparse.ArgumentParser,
    name: str,
    hint: object,
    default: object,
    help: str = "",
    *,
    option: str | None = None,
) -> None:
    """One option for an API parameter: its type and shown default come from the API."""
    kind, many = _plain_type(hint)
    if kind is None:
        raise TypeError(f"cannot make a command-line option of {name}: {hint}")
    option = option or flag(name)
    shown = "" if default in (MISSING, None) else f" (default: {default})"
    if kind is bool and not many:
        negate = default is True
        parser.add_argument(
            "--no-" + option.lstrip("-") if negate else option,
            dest=name,
            action="store_false" if negate else "store_true",
            default=SHOWN,
            help=help,
        )
        return
    parser.add_argument(
        option,
        dest=name,
        type=kind,
        nargs="+" if many else None,
        default=SHOWN,
        required=default is MISSING,
        help=help + shown,
    )


def options_from(
    parser: argparse.ArgumentParser,
    api: Callable | type,
    helps: dict[str, str],
    *,
    skip: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
) -> None:
    """Options for every parameter of ``api`` except ``skip``; ``helps`` holds their words."""
    rename = rename or {}
    for name, (hint, default) in parameters(api).items():
        if name not in skip:
            add_option(parser, name, hint, default, helps.get(name, ""), option=rename.get(name))


def given(args: argparse.Namespace, api: Callable | type) -> dict:
    """The options of ``api`` the user gave (the rest keep the API's defaults)."""
    names = parameters(api)
    return {k: v for k, v in vars(args).items() if k in names}
