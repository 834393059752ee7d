"""The time-to-target table (records' `time_to_target`, set by nlpbench.quality.targets)."""
from __future__ import annotations

import pandas as pd

from nlpbench.report.table_base import Spec, Table, record_name


def table(records: list[dict]) -> Table | None:
    """One row per trained model (and seed) and target: minutes, steps and examples to reach it."""
    rows, seen = [], set()
    for r in records:
        ttt = r.get("time_to_target")
        key = (r.get("task"), record_name(r), r.get("seed"))
        if r.get("kind") != "quality" or not isinstance(ttt, dict) or key in seen:
            continue
        seen.add(key)  # one training, several split records: one row
        for target, hit in ttt.items():
            rows.append({"task": r.get("task"), "model": record_name(r), "seed": r.get("seed"), "target": target,
                         "minutes": (hit or {}).get("minutes"), "steps": (hit or {}).get("steps"),
                         "examples": (hit or {}).get("examples"),
                         "reached": "yes" if hit else "no (capped by max_minutes)" if r.get("stopped_by_clock")
                         else "no"})
    if not rows:
        return None
    cols = ("target", "minutes", "steps", "examples", "reached")
    spec = Spec("time_to_target", "Time to target (validation, selection metric)", ("task", "model", "seed"),
                tuple((c, c) for c in cols), ())
    return Table(spec, pd.DataFrame(rows))
