"""The Pareto view: quality (each task's selection metric) against throughput, one panel per task.

- x: classifiers at `forward` throughput; translators at decoding (`generate`) throughput — what a
  translator costs in use, not its teacher-forced forward pass — else forward; the axis names the mode
  and the (batch, length) cell most of the task's models were timed at.
- y: the metric on the test split (else validation) with its 95% interval (`<metric>_ci95`) as a bar. With
  `seeds`, the mean over seeds, the bar from the lowest to the highest seed's interval, and each seed's
  value as a dot.
- A perf record pairs only with the training unit it timed (`quality_cell` = `quality/<task>/<model>`, the
  same `n_params`); cell ids of a `seeds` suite end in `/<split>/seed<k>`, all of the one unit.
- The dashed line joins each run's models that no other model of it beats on both axes.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nlpbench import metrics
from nlpbench.quality.ids import unit_of
from nlpbench.report.plot_data import figure_legend, log_axis, styles
from nlpbench.tasks import TASKS

FRONT_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))  # one per run: two fronts must not look alike


def throughput_mode(task: str, modes) -> str | None:
    """The perf mode a task's models are compared at: decoding for translators, forward otherwise."""
    modes = set(modes)
    prefer = TASKS[task].perf_modes if task in TASKS else ("forward", "generate")  # an unknown task: forward first
    return next((m for m in prefer if m in modes), min(modes) if modes else None)


def representative_cell(perf: pd.DataFrame) -> tuple | None:
    """The (batch, seq) cell most (run, model) pairs were measured at; ties go to the middle of the grid."""
    cells = (perf["run"].astype(str) + "\0" + perf["model"].astype(str)).groupby(
        [perf["batch_size"], perf["seq_len"]]).nunique()
    if cells.empty:
        return None
    best = sorted(cells[cells == cells.max()].index)
    return best[len(best) // 2]


def _one_split(quality: list[dict]) -> list[dict]:
    """A model is scored on each evaluation split; the picture shows one: test, else validation."""
    splits = {r.get("split") for r in quality}
    split = next((s for s in ("test", "validation") if s in splits), None)
    return [r for r in quality if split is None or r.get("split") == split]


def _quality_by_unit(records: list[dict], task: str, metric: str) -> dict[str, list[dict]]:
    """Finished quality records of `task` on one split, grouped by training unit (one record per seed)."""
    quality = _one_split([r for r in records if r.get("kind") == "quality" and r.get("task") == task
                          and r.get("status", "ok") == "ok" and not r.get("variant")
                          and isinstance((r.get("metrics") or {}).get(metric), (int, float))])
    units: dict[str, list[dict]] = {}
    for r in quality:
        units.setdefault(unit_of(r.get("cell", ""), seed=False), []).append(r)  # all seeds of one model
    return units


def _point(recs: list[dict], metric: str) -> dict:
    """The seeds' mean and the envelope of their 95% intervals (a seed without an interval adds its value)."""
    values = [float(r["metrics"][metric]) for r in recs]
    cis = [r["metrics"].get(f"{metric}_ci95") or [v, v] for r, v in zip(recs, values)]
    return {"y": float(np.mean(values)), "lo": min(float(c[0]) for c in cis), "hi": max(float(c[1]) for c in cis),
            "seeds": values, "split": recs[0].get("split"),
            "has_ci": any(f"{metric}_ci95" in r["metrics"] for r in recs)}


def points(runs: dict[str, list[dict]], perf: pd.DataFrame, task: str, metric: str) -> list[dict]:
    """One point per trained model of `task` that a perf cell of the same run timed (see the module docstring);
    `perf` holds every mode's rows (`plot_data.perf_rows`). Every run is read at the same mode and, where it
    has it, the same (batch, seq) cell, so runs side by side compare like with like."""
    units = {label: _quality_by_unit(records, task, metric) for label, records in runs.items()}
    if perf.empty or not any(units.values()):
        return []
    keys = {(label, unit) for label, by_unit in units.items() for unit in by_unit}
    timed_unit = pd.Series([k in keys for k in zip(perf["run"], perf["quality_cell"])], index=perf.index)
    paired = perf[perf["samples_per_s"].notna() & timed_unit]
    mode = throughput_mode(task, paired["mode"].dropna())
    if mode is None:
        return []
    paired = paired[paired["mode"] == mode]
    common = representative_cell(paired)
    out = []
    for label, by_unit in units.items():
        run_perf = paired[paired["run"] == label]
        if run_perf.empty:
            continue
        has_common = ((run_perf["batch_size"] == common[0]) & (run_perf["seq_len"] == common[1])).any()
        cell = common if has_common else representative_cell(run_perf)
        at = run_perf[(run_perf["batch_size"] == cell[0]) & (run_perf["seq_len"] == cell[1])]
        for unit, recs in by_unit.items():
            match = at[at["quality_cell"] == unit]
            same = [r for r in recs if len(match) and r.get("n_params") == match["n_params"].iloc[0]]
            if same:  # the perf row's series label, so the colour matches the other plots
                row = match.iloc[0]
                out.append({"series": row["series"], "model": row["model"], "run": label, "mode": mode, "cell": cell,
                            "new_tokens": row.get("max_new_tokens"), "x": float(row["samples_per_s"]),
                            **_point(same, metric)})
    return out


def _cells(pts: list[dict]) -> str:
    """`batch 8, seq 128`, or one such per run when a run lacks the common cell."""
    def one(cell, seq="seq"):
        return f"batch {cell[0]}, {seq} {cell[1]}"

    seq = "source" if pts[0]["mode"] == "generate" else "seq"
    by_run = dict.fromkeys((p["run"], p["cell"]) for p in pts)
    if len({cell for _, cell in by_run}) == 1:
        return one(pts[0]["cell"], seq)
    return "; ".join(f"{run}: {one(cell, seq)}" for run, cell in by_run)


def _x_label(pts: list[dict]) -> str:
    p = pts[0]
    if p["mode"] == "generate":
        new = f", {int(p['new_tokens'])} new tokens" if pd.notna(p.get("new_tokens")) else ""
        return f"decoding (generate) throughput, samples/s\n({_cells(pts)}{new})"
    return f"{p['mode']} throughput, samples/s\n({_cells(pts)})"


def _note(pts: list[dict]) -> str:
    """What a point and its bar are, said once under the panels."""
    n = max(len(p["seeds"]) for p in pts)
    if not any(p["has_ci"] for p in pts):
        bars = "no interval recorded"
    else:
        bars = "bar: from the lowest to the highest seed's 95% interval" if n > 1 else "bar: 95% interval"
    return (f"point: mean over {n} seeds (dots: each seed); " if n > 1 else "") + bars


def figure(runs: dict[str, list[dict]], perf: pd.DataFrame):
    """A matplotlib figure, or None when no quality record has a paired perf cell."""
    if perf.empty:
        return None
    metric_of = {t.name: t.select_metric for t in TASKS.values()}
    panels = [(task, metrics.get(metric).label, pts) for task, metric in metric_of.items()
              if (pts := points(runs, perf, task, metric))]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels) + 2, 4.4), squeeze=False,
                             layout="constrained")
    style = styles(perf)
    for ax, (task, label, pts) in zip(axes[0], panels):
        _draw_panel(ax, pts, style, several_runs=len(runs) > 1)
        split = f", {pts[0]['split']} split" if pts[0]["split"] else ""
        ax.set(xlabel=_x_label(pts), ylabel=f"{label}{split}", title=task)
    figure_legend(fig, axes[0])
    fig.supxlabel(_note([p for _, _, pts in panels for p in pts]), fontsize=8)
    return fig


