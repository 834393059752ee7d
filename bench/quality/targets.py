"""Time-to-target: how much training a model needed to first reach a quality target.

A task may set `targets: {accuracy: 0.80}` (or `{bleu: 25}`) on its selection
metric (the one scored on validation during training, `select_metric`). Each
quality record then gets `time_to_target: {"accuracy>=0.8": {"minutes", "steps",
"examples", "epoch"} | null}` read from the validation curve the trainer already
logs (null when never reached); `stopped_by_clock` says whether `max_minutes`
cut training short, in which case a null may only mean "not within the cap".
"""
from __future__ import annotations

import pandas as pd

from nlpbench.report.tables import Spec, Table, record_name


def label(metric: str, target: float) -> str:
    return f"{metric}>={target:g}"


def time_to_target(history: list[dict], targets: dict[str, float], select: str) -> dict:
    """First validation pass whose score reaches each target (targets on other metrics are not logged: None)."""
    out = {}
    for metric, target in targets.items():
        hit = next((h for h in history if metric == select and h["score"] >= target), None)
        out[label(metric, target)] = None if hit is None else {
            "minutes": hit.get("minutes"), "steps": hit.get("step"), "examples": hit.get("examples"),
            "epoch": hit.get("epoch")}
    return out


def problems(task, at: str, select: str) -> list[str]:
    return [f"{at}.targets.{m}: targets are read from the validation curve of the selection metric "
            f"'{select}'; set select_metric: {m} to target it" for m in task.targets if m != select]


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
