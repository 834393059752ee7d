"""Arms, trial entries and the derived suite the tune stage's training units run in (nlpbench.tune.study).

An arm is one model of one task in one space; an item is one model entry to train (a trial, the untuned
default, a confirmation), with the record fields it adds. `run_items` trains items as training units through
nlpbench.launch.units in a copy of the suite whose tasks list those entries, so every launcher runs them and
`--resume` skips those already recorded.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from nlpbench.errors import BadInput
from nlpbench.launch.units import run_units
from nlpbench.quality.ids import cell_id, unit_id
from nlpbench.quality.score import eval_splits
from nlpbench.quality.units import Unit
from nlpbench.registry import get_adapter
from nlpbench.suite.schema import Suite, hook
from nlpbench.tasks import get_task
from nlpbench.tune import space as S
from nlpbench.tune.budget import normalized, train_overrides
from nlpbench.tune.spec import ModelTune


JOURNAL = "tune/journal.log"  # the Optuna JournalStorage file, relative to the run folder


def adapter_space(adapter: str) -> dict:
    try:
        return hook(get_adapter(adapter), "search_space", {}) or {}
    except BadInput:
        return {}  # an unknown adapter: the schema's own check names it


@dataclass(frozen=True)
class Arm:
    """One model of one task tuned in one space."""

    task_index: int
    model_index: int
    task_label: str
    label: str  # the model's label
    space_name: str
    space: dict = field(hash=False, compare=False)
    several: bool = False  # the task names several spaces: the space goes into entry names

    @property
    def study_name(self) -> str:
        return f"{self.task_label}/{self.label}/{self.space_name}"

    def name(self, what: str) -> str:
        return f"{self.label}.{self.space_name}.{what}" if self.several else f"{self.label}.{what}"


def arms(suite) -> list[Arm]:
    out = []
    for ti, task in enumerate(suite.tasks):
        if task.tune is None:
            continue
        for mi, m in enumerate(task.models):
            own = m.tune or ModelTune()
            if own.skip:
                continue
            names = task.tune.space_names(own)
            for name in names:
                sp = task.tune.space_for(adapter_space(m.adapter), own, name)
                out.append(Arm(ti, mi, task.label, m.label, name, sp, len(names) > 1))
    return out


@dataclass
class Item:
    """A model entry to train in the derived suite, and the fields its records get."""

    task_index: int
    entry: dict
    tags: dict

    @property
    def name(self) -> str:
        return self.entry["name"]


def base_entry(suite, arm_or_index) -> dict:
    ti, mi = (arm_or_index.task_index, arm_or_index.model_index) if isinstance(arm_or_index, Arm) else arm_or_index
    return suite.tasks[ti].models[mi].model_dump(mode="json", exclude={"tune"})


def budgeted(entry: dict, budget: dict, name: str) -> dict:
    out = {**entry, "name": name, "required": False}
    out["train"] = {**entry.get("train", {}), **train_overrides(budget)}
    return out


def trial_item(suite, arm: Arm, number: int, params: dict) -> Item:
    tune = suite.tasks[arm.task_index].tune
    entry = S.apply(base_entry(suite, arm), params, S.pinned(arm.space))
    per_study = tune.trials // tune.studies
    tags = {"tune_role": "trial", "tune_task": arm.task_label, "tune_model": arm.label, "space": arm.space_name,
            "trial": number, "study": number // per_study, "tune_params": params, "budget": normalized(tune.budget)}
    entry = budgeted(entry, tune.budget, arm.name(f"t{number:03d}"))
    if tune.sampler == "tpe" and tune.pruner == "median":  # the unit reports each validation pass (nlpbench.tune.prune)
        entry["tune"] = {"report_to": {"journal": JOURNAL, "study": arm.study_name, "number": number}}
        tags["pruner"] = tune.pruner
    return Item(arm.task_index, entry, tags)


def default_items(suite, arms_: list[Arm]) -> list[Item]:
    """Each tuned model's own suite config at the trial budget: the untuned score of the best-of-budget table."""
    out, seen = [], set()
    for arm in arms_:
        if (arm.task_index, arm.model_index) in seen:
            continue
        seen.add((arm.task_index, arm.model_index))
        budget = suite.tasks[arm.task_index].tune.budget
        tags = {"tune_role": "default", "tune_task": arm.task_label, "tune_model": arm.label, "budget": normalized(budget)}
        entry = S.apply(base_entry(suite, arm), {}, S.pinned(arm.space))  # the space's pinned keys (caps, eval_every) too
        out.append(Item(arm.task_index, budgeted(entry, budget, f"{arm.label}.default"), tags))
    return out


class TagStore:
    """The run's record store, adding each item's tune fields to its records (and telling the journal)."""

    def __init__(self, inner, items: list[Item], on_record=None):
        self.inner, self.on_record = inner, on_record
        self.tags = {it.name: it.tags for it in items}

    def done(self) -> set[str]:
        return self.inner.done()

    def append(self, rec: dict) -> None:
        rec = {**rec, **self.tags.get(rec.get("name"), {})}
        self.inner.append(rec)
        if self.on_record is not None:
            self.on_record(rec)


def derived(suite, items: list[Item], seeds: list[int] | None, splits: list[str] | None) -> tuple[Suite, dict]:
    """The suite with the items' entries appended to their tasks (nothing else to run): (suite, name -> index)."""
    raw = suite.model_dump(mode="json")
    raw.update(perf=None, serve=None, variants=["fp32"], log_to=[], seeds=seeds)
    index = {}
    for t in raw["tasks"]:
        t["tune"] = None
        t["eval_splits"] = splits or t.get("eval_splits")
    for it in items:
        models = raw["tasks"][it.task_index]["models"]
        index[it.name] = len(models)
        models.append(it.entry)
    return Suite.model_validate(raw), index


def run_items(ctx, data, items: list[Item], seeds: list[int] | None = None, splits: list[str] | None = None,
              on_record=None) -> None:
    """Trains the items as training units where the suite's launcher says; units already recorded are skipped."""
    if not items:
        return
    dsuite, index = derived(ctx.suite, items, seeds, splits)
    done = ctx.store.done()
    units = []
    for seed in seeds or [ctx.suite.seed]:
        tag = seed if seeds else None
        for it in items:
            task = dsuite.tasks[it.task_index]
            sp = tuple(eval_splits(task, data[it.task_index]))
            ids = tuple(cell_id(task.label, it.name, s, tag) for s in sp)
            if not all(i in done for i in ids):
                units.append(Unit(it.task_index, index[it.name], seed, tag, ids, sp, unit_id(task.label, it.name, tag)))
    if units:
        sub = dataclasses.replace(ctx, suite=dsuite, store=TagStore(ctx.store, items, on_record), trained={})
        run_units(sub, data, units)


def select_metric(task) -> str:
    return task.select_metric or get_task(task.task).select_metric


def score_of(rec: dict, task) -> float | None:
    if rec.get("status", "ok") != "ok":
        return None
    value = (rec.get("metrics") or {}).get(select_metric(task))
    return float(value) if isinstance(value, (int, float)) else None


