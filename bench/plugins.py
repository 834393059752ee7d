"""Adapter classes and metric functions handed to the Python API as objects (`nlpbench.run(suite,
adapters={"mine": MyAdapter}, metrics={"mine": fn})`), checked and registered for this process.

A suite then names them as any other: `adapter: mine`, `metrics: [mine]`. They stay registered after the
call, so `nlpbench.compare` and `nlpbench.load(...).frame()` in the same process know the metric's direction
and tolerance; a later call may hand over a new object under the same name (a notebook cell run again), but
never one of a built-in or installed adapter's or metric's names. Objects live in this process only: a
launcher that starts fresh interpreters (`process`, `ray`, `torchrun`) could not find them, so that is
refused — name them as `module:Class` / `module:function` there instead. The metric decorator itself is
nlpbench.metrics.plugin.metric (`@nlpbench.metric`).
"""
from __future__ import annotations

from nlpbench.errors import shown
from nlpbench.metrics.plugin import metric  # noqa: F401  (re-exported: `nlpbench.metric`)
from nlpbench.suite.values import name_problem

_GIVEN: dict[str, set[str]] = {"adapters": set(), "metrics": set()}  # names this process registered from objects


def problems(adapters, metrics, raw: dict) -> list[str]:
    """Every reason the objects can't be used as given, one line each."""
    out = []
    for what, table in (("adapters", adapters), ("metrics", metrics)):
        if table is None:
            continue
        if not isinstance(table, dict):
            out.append(f"{what}: a mapping of name -> {'adapter class' if what == 'adapters' else 'metric function'}; "
                       f"given {shown(table, 60)}")  # fmt: skip
            continue
        for name, obj in table.items():
            at = f"{what}.{name}" if isinstance(name, str) else what
            if not isinstance(name, str) or ":" in name or name_problem(name, at):
                out.append(f"{at}: a name is 1-100 letters, digits and . _ - (no ':'); given {shown(name)}")
                continue
            out += [f"{at}: {p}" for p in (_adapter_problems if what == "adapters" else _metric_problems)(name, obj)]
    if adapters or metrics:
        out += _placement_problems(raw)
    return out


def _adapter_problems(name: str, cls) -> list[str]:
    from nlpbench.contract import static_problems
    from nlpbench.registry import adapters

    if not isinstance(cls, type):
        return [f"an adapter class; given {shown(cls, 60)}"]
    known = adapters().get(name)
    if known is not None and known is not cls and name not in _GIVEN["adapters"]:
        return [f"{shown(name)} is already the adapter {known.__module__}.{known.__qualname__}; pick another name"]
    lines = static_problems(cls)
    return [f"breaks the adapter contract: {'; '.join(lines)}"] if lines else []


def _metric_problems(name: str, fn) -> list[str]:
    from nlpbench import metrics
    from nlpbench.metrics.plugin import problems as function_problems

    if name in metrics.registry() and name not in _GIVEN["metrics"]:
        return [f"{shown(name)} is already a metric ({metrics.get(name).label}); pick another name"]
    return [p.split(": ", 1)[1] for p in function_problems(fn, name)]


def _placement_problems(raw: dict) -> list[str]:
    """Objects exist in this process only: launchers that start other interpreters can't see them."""
    launcher, workers = raw.get("launcher"), raw.get("workers")
    perf = raw.get("perf") if isinstance(raw.get("perf"), dict) else {}
    found = []
    if launcher in ("process", "ray") or (launcher in (None, "inline") and isinstance(workers, int) and workers > 1):
        found.append(f"launcher: {launcher or 'process'} (workers {workers}) trains in other interpreters, which can't see "
                     "adapters or metrics handed over as objects; use launcher inline, or name them as module:Class / "
                     "module:function")  # fmt: skip
    if perf.get("launcher") in ("process", "ray", "torchrun"):
        found.append(f"perf.launcher: {perf['launcher']} times cells in other interpreters, which can't see adapters "
                     "handed over as objects; use inline, or name them as module:Class")  # fmt: skip
    return found


def register(adapters: dict | None, metrics: dict | None) -> None:
    """Registers checked objects (see `problems`) for this process."""
    from nlpbench import metrics as entries
    from nlpbench.metrics.plugin import as_entry
    from nlpbench.registry import register_object

    for name, cls in (adapters or {}).items():
        register_object(name, cls)
        _GIVEN["adapters"].add(name)
    for name, fn in (metrics or {}).items():
        entries.register(as_entry(fn, name))
        _GIVEN["metrics"].add(name)
