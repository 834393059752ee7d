"""The end-of-run summary on the console: quality and cost (perf) tables within 120 columns.

The report files keep every column; the console shows the same tables in a narrower form: columns whose
value is the same on every row (dataset, status, init, memory kind, ...) move into the table's title line,
columns a reader can look up in report.md (per-second rates beside the main ones, p90, GFLOP/s, the
sacreBLEU signature) are left out, and pandas wraps whatever is still wider than the width.
"""
from __future__ import annotations

import pandas as pd

from nlpbench.report.table_base import Table
from nlpbench.report.tables import build_tables, display

WIDTH = 120
# display headers left out on the console (they stay in report.md, the CSVs and the HTML)
CONSOLE_DROP = ("train ex/s", "eval ex/s", "signature", "p90 ms", "GFLOP/s", "beam")
# display headers that may move into the title when every row has the same value
CONSTANT_OK = ("dataset", "status", "init", "memory", "dtype", "mode", "seq", "noisy")
# summary tables in order: quality per task, then cost
COST_TABLES = ("perf", "generation", "serve")


def narrow(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """(the frame without dropped and constant columns, 'header: value' notes for the title)."""
    df = df.drop(columns=[c for c in CONSOLE_DROP if c in df.columns])
    notes = []
    if len(df) > 1:
        for col in [c for c in CONSTANT_OK if c in df.columns]:
            values = df[col].astype(str).unique()
            if len(values) == 1:
                if col == "noisy" and values[0] == "noisy":
                    notes.append("every cell noisy")
                elif values[0] not in ("", "nan", "None"):
                    notes.append(f"{col}: {values[0]}")
                df = df.drop(columns=[col])
    return df, notes


def render(table: Table, width: int = WIDTH) -> str:
    df = display(table)
    if isinstance(df.columns, pd.MultiIndex):  # side by side: not narrowed, only wrapped
        df.columns = [f"{g}: {c}" if g else c for g, c in df.columns]
        notes = []
    else:
        df, notes = narrow(df)
    title = table.spec.title + (f" ({'; '.join(notes)})" if notes else "")
    if len(title) > width:
        title = title[: width - 3] + "..."
    return f"{title}\n{df.to_string(index=False, line_width=width)}"


def summary(records: list[dict], extra_tables=(), width: int = WIDTH) -> str:
    """Quality tables per task, then the perf, generation and serving tables, each within `width` columns."""
    tables = build_tables(records, extra_tables)
    chosen = [t for t in tables if t.spec.name.startswith("quality_")]
    chosen += [t for name in COST_TABLES for t in tables if t.spec.name == name]
    return "\n\n".join(render(t, width) for t in chosen) or "(no records)"
