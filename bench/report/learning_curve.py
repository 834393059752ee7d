"""The learning-curve plot: validation score (the selection metric) against training minutes.

One panel per task, one line per model (the first run when several are drawn);
with seeds, the line is the mean over seeds of each validation pass (passes fall
at the same steps for every seed when training is bounded by epochs) with a
± sd band, at the seeds' mean minutes.
"""
from __future__ import annotations

import numpy as np

from nlpbench.report.tables import record_name


def curves(records: list[dict]) -> dict[str, dict[str, list[list[dict]]]]:
    """task -> model -> one validation history per trained model (seed)."""
    out: dict = {}
    seen = set()
    for r in records:
        hist = (r.get("fit") or {}).get("history")
        key = (r.get("task"), record_name(r), r.get("seed"))
        if r.get("kind") != "quality" or r.get("status", "ok") != "ok" or not hist or key in seen:
            continue
        seen.add(key)
        out.setdefault(str(r.get("task")), {}).setdefault(record_name(r), []).append(hist)
    return out


def figure(runs: dict[str, list[dict]]):
    """A matplotlib figure, or None when no record logged a validation curve."""
    import matplotlib.pyplot as plt

    by_task = curves(next(iter(runs.values()), []))
    if not by_task:
        return None
    fig, axes = plt.subplots(1, len(by_task), figsize=(6 * len(by_task), 4), squeeze=False)
    for ax, (task, models) in zip(axes[0], by_task.items()):
        for model, hists in models.items():
            n = min(len(h) for h in hists)  # a clock-capped seed may have fewer passes
            minutes = np.mean([[p["minutes"] for p in h[:n]] for h in hists], axis=0)
            scores = np.array([[p["score"] for p in h[:n]] for h in hists])
            mean = scores.mean(axis=0)
            line = ax.plot(minutes, mean, marker="o", ms=3, label=f"{model} (n={len(hists)})")[0]
            if len(hists) > 1:
                sd = scores.std(axis=0, ddof=1)
                ax.fill_between(minutes, mean - sd, mean + sd, color=line.get_color(), alpha=0.2)
        ax.set_title(task)
        ax.set_xlabel("training minutes (validation passes included)")
        ax.set_ylabel("validation score (selection metric)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig
