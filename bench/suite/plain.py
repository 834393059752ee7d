"""A suite given as a Python mapping (the API) checked to be data, as a YAML file can only be.

A suite file holds text, numbers, booleans, null, lists and mappings; a dict built in code can hold
anything — a lambda, a class, a set, an object, itself. Those are refused here, each with its key path,
before the schema sees them (pydantic would turn some into strings, and run.json must be JSON). Values
that are data in another dress come through as that data: tuples as lists, paths as strings, numpy
scalars as Python numbers.
"""
from __future__ import annotations

import os

from nlpbench.errors import clip, shown

SCALARS = (str, bool, int, float, type(None))
HINT = {  # what the caller probably meant to hand over
    "function": " — pass metric functions as metrics={name: fn} and adapter classes as adapters={name: cls}",
    "type": " — pass adapter classes as adapters={name: cls}, or name one as 'module:Class'",
}


def plain(value, at: str = "") -> tuple[object, list[str]]:
    """(`value` as plain data, one problem line per part that is not data)."""
    problems: list[str] = []
    return _walk(value, at, problems, set()), problems


def _walk(value, at: str, problems: list[str], inside: set[int]):
    where = at or "suite"
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()  # a numpy scalar (np.int64(0), np.float32(0.5))
    if isinstance(value, (dict, list, tuple)):
        if id(value) in inside:
            problems.append(f"{where}: a mapping or list that contains itself is not data")
            return None
        inside = inside | {id(value)}
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(f"{where}: keys are text; given the key {shown(key)}")
                    continue
                out[key] = _walk(item, clip(f"{at}.{key}" if at else key), problems, inside)
            return out
        return [_walk(item, clip(f"{at}.{i}" if at else str(i)), problems, inside) for i, item in enumerate(value)]
    kind = "function" if callable(value) and not isinstance(value, type) else "type" if isinstance(value, type) else ""
    problems.append(f"{where}: a suite holds data (text, numbers, booleans, None, lists, mappings); given "
                    f"{'a ' + kind if kind else 'a ' + type(value).__name__} {shown(value, 60)}{HINT.get(kind, '')}")
    return None
