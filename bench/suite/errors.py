"""Pydantic validation errors as one line each: field path, what is allowed, what was given."""
from __future__ import annotations

import typing

from pydantic import BaseModel, ValidationError

from nlpbench.errors import clip, did_you_mean, shown


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