def _draw_panel(ax, pts: list[dict], style: dict, several_runs: bool) -> None:
    for p in pts:
        s = style[p["series"]]
        ax.errorbar([p["x"]], [p["y"]], yerr=[[p["y"] - p["lo"]], [p["hi"] - p["y"]]], color=s["color"],
                    marker=s["marker"], markersize=7, linestyle="none", capsize=4, label=p["series"])
        if len(p["seeds"]) > 1:
            ax.scatter([p["x"]] * len(p["seeds"]), p["seeds"], s=14, color=s["color"], alpha=0.6, zorder=3)
        ax.annotate(p["model"], (p["x"], p["y"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    for j, run in enumerate(dict.fromkeys(p["run"] for p in pts)):
        front = frontier([(p["x"], p["y"]) for p in pts if p["run"] == run])
        ax.plot(*zip(*front), linestyle=FRONT_STYLES[j % len(FRONT_STYLES)], color="grey", alpha=0.7,
                label="Pareto front" + (f" ({run})" if several_runs else ""))
    xs = [p["x"] for p in pts]
    if min(xs) > 0 and max(xs) / min(xs) >= 10:
        ax.set_xscale("log")
        log_axis(ax.xaxis)
    ax.margins(0.15)  # room for the labels at the edges
    ax.grid(True, alpha=0.3)


def frontier(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not dominated (higher throughput and higher quality), by throughput."""
    front, best = [], float("-inf")
    for x, y in sorted(pts, key=lambda p: (-p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return sorted(front)
