"""What the harness knows about each task, in one table: data roles, default metrics, which metric picks
the checkpoint, and what the model emits.

Everything else asks here (suite validation, data loading, scoring, tables, plots, the regression
gate), so a new task is one entry, not a hunt through a dozen files. Metrics are entries of their own
(`nlpbench.metrics`, one file each, naming the tasks they apply to): which metrics a task may list is
asked there (`metrics.for_task`), so this table sits below the metric registry and imports none of it.
"""
from __future__ import annotations

from dataclasses import dataclass

from nlpbench.errors import BadInput, unknown_name


@dataclass(frozen=True)
class Task:
    name: str
    roles: tuple[str, str]  # the data columns a split holds: (input, reference)
    default_metrics: tuple[str, ...]
    select_metric: str  # validation metric that picks the best checkpoint (and the Pareto plot's y)
    generates: bool  # its models decode text: perf has `generate` cells, predictions are strings

    @property
    def reference_role(self) -> str:
        return self.roles[1]

    def references(self, split) -> list:
        """The gold answers of a split (a `datasets.Dataset` with this task's roles)."""
        return list(split[self.reference_role])


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("classification", ("text", "label"), ("accuracy", "f1_macro"), "accuracy", False),
        Task("translation", ("src", "tgt"), ("bleu", "chrf"), "bleu", True),
    )
}
TASK_NAMES = tuple(TASKS)


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise BadInput(unknown_name("task", name, TASKS))
    return TASKS[name]
