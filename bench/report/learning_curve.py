"""The learning-curve plot: validation score (the selection metric) against training minutes.

One panel per task, one line per model and run: colour by model, line style by
run (the legend names the run when several are drawn). With seeds, the line is
the mean over seeds of each validation pass (passes fall at the same steps for
every seed when training is bounded by epochs) with a ± sd band, at the seeds'
mean minutes.
"""
from __future__ import annotations

import numpy as np

from nlpbench.report.plot_data import LINESTYLES, figure_legend
from nlpbench.report.table_base import record_name


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

    by_run = {label: curves(records) for label, records in runs.items()}
    tasks = list(dict.fromkeys(task for c in by_run.values() for task in c))
    if not tasks:
        return None
    models = sorted({m for c in by_run.values() for task_models in c.values() for m in task_models})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks) + 2, 4), squeeze=False, layout="constrained")
    for ax, task in zip(axes[0], tasks):
        for j, (label, by_task) in enumerate(by_run.items()):
            for model, hists in by_task.get(task, {}).items():
                name = f"{model} ({label})" if len(runs) > 1 else model
                _draw(ax, hists, f"{name} (n={len(hists)})", colours[models.index(model) % len(colours)],
                      LINESTYLES[j % len(LINESTYLES)])
        ax.set_title(task)
        ax.set_xlabel("training minutes (validation passes included)")
        ax.set_ylabel("validation score (selection metric)")
        ax.grid(alpha=0.3)
    figure_legend(fig, axes[0])  # beside the panels: inside, it covers the curves
    return fig


def _draw(ax, hists: list[list[dict]], label: str, colour, linestyle) -> None:
    """The mean over seeds of each validation pass, with a ± sd band when there are several seeds."""
    n = min(len(h) for h in hists)  # a clock-capped seed may have fewer passes
    minutes = np.mean([[p["minutes"] for p in h[:n]] for h in hists], axis=0)
    scores = np.array([[p["score"] for p in h[:n]] for h in hists])
    mean = scores.mean(axis=0)
    ax.plot(minutes, mean, marker="o", ms=3, label=label, color=colour, linestyle=linestyle)
    if len(hists) > 1:
        sd = scores.std(axis=0, ddof=1)
        ax.fill_between(minutes, mean - sd, mean + sd, color=colour, alpha=0.2)
