"""`--tasks NAME[,NAME]` and `--models NAME[,NAME]`: run, validate or eval part of a suite.

Names are labels (a task's `name` else its kind; a model's `name` else its
adapter), as in tables and cell ids. Selection happens after overrides, so
override indices (`tasks.0.models.2...`) always count in the suite file.

- A task is kept when `--tasks` names it (all tasks without `--tasks`) and it
  still has a selected model.
- `--models` keeps the named models of each kept task, and the named entries
  of an explicit `perf.models` list; a perf section whose explicit models are
  all filtered out is dropped. Perf models that come from the tasks follow the
  task selection by construction.
- Each name must match somewhere, else one line with a did-you-mean.

`--resume` compares the whole suite (before selection), so one run folder can
be filled part by part: `run sst2 --models lstm`, later
`run sst2 --resume RUN_DIR --models bert` (only missing cells run).
"""
from __future__ import annotations

from nlpbench.errors import BadInput, unknown_name


def names(arg: str | None) -> list[str] | None:
    """'a,b' -> ['a', 'b']; None or '' -> None (everything)."""
    if not arg:
        return None
    return [n.strip() for n in arg.split(",") if n.strip()] or None


def _label(entry, kind_key: str) -> str | None:
    return (entry.get("name") or entry.get(kind_key)) if isinstance(entry, dict) else None


def _list(x) -> list:
    return x if isinstance(x, list) else []


def select(raw: dict, tasks: list[str] | None = None, models: list[str] | None = None) -> dict:
    """A copy of the raw suite mapping (overrides applied, not yet validated) holding only the
    selected tasks and models; BadInput for unknown names.

    Working on the mapping before validation means unselected models aren't
    checked (`--models lstm` needs no package that only another row uses)."""
    if not tasks and not models:
        return raw
    problems = []
    all_tasks = _list(raw.get("tasks"))
    task_labels = [_label(t, "task") for t in all_tasks]
    for name in tasks or []:
        if name not in task_labels:
            problems.append("--tasks: " + unknown_name("task", name, [t for t in task_labels if t]))
    chosen = [t for t, label in zip(all_tasks, task_labels) if not tasks or label in tasks or problems]
    perf = raw.get("perf") if isinstance(raw.get("perf"), dict) else None
    perf_models = _list(perf.get("models")) if perf else []
    labels = {_label(m, "adapter") for t in chosen for m in _list(t.get("models"))} | {_label(m, "adapter") for m in perf_models}
    labels.discard(None)
    for name in models or []:
        if name not in labels:
            problems.append("--models: " + unknown_name("model", name, labels))
    if problems:
        raise BadInput(problems)
    keep = set(models) if models else None
    out = dict(raw)
    out["tasks"] = []
    for t in chosen:
        kept = [m for m in _list(t.get("models")) if keep is None or _label(m, "adapter") in keep]
        if kept:
            out["tasks"].append({**t, "models": kept})
    if perf_models and keep is not None:
        kept_perf = [m for m in perf_models if _label(m, "adapter") in keep]
        out["perf"] = {**perf, "models": kept_perf} if kept_perf else None
    return out


def selection(tasks: list[str] | None, models: list[str] | None) -> dict:
    """What run.json records about the selection (empty when everything runs)."""
    return {k: v for k, v in {"tasks": tasks, "models": models}.items() if v}


def load_selected(suite_arg: str, overrides, data_dir, tasks=None, models=None):
    """(whole suite, selected suite): the selection fully validated; the whole suite by schema only
    (it is what run.json stores and `--resume` compares)."""
    from pydantic import ValidationError

    from nlpbench.suite.schema import Suite, read_suite, validate

    if isinstance(suite_arg, dict):  # the API's suite built in code (nlpbench.suite.plain checked it is data)
        from nlpbench.suite.overrides import apply_overrides

        raw = apply_overrides(suite_arg, list(overrides))
    else:
        raw = read_suite(suite_arg, overrides)
    suite = validate(select(raw, tasks, models), data_dir=data_dir)
    if not tasks and not models:
        return suite, suite
    try:
        return Suite.model_validate(raw), suite
    except ValidationError:  # a problem outside the selection: the selection alone is what runs
        return suite, suite
