"""Errors the CLI turns into exit codes.

`BadInput` carries *every* problem found (config, paths, data), one line each,
so a user fixes them all in one go; the CLI prints them and exits 2.
`format_errors` says a pydantic validation error that way (the suite schema and adapter Configs).
"""
from __future__ import annotations

import difflib
import errno
import os
import reprlib
import typing
from collections.abc import Iterable

import torch
from pydantic import BaseModel, ValidationError


class BadInput(Exception):
    """Bad config, paths or data. `problems` is a list of one-line messages."""

    def __init__(self, problems: str | Iterable[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


# A given value echoed in a message is cut short: a suite can hold a 300-byte alias bomb whose full repr is
# gigabytes, or a megabyte string. reprlib bounds the walk (depth, items), `shown` the length.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 2, 4, 4, 4, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 100, 60, 40


def shown(value, limit: int = 120) -> str:
    """`value` as a message echoes it: a repr of at most `limit` characters ('lstmm' stays 'lstmm')."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int past Python's 4300-digit str() limit, alone or inside a container
        text = f"<{type(value).__name__} too large to print>"
    return clip(text, limit)


def clip(text: str, limit: int = 120) -> str:
    """A key path or name built from given keys, cut to `limit` characters (no quotes added)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def missing(path) -> str:
    """Why `path` can't be opened, for 'KEY: {missing(path)}' lines: 'file not found: P', or a symlink loop
    said as such (a loop is not a missing file, and the user looks for a different mistake)."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"symlink loop: {path}"
    return f"file not found: {path}"


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """' — did you mean 'x'?' or '' when nothing is close."""
    if not isinstance(given, str) or len(given) > 200:  # str() of a nested value could be huge; nothing is close
        return ""
    close = difflib.get_close_matches(str(given), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def unknown_name(kind: str, given: str, choices: Iterable[str]) -> str:
    """The standard lookup error line: unknown adapter 'lstmm' — did you mean 'lstm'? available: ..."""
    choices = sorted(choices)
    hint = did_you_mean(given, choices)
    sep = "" if hint else " —"
    return f"unknown {kind} {shown(given)}{hint}{sep} available: {', '.join(choices)}"


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text  # also when torch.compile re-wraps it


def error_message(exc: BaseException, limit: int = 600) -> str:
    text = "; ".join(exc.problems) if isinstance(exc, BadInput) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Pydantic validation errors as one line each: field path, what is allowed, what was given.
def _path(loc: tuple) -> str:
    return clip(".".join(str(p) for p in loc))  # keys are given too: bounded


def _unwrap(tp):
    """The pydantic model inside Optional[...] / list[...] / dict[..., ...] annotations."""
    for arg in typing.get_args(tp) or ():
        found = _unwrap(arg)
        if found is not None:
            return found
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _model_at(root: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The model class whose field set applies at `loc` (walking field annotations)."""
    model = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, str) and part in model.model_fields:
            ann = model.model_fields[part].annotation
            model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else _unwrap(ann)
    return model


def format_errors(err: ValidationError, root: type[BaseModel] | None) -> list[str]:
    """One line per problem in `err` (duplicates dropped); `root` (the model validated) names allowed keys."""
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or "-" in p)))
        where = _path(loc) or "suite"
        given = e.get("input")
        if e["type"] == "extra_forbidden":
            model = _model_at(root, loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            key = loc[-1]
            lines.append(f"{where}: unknown key {shown(key)}{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}")
        elif e["type"] == "missing":
            lines.append(f"{where}: required, not given")
        elif e["type"] == "literal_error":
            expected = e["ctx"]["expected"]
            lines.append(f"{where}: allowed {expected}; given {shown(given)}{did_you_mean(given, expected.replace(chr(39), '').replace(' or ', ', ').split(', '))}")
        else:
            lines.append(f"{where}: {e['msg']}; given {shown(given)}")
    return sorted(set(lines), key=lines.index)
