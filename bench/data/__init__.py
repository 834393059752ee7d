"""Task data from the three sources of a suite: `synthetic`, `files`, `hub`.

Every source ends in the same shape, `TaskData`, whose splits are
`datasets.Dataset`s with normalised columns: `text`, `label` (int 0..K-1) for
classification; `src`, `tgt` for translation. Problems (missing columns, empty
files, labels outside the label set) are collected across splits and raised
together as one BadInput.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from nlpbench.errors import BadInput, clip, shown
from nlpbench.tasks import get_task

datasets.disable_progress_bars()  # the harness shows its own progress; datasets' bars are noise here
datasets.logging.set_verbosity_error()

@dataclass
class TaskData:
    task: str
    dataset: str  # a name for records and tables
    splits: dict[str, datasets.Dataset]
    label_names: list[str] = field(default_factory=list)
    files: dict[str, list[dict]] = field(default_factory=dict)  # split -> each file read (fingerprint.identity)
    overlap: dict[str, dict] = field(default_factory=dict)  # split -> examples also in train (checks.overlap)

    @property
    def num_labels(self) -> int | None:
        return len(self.label_names) or None

    @property
    def train(self) -> datasets.Dataset:
        return self.splits["train"]


def resolve_path(rel: str, data_dir: str | None) -> Path:
    """Relative paths resolve against --data-dir, else $NLPBENCH_DATA, else the working directory."""
    p = Path(rel).expanduser()
    if p.is_absolute():
        return p
    base = data_dir or os.environ.get("NLPBENCH_DATA")
    return (Path(base).expanduser() / p) if base else p


def load_task_data(task, data_dir: str | None, seed: int, at: str = "dataset") -> TaskData:
    """Loads and normalises one task's data, then checks its splits (nlpbench.data.checks: labels, identical
    splits, overlap with train); BadInput lists every problem found."""
    from nlpbench.data import checks, files, generators, hub

    spec, kind = task.dataset, get_task(task.task)
    loader = {"synthetic": generators.load, "files": files.load, "hub": hub.load}[spec.source]
    raw, name, sources = loader(task, data_dir, seed, at)  # {split: Dataset with source columns}, {split: [file]}
    problems: list[str] = []
    splits = {}
    for split, ds in raw.items():
        mapped = _map_columns(ds, task, split, at, problems, checks.where(split, sources))
        if mapped is not None:
            limit = spec.max_examples.get(split)
            splits[split] = mapped.select(range(min(limit, len(mapped)))) if limit else mapped
    problems += checks.identical_splits(sources, at)
    labels: list[str] = []
    if kind.predicts_classes and not problems:  # before the holdout: row numbers are the files' own
        labels = checks.label_set(splits, spec.labels, sources, at, problems, kind.reference_role)
    if spec.holdout and "train" in splits and not problems:
        splits = _holdout(splits, spec.holdout, seed, at, problems)
        sources = {**sources, "validation": sources.get("train", [])}  # carved out of train's file
    overlap = checks.overlap(task.task, splits) if not problems else {}
    limit = checks.DEFAULT_MAX_OVERLAP if spec.max_overlap is None else spec.max_overlap
    problems += checks.overlap_problems(overlap, limit, at)
    if problems:
        raise BadInput(problems)
    if kind.predicts_classes:
        splits = {s: _labels_to_ids(ds, labels, kind.reference_role) for s, ds in splits.items()}
    return TaskData(task.task, name, splits, labels, files=sources, overlap=overlap)


def _map_columns(ds: datasets.Dataset, task, split: str, at: str, problems: list[str], where: str = ""):
    spec = task.dataset
    if len(ds) == 0:
        problems.append(f"{at}.files.{split}: the {split} data is empty (no rows){where}")
        return None
    mapping = {**spec.columns, **spec.columns_by_split.get(split, {})}
    wanted = {role: mapping.get(role, role) for role in get_task(task.task).roles}
    ok = True
    for role, col in wanted.items():
        if col not in ds.column_names:
            key = "columns_by_split." + split if role in spec.columns_by_split.get(split, {}) else "columns"
            problems.append(
                f"{at}.{key}.{role}: column {shown(col)} not in the {split} data; columns there: "
                f"{clip(', '.join(ds.column_names), 300)}{where}"
            )
            ok = False
    if not ok:
        return None
    ds = ds.select_columns(list(wanted.values()))
    ds = ds.rename_columns({c: r for r, c in wanted.items() if c != r})
    for role in get_task(task.task).roles:
        if role != "label":
            bad = [i for i, v in enumerate(ds[role]) if not isinstance(v, str)]
            if bad:
                problems.append(f"{at}: {split} row {bad[0] + 1} has no text in column {shown(wanted[role])} "
                                f"({len(bad)} such rows){where}")
                return None
    return ds


def label_key(v: str):
    try:
        return (0, float(v), v)
    except ValueError:
        return (1, 0.0, v)


def _labels_to_ids(ds: datasets.Dataset, labels: list[str], role: str) -> datasets.Dataset:
    index = {name: i for i, name in enumerate(labels)}
    ids = [index[str(v)] for v in ds[role]]
    return ds.remove_columns(role).add_column(role, ids)


def _holdout(splits: dict, holdout: float, seed: int, at: str, problems: list[str]) -> dict:
    """A seeded `validation` slice out of train (the rest stays train)."""
    n = len(splits["train"])
    size = int(holdout) if holdout >= 1 else max(1, round(holdout * n))
    if size >= n:
        problems.append(f"{at}.holdout: {size} examples asked for, but train has only {n}")
        return splits
    parts = splits["train"].train_test_split(test_size=size, seed=seed, shuffle=True)
    return {**splits, "train": parts["train"], "validation": parts["test"]}


def load_all_data(suite, data_dir: str | None) -> list[TaskData]:
    """Every task's data of a suite; every task's problems at once."""
    problems, out = [], []
    for i, task in enumerate(suite.tasks):
        try:
            out.append(load_task_data(task, data_dir, suite.seed, at=f"tasks.{i}.dataset"))
        except BadInput as e:
            problems += e.problems
    if problems:
        raise BadInput(problems)
    from nlpbench.data.checks import overlap_line

    for task, td in zip(suite.tasks, out):  # any overlap below the limit is said once (and kept in run.json)
        if any(o["n"] for o in td.overlap.values()):
            logging.getLogger("nlpbench").info(overlap_line(task.label, td.overlap))
    return out
