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
    parallel_files: bool = False  # the files loader may read one text file per language (`{lang}` in a path)
    sample: tuple = ((), ())  # a tiny (predictions, references) pair a plugin metric is tried on before a run

    @property
    def input_role(self) -> str:
        return self.roles[0]

    @property
    def reference_role(self) -> str:
        return self.roles[1]

    @property
    def predicts_classes(self) -> bool:
        """Predictions are class ids: a label set to check and map to ids, probabilities to keep."""
        return not self.generates

    @property
    def no_answer(self):
        """What stands in for a prediction that never came (serve's dropped answers): scored as wrong."""
        return -1 if self.predicts_classes else ""

    @property
    def perf_modes(self) -> tuple[str, ...]:
        """Perf modes in the order a model of this task is compared at: what it costs in use first."""
        return ("generate", "forward") if self.generates else ("forward", "generate")

    def tokens_per_row(self, cell) -> int:
        """Tokens one example puts through the model at a perf cell (`cell`: its `seq_len`, `mode` and
        `max_new_tokens`, e.g. a PerfCellSpec): a task that generates counts source and target (`seq_len`
        each for forward/train_step; `seq_len` + `max_new_tokens` for generate)."""
        if not self.generates:
            return cell.seq_len
        return cell.seq_len + (cell.max_new_tokens if cell.mode == "generate" else cell.seq_len)

    def references(self, split) -> list:
        """The gold answers of a split (a `datasets.Dataset` with this task's roles)."""
        return list(split[self.reference_role])


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("classification", ("text", "label"), ("accuracy", "f1_macro"), "accuracy", False,
             sample=([0, 1, 1], [0, 1, 0])),
        Task("translation", ("src", "tgt"), ("bleu", "chrf"), "bleu", True, parallel_files=True,
             sample=(["a b", "c d", "e"], ["a b", "c e", "e"])),
    )
}
TASK_NAMES = tuple(TASKS)


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise BadInput(unknown_name("task", name, TASKS))
    return TASKS[name]
