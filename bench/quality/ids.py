"""The ids of training units and their quality cells: the one place their format is written.

A training unit is one model trained on one task for one seed:
`quality/<task>/<model>[/seed<k>]` (the seed only when the suite lists `seeds`).
Each evaluated split of it is a quality cell `quality/<task>/<model>/<split>[/seed<k>]`.
Its files (checkpoint, log, status) are named by the stem `<task>-<model>[-seed<k>]`.
Records, baselines and run folders already hold these strings, so the format is
the contract: change it only here, and only by adding.
"""
from __future__ import annotations

PREFIX = "quality"


def _seed(seed: int | None, sep: str) -> str:
    return "" if seed is None else f"{sep}seed{seed}"


def unit_id(task_label: str, model_label: str, seed: int | None = None) -> str:
    """`quality/<task>/<model>`, plus `/seed<k>` when the suite lists `seeds`."""
    return f"{PREFIX}/{task_label}/{model_label}{_seed(seed, '/')}"


def cell_id(task_label: str, model_label: str, split: str, seed: int | None = None) -> str:
    """`quality/<task>/<model>/<split>`, plus `/seed<k>` when the suite lists `seeds`."""
    return f"{unit_id(task_label, model_label)}/{split}{_seed(seed, '/')}"


def file_stem(task_label: str, model_label: str, seed: int | None = None) -> str:
    """`<task>-<model>[-seed<k>]`: the unit's checkpoint file name (labels kept as written)."""
    return f"{task_label}-{model_label}{_seed(seed, '-')}"


def log_stem(unit: str) -> str:
    """A unit id's log and status file name: its file stem with every `/` made `-`, so a label holding a
    `/` still names one file in `logs/`, not a folder."""
    return unit.removeprefix(f"{PREFIX}/").replace("/", "-")


def unit_of(cell: str, seed: bool = True) -> str:
    """A quality cell's training unit (its split dropped; with `seed=False` its seed too, the unit a perf
    record's `quality_cell` names); any other id as it is."""
    parts = str(cell).split("/")
    if parts[0] != PREFIX or len(parts) < 4:
        return str(cell)
    return "/".join(parts[:3] + (parts[4:] if seed else []))
