"""Metrics: one file per metric in this package, each declaring everything about it in one entry.

A file `bench/metrics/<name>.py` holds the `evaluate.Metric` that computes it (run locally: no hub,
no network; the class is built on first use, since importing evaluate is slow) and a module-level `METRIC = Metric(...)`: its label, the tasks that may ask for it,
direction, gate tolerance, display decimals, a fast score for bootstraps, its 95% interval and its
paired test. Scoring, tables, seed tables, pairwise tests, plots and the regression gate ask the
entry (`get(name)`) rather than testing the name, so a new metric is its file plus its name in a
task's `metrics:` list. `compute(name, predictions, references)` returns the evaluate module's dict.
Modules without a `METRIC` are the entries' shared tools: `stats` (intervals, bootstraps, paired tests),
`corpus` (a sacreBLEU corpus metric's entry, which BLEU and chrF build theirs from), `plugin` (a metric from
outside the package as one decorated function: the `nlpbench.metrics` entry-point group, a `module:function`
named in a suite, or a function handed to the Python API; `register`, `get` and `problems` below).
"""
from __future__ import annotations

import importlib
import math
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from nlpbench.errors import BadInput, unknown_name


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # column title in tables and plots
    tasks: tuple[str, ...] = ()  # task kinds whose suites may list it
    higher_is_better: bool = True
    tolerance: float | None = None  # the gate's allowed absolute worsening (None: shown, never gated)
    decimals: int = 3  # rates in [0, 1] to 3 places; BLEU/chrF (0-100) to 1
    module: Callable | None = None  # () -> the evaluate.Metric subclass that computes it (built on first use)
    score: Callable | None = None  # (preds, refs) -> float, fast enough to run inside a bootstrap
    interval: Callable | None = None  # (preds, refs, seed) -> {"<name>_ci95": [lo, hi], ...}
    interval_method: str = ""
    paired: Callable | None = None  # (preds_a, preds_b, refs) -> {"delta", "ci95": [lo, hi], "p"}
    test: str = ""  # the paired test's name, shown in pairwise tables
    sufficient: Callable | None = None  # (preds, refs) -> per-example rows a subset of which `from_rows` rescores
    from_rows: Callable | None = None
    shown: tuple[str, ...] = ()  # other keys of a record's `metrics` shown beside it (bleu_signature)

    def compute(self, predictions: list, references: list, **kwargs) -> dict:
        if self.module is None:  # a plugin's function (nlpbench.metrics.plugin): its score is the metric
            return {self.name: self.score(predictions, references)}
        return _instance(self.module).compute(predictions=predictions, references=references, **kwargs)

    def rows(self, preds, refs) -> np.ndarray:
        """Per-example rows for resampling: the metric's own sufficient statistics, else (pred, ref) pairs."""
        if self.sufficient:
            return self.sufficient(preds, refs)
        return np.stack([np.asarray(preds), np.asarray(refs)], axis=1)

    def rescore(self, rows: np.ndarray) -> float:
        """The metric of a (resampled) subset of `rows(...)`."""
        return self.from_rows(rows) if self.from_rows else self.score(rows[:, 0], rows[:, 1])

    def fmt(self, value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return f"{float(value):.{self.decimals}f}"


@cache
def _instance(module: Callable):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local module never needs the hub
    return module()()


_BROKEN: dict[str, str] = {}  # entry-point name -> why it could not be loaded (said when a suite names it)


@cache
def registry() -> dict[str, Metric]:
    """Every `METRIC` entry of this package's modules and of the `nlpbench.metrics` entry-point group, by name
    (read once, on first use; `register` adds to it)."""
    from importlib.metadata import entry_points

    from nlpbench.metrics.plugin import as_entry

    found = {}
    for info in pkgutil.iter_modules(__path__):
        entry = getattr(importlib.import_module(f"{__name__}.{info.name}"), "METRIC", None)
        if isinstance(entry, Metric):
            found[entry.name] = entry
    for ep in entry_points(group="nlpbench.metrics"):
        if ep.name not in found:  # a built-in name is not replaced by an installed package
            try:
                found[ep.name] = as_entry(ep.load(), ep.name)
            except Exception as e:  # a broken plugin package must not break every command
                _BROKEN[ep.name] = f"entry point {ep.value} could not be loaded ({type(e).__name__}: {e})"
    return found


def register(entry: Metric) -> Metric:
    """Adds (or replaces) a metric entry for this process: the API's `metrics={...}`, a `module:function`."""
    registry()[entry.name] = entry
    return entry


def available() -> list[str]:
    return sorted(registry())


def get(name: str) -> Metric:
    """A metric's entry (a `module:function` is imported on first use); an unknown name is a metric an adapter
    writes itself: higher is better, not gated."""
    if name not in registry() and ":" in name:
        try:
            return resolve(name)
        except BadInput:
            pass
    return registry().get(name) or Metric(name, name)


def resolve(ref: str) -> Metric:
    """`module:function` named in a suite: imported and registered under that reference."""
    from importlib import import_module

    from nlpbench.errors import clip, shown
    from nlpbench.metrics.plugin import as_entry, problems

    module, _, qualname = ref.partition(":")
    try:
        obj = import_module(module)
    except (ImportError, ValueError, TypeError) as e:  # also an empty or relative module name
        raise BadInput(f"metric {shown(ref)}: cannot import module {shown(module)} ({clip(str(e))})") from None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if obj is None or (lines := problems(obj, ref)):
        raise BadInput(lines if obj is not None else [f"metric {shown(ref)}: module {shown(module)} has no {shown(qualname)}"])
    return register(as_entry(obj, ref))


def problems(name: str, task: str) -> list[str]:
    """Why a suite's task of kind `task` can't list the metric `name` (nothing when it can); a plugin is tried
    on a few made-up examples, so a broken one is found before anything trains."""
    from nlpbench.metrics.plugin import trial_problems

    if name in _BROKEN:
        return [f"metric {name!r}: {_BROKEN[name]}"]
    if name not in registry() and ":" in name:
        try:
            resolve(name)
        except BadInput as e:
            return e.problems
    allowed = for_task(task)
    if name not in allowed:
        return [unknown_name(f"{task} metric", name, allowed)]
    return trial_problems(registry()[name], task)


def tolerances(names) -> dict[str, float]:
    """The gate's tolerance of each metric in `names` that declares one (plugins included)."""
    return {n: e.tolerance for n in names if isinstance(n, str) and (e := get(n)).tolerance is not None}


def for_task(task: str) -> tuple[str, ...]:
    """The metrics a suite's task of this kind may list."""
    return tuple(n for n, m in registry().items() if task in m.tasks)


def load(name: str):
    """The evaluate.Metric that computes `name` (a one-line error for an unknown one; None for a plugin's
    function, which needs no module)."""
    get(name)  # a module:function is resolved here
    if name not in registry():
        raise BadInput(unknown_name("metric", name, available()))
    return _instance(registry()[name].module) if registry()[name].module else None


def compute(name: str, predictions: list, references: list, **kwargs) -> dict:
    load(name)
    return registry()[name].compute(predictions, references, **kwargs)


def bootstrap_ci(per_example: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of the mean of `per_example` scores (e.g. 0/1 correctness)."""
    x = np.asarray(per_example, dtype=float)
    if len(x) == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]
