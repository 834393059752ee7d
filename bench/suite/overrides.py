"""Dotted `KEY=VALUE` overrides into a suite mapping.

`tasks.0.models.1.params.hidden_size=512` walks dicts by key and lists by index;
the value is parsed as YAML (`[1,8]` is a list, `512` an int, `null` None), safely.
Missing dict keys are created, so a typo reaches the schema and gets a
"did you mean" there.
"""
from __future__ import annotations

import copy

import yaml

from nlpbench.errors import BadInput, clip, shown
from nlpbench.suite import budget


def parse_value(text: str, what: str = "override"):
    """The YAML value of `text`, within the suite's budgets (nlpbench.suite.budget); not YAML: the string."""
    try:
        return budget.load(text, what) if text.strip() else ""
    except yaml.YAMLError:
        return text  # not YAML: keep the string as given


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """A copy of `raw` with each override applied; BadInput lists every malformed one."""
    out = copy.deepcopy(raw)
    problems = []
    for item in overrides:
        if "=" not in item:
            problems.append(f"override {shown(item)}: expected KEY=VALUE, e.g. perf.batch_sizes=[1,8]")
            continue
        key, value = item.split("=", 1)
        path = key.strip().split(".")
        try:
            if len(path) > budget.MAX_DEPTH:
                raise BadInput(f"{len(path)} keys deep; a suite nests at most {budget.MAX_DEPTH}")
            _set(out, path, parse_value(value, "value"))
        except BadInput as e:
            problems.append(f"override {shown(item)}: {e.problems[0]}")
    if problems:
        raise BadInput(problems)
    return out


def _set(node, path: list[str], value) -> None:
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = clip(".".join(path[: i + 1]))  # a key may be as long as the command line
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise BadInput(f"{where}: list index must be 0..{len(node) - 1}; given {shown(part)}")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        else:
            raise BadInput(f"{where}: cannot set a key inside a {type(node).__name__} value")
