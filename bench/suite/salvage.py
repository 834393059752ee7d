"""A suite's model, metric and perf-model problems found even when its shape is wrong elsewhere.

When the schema refuses a suite (an unknown key in a task, a wrong type anywhere), pydantic stops there and
the adapter checks never run: `lstmm` and `hidden_size: big` surfaced only after the unknown key was fixed,
one round trip each. Here each raw model mapping that is itself well formed is checked on its own — its
adapter, params and train keys, against its task's kind when that kind is valid — and each metric a raw task
lists, so one `validate` (or `run`) lists every problem.
"""
from __future__ import annotations

from pydantic import ValidationError

from nlpbench.tasks import TASK_NAMES


def _items(node) -> list[tuple[int, dict]]:
    return [(i, x) for i, x in enumerate(node) if isinstance(x, dict)] if isinstance(node, list) else []


def salvaged_problems(raw: dict, schema) -> list[str]:
    """Problems of each well-formed model (and the metrics) of a raw suite the schema refused. `schema` is
    nlpbench.suite.schema, handed over by its own `validate` (an import here would close a cycle)."""
    from nlpbench import metrics

    ModelSpec, PerfModelSpec, model_problems = schema.ModelSpec, schema.PerfModelSpec, schema.model_problems
    if not isinstance(raw, dict):
        return []
    problems = []
    for ti, task in _items(raw.get("tasks")):
        kind = task.get("task") if task.get("task") in TASK_NAMES else None
        problems += _models(ModelSpec, task.get("models"), lambda m: kind, f"tasks.{ti}.models", model_problems)
        names = task.get("metrics")
        if kind and isinstance(names, list):
            problems += [f"tasks.{ti}.metrics.{mi}: {p}" for mi, m in enumerate(names) if isinstance(m, str)
                         for p in metrics.problems(m, kind)]  # fmt: skip
    perf = raw.get("perf") if isinstance(raw.get("perf"), dict) else {}
    problems += _models(PerfModelSpec, perf.get("models"), lambda m: m.task, "perf.models", model_problems)
    return problems


def salvaged_task(raw_task, TaskSpec):  # noqa: N803  (the class, handed over: see salvaged_problems)
    """A raw task as a TaskSpec with its unknown keys left out (they are reported by the schema), or None when
    it is wrong in some other way: so `validate` still loads and checks the data of a task with a typo'd key."""
    if not isinstance(raw_task, dict):
        return None
    try:
        return TaskSpec.model_validate({k: v for k, v in raw_task.items() if k in TaskSpec.model_fields})
    except ValidationError:
        return None


def _models(spec, models, kind_of, at: str, check) -> list[str]:
    out = []
    for mi, raw_model in _items(models):
        try:
            m = spec.model_validate(raw_model)
        except ValidationError:  # its own shape is wrong: the schema's lines already say so
            continue
        out += check(m, kind_of(m), f"{at}.{mi}")
    return out
