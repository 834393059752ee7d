"""What every table module shares: the Spec/Table shapes and reading values out of records by dotted path."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def record_name(rec: dict) -> str:
    """A model's label in its suite; several may share one adapter (`bert`, `bert-nomlm`)."""
    return str(rec.get("name") or rec.get("model") or "?")


def dtype_label(rec: dict) -> str:
    """`bf16`, or `bf16+compile` for a torch.compile'd cell (as in the cell id)."""
    return f"{rec.get('dtype')}{'+compile' if rec.get('compile') else ''}"


def key_value(rec: dict, key: str):
    if key == "model":
        return record_name(rec)
    return dtype_label(rec) if key == "dtype" else lookup(rec, key)


def lookup(rec: dict, path: str):
    """Dotted lookup into a record, list items by index: `metrics.accuracy_ci95.0`."""
    value = rec
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@dataclass
class Spec:
    """How to build one table: its columns (name, dotted path into a record)."""

    name: str  # file stem of its CSV
    title: str
    keys: tuple[str, ...]  # identify a row; rows of several runs are joined on them
    columns: tuple[tuple[str, str], ...]
    main: tuple[str, ...]  # get a ratio column when runs are side by side


@dataclass
class Table:
    spec: Spec
    frame: pd.DataFrame  # flat columns for one run; (group, column) columns side by side
