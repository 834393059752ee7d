"""What the harness knows about each task, in one table: data roles, metrics, their direction and gate
tolerance, which metric picks the checkpoint, and what the model emits.

Everything else asks here (suite validation, data loading, scoring, tables, plots, the regression
gate), so a new task or metric is one entry, not a hunt through a dozen files.
"""
from __future__ import annotations

from dataclasses import dataclass

from nlpbench.errors import BadInput, unknown_name


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # column title in tables and plots
    higher_is_better: bool = True
    tolerance: float | None = None  # the gate's allowed absolute worsening (None: shown, never gated)
    per_example: bool = False  # a mean of per-example scores (accuracy), so it has a closed-form interval


@dataclass(frozen=True)
class Task:
    name: str
    roles: tuple[str, str]  # the data columns a split holds: (input, reference)
    metrics: tuple[str, ...]  # metrics a suite may ask for
    default_metrics: tuple[str, ...]
    select_metric: str  # validation metric that picks the best checkpoint (and the Pareto plot's y)
    generates: bool  # its models decode text: perf has `generate` cells, predictions are strings

    @property
    def reference_role(self) -> str:
        return self.roles[1]

    def references(self, split) -> list:
        """The gold answers of a split (a `datasets.Dataset` with this task's roles)."""
        return list(split[self.reference_role])


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "accuracy", tolerance=0.005, per_example=True),
        Metric("f1_macro", "macro-F1", tolerance=0.005),
        Metric("bleu", "BLEU", tolerance=0.5),
        Metric("chrf", "chrF", tolerance=0.5),
    )
}

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("classification", ("text", "label"), ("accuracy", "f1_macro"), ("accuracy", "f1_macro"), "accuracy", False),
        Task("translation", ("src", "tgt"), ("bleu", "chrf"), ("bleu", "chrf"), "bleu", True),
    )
}
TASK_NAMES = tuple(TASKS)


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise BadInput(unknown_name("task", name, TASKS))
    return TASKS[name]


def get_metric(name: str) -> Metric:
    """A metric's direction and tolerance; an unknown name is a metric a plugin adds: higher is better, not gated."""
    return METRICS.get(name) or Metric(name, name)
