"""`nlpbench validate`: every problem of a suite at once — schema, adapters and params, data, perf cells.

A run stops at the first stage that fails (nothing can run on a broken suite). Validate goes on: the data
of each task whose own spec is sound is loaded even when another part of the suite is wrong, and the perf
check runs whenever the suite's shape allows it, so one invocation lists what needs fixing.
"""
from __future__ import annotations

from pydantic import ValidationError

from nlpbench.errors import BadInput


def _task_specs(raw: dict, suite) -> list:
    """The tasks as specs; a task that fails the schema for more than an unknown key is None (its lines are
    already listed)."""
    if suite is not None:
        return list(suite.tasks)
    from nlpbench.suite.salvage import salvaged_task  # a task with only an unknown key wrong still has its data checked
    from nlpbench.suite.schema import TaskSpec

    tasks = raw.get("tasks")
    return [salvaged_task(t, TaskSpec) for t in tasks] if isinstance(tasks, list) else []


def collect(raw: dict, data_dir: str | None):
    """(the suite by schema or None, each task's data or None, every problem in order, no duplicates)."""
    from nlpbench.data import load_task_data
    from nlpbench.suite.schema import Suite, model_problems, validate

    problems = []
    try:
        validate(raw, data_dir=data_dir)
    except BadInput as e:
        problems += e.problems
    try:
        suite = Suite.model_validate(raw)
    except ValidationError:
        suite = None
    seed = suite.seed if suite is not None else raw.get("seed") if isinstance(raw.get("seed"), int) else 0
    data, specs = [], _task_specs(raw, suite)
    if suite is None:  # the suite's shape failed, so validate() never reached the models: check each task's
        problems += [p for i, t in enumerate(specs) if t is not None for mi, m in enumerate(t.models)
                     for p in model_problems(m, t.task, f"tasks.{i}.models.{mi}")]
    for i, task in enumerate(specs):
        at = f"tasks.{i}.dataset"
        if task is None or any(p.startswith(at) for p in problems):  # its dataset is already reported
            data.append(None)
            continue
        try:
            data.append(load_task_data(task, data_dir, seed, at=at))
        except BadInput as e:
            problems += e.problems
            data.append(None)
    if suite is not None and suite.perf is not None and all(d is not None for d in data):
        problems += _perf_problems(suite, data)
    return suite, data, list(dict.fromkeys(problems))


def _perf_problems(suite, data) -> list[str]:
    from nlpbench.perf.plan import check_perf

    try:
        check_perf(suite, data)
    except BadInput as e:
        return e.problems
    except Exception:  # an unknown adapter or bad params, already listed by the schema stage
        return []
    return []


def validate_selected(suite_arg: str, overrides, data_dir, tasks=None, models=None):
    """(suite, data) of a selection that is valid in every respect; BadInput with every problem otherwise."""
    from nlpbench.suite.schema import read_suite
    from nlpbench.suite.selection import select

    raw = select(read_suite(suite_arg, overrides), tasks, models)  # an unreadable file: nothing more to check
    suite, data, problems = collect(raw, data_dir)
    if problems:
        raise BadInput(problems)
    return suite, data
