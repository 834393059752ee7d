"""Quality tables of a suite run over several seeds (`seeds: [0, 1, 2]`).

Per-seed rows keep the task's own layout with a `seed` key column; the summary
table has one row per model and split: `n` seeds and, per metric, the mean and
the sample standard deviation over seeds ("0.853 ± 0.012" when displayed).
A single-seed run never reaches this module: its tables look as before.
"""
from __future__ import annotations

import re

import pandas as pd

from nlpbench import metrics
from nlpbench.metrics import stats
from nlpbench.report import table_base as T

SEED_CELL = re.compile(r"/seed\d+$")


def seeded(records: list[dict]) -> bool:
    return any(SEED_CELL.search(str(r.get("cell", ""))) for r in records)


def per_seed(spec: T.Spec) -> T.Spec:
    return T.Spec(spec.name, f"{spec.title}, per seed", (*spec.keys, "seed"), spec.columns, spec.main)


def _summarised(spec: T.Spec) -> list[tuple[str, str]]:
    """The metric columns (not their interval ends) and train time."""
    return [(c, p) for c, p in spec.columns
            if (p.startswith("metrics.") and not c.endswith(("_lo", "_hi"))) or c == "train_s"]


def summary(spec: T.Spec, records: list[dict]) -> T.Table:
    keys = spec.keys
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if r.get("status", "ok") == "ok":
            groups.setdefault(tuple(T.key_value(r, k) for k in keys), []).append(r)
    rows = []
    for key, recs in groups.items():
        row = dict(zip(keys, key))
        row["n"] = len({r.get("seed") for r in recs})
        for col, path in _summarised(spec):
            values = [T.lookup(r, path) for r in recs]
            if not any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                continue
            mean, sd, _ = stats.mean_sd([v for v in values if isinstance(v, (int, float))])
            row[f"{col}_mean"], row[f"{col}_sd"] = mean, sd
        rows.append(row)
    out = T.Spec(f"{spec.name}_seeds", f"{spec.title}, mean ± sd over seeds", keys, (), ())
    return T.Table(out, pd.DataFrame(rows))


def display_cells(df: pd.DataFrame, col: str) -> list[str] | None:
    """`mean ± sd` strings for a `<metric>_mean` column with its `_sd` beside it; None for other columns."""
    base = col[: -len("_mean")]
    if not col.endswith("_mean") or f"{base}_sd" not in df:
        return None
    # a metric in its own decimals (BLEU/chrF one, on 0-100); other numbers (train s) to two
    fmt = f".{metrics.get(base).decimals}f" if base in metrics.registry() else ".2f"
    return ["" if pd.isna(m) else f"{m:{fmt}}" if pd.isna(s) else f"{m:{fmt}} ± {s:{fmt}}"
            for m, s in zip(df[col], df[f"{base}_sd"])]
