"""A metric from outside the package: one decorated function, as lm-evaluation-harness's `@register_metric`.

    import nlpbench

    @nlpbench.metric("exact_match", tasks=["translation"], tolerance=0.01)
    def exact_match(predictions, references) -> float:
        return sum(p == r for p, r in zip(predictions, references)) / len(references)

The function scores a whole split: predictions and references are lists (class ids for classification,
detokenised strings for translation) and it returns one number. The decorator declares everything else the
harness asks a metric entry (nlpbench.metrics.Metric): its direction, the gate's tolerance (None: shown,
never gated), its 95% interval and its paired test — by default a seeded percentile bootstrap over examples
and a paired bootstrap of Δ, both calling the function itself, so a new metric gets honest intervals and
pairwise tests without writing statistics. `interval=` / `paired=` take your own callables instead
(the shapes of `Metric.interval` and `Metric.paired`), or None for none.

Three ways in, each named in a suite's `metrics:` list (nlpbench.metrics.get resolves them): an entry point in
the `nlpbench.metrics` group (`[project.entry-points."nlpbench.metrics"] exact_match = "pkg.mod:exact_match"`),
a `module:function` reference, or the Python API's `nlpbench.run(..., metrics={"exact_match": fn})`. A plain
undecorated function works too: higher is better, not gated, bootstrap interval and test.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from nlpbench.errors import clip, shown
from nlpbench.metrics import Metric, stats

BOOTSTRAP = "bootstrap"


def metric(name: str | Callable | None = None, *, tasks: Sequence[str] | None = None, higher_is_better: bool = True,
           tolerance: float | None = None, decimals: int = 3, label: str | None = None,
           interval: str | Callable | None = BOOTSTRAP, paired: str | Callable | None = BOOTSTRAP):  # fmt: skip
    """Decorator: declares a function `(predictions, references) -> float` as a metric (its entry is the
    function's `.metric`); the function itself is returned unchanged. Usable bare (`@metric`) too."""
    if callable(name):
        return metric()(name)

    def wrap(fn: Callable) -> Callable:
        fn.metric_options = dict(tasks=tasks, higher_is_better=higher_is_better, tolerance=tolerance,
                                 decimals=decimals, label=label, interval=interval, paired=paired)  # fmt: skip
        fn.metric = function_metric(fn, name or fn.__name__, **fn.metric_options)
        return fn

    return wrap


def function_metric(fn: Callable, name: str, *, tasks=None, higher_is_better=True, tolerance=None, decimals=3,
                    label=None, interval=BOOTSTRAP, paired=BOOTSTRAP) -> Metric:  # fmt: skip
    from nlpbench.tasks import TASK_NAMES

    score = partial(_score, fn)
    return Metric(
        name, label or name, tasks=tuple(tasks or TASK_NAMES), higher_is_better=higher_is_better,
        tolerance=tolerance, decimals=decimals, score=score,
        interval=partial(_interval, name, score) if interval == BOOTSTRAP else interval,
        interval_method="percentile bootstrap over examples (1000 resamples)" if interval == BOOTSTRAP else "",
        paired=partial(_paired, score) if paired == BOOTSTRAP else paired,
        test="paired bootstrap" if paired == BOOTSTRAP else getattr(paired, "__name__", "") if paired else "",
    )  # fmt: skip


def _score(fn: Callable, preds, refs) -> float:
    """The user's function on plain lists (a bootstrap hands numpy arrays), as one float."""
    as_list = [p.tolist() if hasattr(p, "tolist") else list(p) for p in (preds, refs)]
    return float(fn(*as_list))


def _interval(name: str, score: Callable, preds, refs, seed: int) -> dict:
    return {f"{name}_ci95": stats.bootstrap_ci(score, preds, refs, seed=seed)}


def _paired(score: Callable, preds_a, preds_b, refs, seed: int = 0, n_boot: int = 1000) -> dict:
    return stats.paired_bootstrap(score, preds_a, preds_b, refs, n_boot=n_boot, seed=seed)


def as_entry(obj, name: str) -> Metric:
    """The entry of a Metric, a decorated function or a plain one, known by `name` (how the suite lists it;
    its records' `metrics` key and `<name>_ci95`). A decorated function keeps its declared label."""
    if isinstance(obj, Metric):
        return replace(obj, name=name)
    options = dict(getattr(obj, "metric_options", None) or {})
    options["label"] = options.get("label") or getattr(getattr(obj, "metric", None), "name", None)
    return function_metric(obj, name, **options)


def problems(obj, name: str) -> list[str]:
    """Why `obj` can't be the metric `name` (nothing for a fine one): not callable, or a function that can't
    take (predictions, references)."""
    if isinstance(obj, Metric) or isinstance(getattr(obj, "metric", None), Metric):
        return []
    if not callable(obj):
        return [f"metric {shown(name)}: a function (predictions, references) -> float; given {shown(obj, 60)}"]
    try:
        inspect.signature(obj).bind([], [])
    except TypeError as e:
        return [f"metric {shown(name)}: must take (predictions, references); {clip(str(e))}"]
    except ValueError:  # a builtin without a signature: the trial call says
        pass
    return []


def trial_problems(entry: Metric, task: str) -> list[str]:
    """A plugin's score on three made-up examples of `task`, before anything trains: it must return a number."""
    from nlpbench.tasks import TASKS

    if entry.module is not None or entry.score is None or task not in TASKS:
        return []  # a built-in: tested with the package
    try:
        entry.score(*TASKS[task].sample)  # a float, or TypeError/ValueError when the function returns something else
    except Exception as e:  # the user's code: any failure is a line, not a traceback
        return [f"metric {shown(entry.name)}: on 3 sample {task} examples it raised {type(e).__name__}: {clip(str(e))}"]
    return []
