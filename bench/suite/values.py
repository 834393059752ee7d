"""Checks on a raw suite that its schema's types let through: non-finite numbers and unsafe names.

YAML reads `.inf` and `.nan` as floats, and pydantic takes them as positive floats: `lr: .inf` trained
to NaN weights recorded `ok`, `epochs: .inf` planned endless steps, a NaN target went into run.json as
`NaN` (not JSON), so `--resume` never matched it again. No suite number means anything when not finite
(`null` is how a suite says "no limit"), so any one anywhere is refused.

Suite, task and model names become file and folder names (the run folder, checkpoints, predictions,
logs), so each must be one safe path component: `tasks.0.name=../../x` wrote a checkpoint outside the
run folder.
"""
from __future__ import annotations

import math
import re

from nlpbench.errors import clip, shown

SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
MAX_LINES = 20  # a list of a thousand NaNs is one mistake, not a thousand lines


def raw_problems(raw: dict) -> list[str]:
    """Every non-finite number and unsafe name in a raw suite mapping, one line each."""
    if not isinstance(raw, dict):
        return []  # the schema says what a suite must be
    problems = [f"{at}: a finite number is required (use null for no limit); given {value}"
                for at, value in non_finite(raw, "")]  # fmt: skip
    if len(problems) > MAX_LINES:
        problems = problems[:MAX_LINES] + [f"... and {len(problems) - MAX_LINES} more non-finite numbers"]
    return problems + name_problems(raw)


def non_finite(node, at: str):
    """(dotted path, value) of each float that is NaN or infinite inside `node` (depth is bounded by
    nlpbench.suite.budget for files and overrides; API dicts are the caller's own)."""
    if isinstance(node, float) and not math.isfinite(node):
        yield at or "suite", node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from non_finite(value, clip(f"{at}.{key}" if at else str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from non_finite(value, clip(f"{at}.{i}" if at else str(i)))


def name_problem(name, at: str) -> str | None:
    """The line for a `name` that can't be one path component (None when it can, or isn't a string: the schema
    reports a wrong type)."""
    if not isinstance(name, str) or (SAFE_NAME.fullmatch(name) and name not in (".", "..")):
        return None
    return f"{at}: a name is one path component: 1-100 letters, digits and . _ - (not . or ..); given {shown(name)}"


def name_problems(raw: dict) -> list[str]:
    """Unsafe `name` of the suite, its tasks, their models and perf models (labels that become file names)."""
    found = [name_problem(raw.get("name"), "name")]
    for ti, task in _items(raw.get("tasks")):
        found.append(name_problem(task.get("name"), f"tasks.{ti}.name"))
        found += [name_problem(m.get("name"), f"tasks.{ti}.models.{mi}.name") for mi, m in _items(task.get("models"))]
    perf = raw.get("perf")
    models = perf.get("models") if isinstance(perf, dict) else None
    found += [name_problem(m.get("name"), f"perf.models.{mi}.name") for mi, m in _items(models)]
    return [line for line in found if line]


def _items(node) -> list[tuple[int, dict]]:
    """(index, item) of the mappings in a list (anything else is the schema's to report)."""
    return [(i, x) for i, x in enumerate(node) if isinstance(x, dict)] if isinstance(node, list) else []
