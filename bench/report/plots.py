"""The report's four pictures (matplotlib, Agg backend, PNG in `plots/`).

- throughput vs batch size, one panel per sequence length
- latency (p50) vs sequence length, one panel per batch size
- peak memory vs sequence length, one panel per batch size
- quality (accuracy or BLEU) vs forward throughput: the Pareto view of quality against cost

One line per model (per run, when several runs are drawn together). Perf
plots use the `forward` cells (else the first mode the run has); a plot whose
data is absent is skipped, not drawn empty.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from nlpbench import metrics
from nlpbench.report import learning_curve
from nlpbench.tasks import TASKS

TITLES = {
    "throughput_vs_batch": "Throughput vs batch size",
    "latency_vs_seq": "Latency vs sequence length",
    "memory_vs_seq": "Peak memory vs sequence length",
    "quality_vs_throughput": "Quality vs throughput (Pareto view)",
    "deployment_variants": "Deployment variants: quality vs latency",
    "learning_curve": "Learning curves (validation, mean ± sd over seeds)",
    "serve_p99_vs_qps": "Serving: p99 latency vs offered QPS (LoadGen Server)",  # bench/serve/report.py
}
PLAIN = FuncFormatter(lambda v, _: f"{v:g}")  # 300 rather than 3x10^2 on log axes
MARKERS = "osD^v<>ph*"
LINESTYLES = ("-", "--", ":", "-.")  # with the colours, tells apart lines that lie on top of each other
MAX_PANELS = 4  # more panels than this get too small to read; evenly spaced ones are kept


def write_plots(runs: dict[str, list[dict]], out_dir: Path) -> dict[str, Path]:
    """Draws every plot its data allows; returns {plot name: PNG path}. Old PNGs
    of these names are removed first so a refreshed report shows no stale picture."""
    out_dir = Path(out_dir)
    for name in TITLES:
        (out_dir / f"{name}.png").unlink(missing_ok=True)
    perf = perf_frame(runs)
    figures = {
        "throughput_vs_batch": _lines(perf, "seq_len", "batch_size", "samples_per_s",
                                      "batch size (samples)", "throughput (samples/s)", "seq"),
        "latency_vs_seq": _lines(perf, "batch_size", "seq_len", "p50_ms",
                                 "sequence length (tokens)", "p50 latency (ms)", "batch"),
        "memory_vs_seq": _lines(perf, "batch_size", "seq_len", "peak_memory_mb",
                                "sequence length (tokens)", _memory_label(perf), "batch"),
        "quality_vs_throughput": _pareto(runs, perf),
        "deployment_variants": _deployment(runs),
        "learning_curve": learning_curve.figure(runs),
        "serve_p99_vs_qps": _serve_plot(runs),
    }
    written = {}
    for name, fig in figures.items():
        if fig is None:
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        fig.suptitle(f"{TITLES[name]}{_mode_note(perf, name)}")
        fig.savefig(out_dir / f"{name}.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written[name] = out_dir / f"{name}.png"
    return written


def _serve_plot(runs):
    from nlpbench.serve.report import p99_vs_qps

    return p99_vs_qps(runs)


def perf_frame(runs: dict[str, list[dict]]) -> pd.DataFrame:
    """Finished perf cells of one mode, one row each, with a `series` label per line."""
    rows = []
    for label, records in runs.items():
        for r in records:
            if r.get("kind") != "perf" or r.get("status") != "ok" or r.get("variant"):
                continue  # a deployment variant's one timed shape has its own plot
            rows.append({"run": label, "model": str(r.get("name") or r.get("model")), "mode": r.get("mode"),
                         "dtype": f"{r.get('dtype')}{'+compile' if r.get('compile') else ''}",
                         "batch_size": r.get("batch_size"), "seq_len": r.get("seq_len"),
                         "p50_ms": (r.get("latency_ms") or {}).get("p50"),
                         "samples_per_s": (r.get("throughput") or {}).get("samples_per_s"),
                         "peak_memory_mb": r.get("peak_memory_mb"), "memory_kind": r.get("memory_kind"),
                         "quality_cell": r.get("quality_cell"), "n_params": r.get("n_params")})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    modes = list(df["mode"].dropna().unique())
    df = df[df["mode"] == ("forward" if "forward" in modes else modes[0])].copy()
    df["variant"] = _variant(df)
    df["series"] = df["model"].astype(str) + df["variant"]
    return df


def _variant(df: pd.DataFrame) -> pd.Series:
    """What tells apart lines of one model: dtype and run, only where they vary."""
    variant = pd.Series("", index=df.index)
    if df["dtype"].nunique() > 1:
        variant = variant + " " + df["dtype"].astype(str)
    if df["run"].nunique() > 1:
        variant = variant + " (" + df["run"].astype(str) + ")"
    return variant


def _mode_note(perf: pd.DataFrame, name: str) -> str:
    if perf.empty or name in ("quality_vs_throughput", "deployment_variants", "learning_curve", "serve_p99_vs_qps"):
        return ""
    return f" — mode {perf['mode'].iloc[0]}"


def _memory_label(perf: pd.DataFrame) -> str:
    kinds = sorted(perf["memory_kind"].dropna().unique()) if "memory_kind" in perf else []
    return f"peak memory (MB{', ' + ', '.join(kinds) if kinds else ''})"


def _pick(values: list, n: int) -> list:
    if len(values) <= n:
        return values
    return [values[round(i * (len(values) - 1) / (n - 1))] for i in range(n)]


def _geometric(values) -> bool:
    """A grid like 1, 8, 32 or 32, 128, 512: spread over a factor of 4 or more."""
    v = sorted(x for x in set(values) if x and x > 0)
    return len(v) >= 2 and v[-1] / v[0] >= 4


def _log_axis(axis, values) -> None:
    """log2 axis ticked at the grid's own values (8, 32, 128 rather than 2^3 ...)."""
    axis.set_ticks(sorted(set(values)))
    axis.set_major_formatter(PLAIN)
    axis.set_minor_formatter(NullFormatter())


def _spans_decade(values: pd.Series) -> bool:
    return values.min() > 0 and values.max() / values.min() >= 10


def _log_y(ax) -> None:
    """log y ticked at 1-2-5 steps in plain numbers (200, 500, 1000)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(PLAIN)
    ax.yaxis.set_minor_formatter(NullFormatter())


def _styles(perf: pd.DataFrame) -> dict:
    """Per series, the same in every plot: colour by model; marker and line style by
    variant (run / dtype), or marker by model when there is one variant."""
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    models, variants = sorted(perf["model"].unique()), sorted(perf["variant"].unique())
    styles = {}
    for series, model, variant in perf[["series", "model", "variant"]].drop_duplicates().itertuples(index=False):
        i, j = models.index(model), variants.index(variant)
        styles[series] = {"color": colours[i % len(colours)],
                          "marker": MARKERS[(i if len(variants) == 1 else j) % len(MARKERS)],
                          "linestyle": LINESTYLES[j % len(LINESTYLES)]}
    return styles


def _lines(perf, facet, x, y, xlabel, ylabel, facet_name):
    """One panel per `facet` value, one line per series; None when there is nothing to draw."""
    if perf.empty or perf[y].isna().all():
        return None
    data = perf.dropna(subset=[y])
    facets = _pick(sorted(data[facet].unique()), MAX_PANELS)
    fig, axes = plt.subplots(1, len(facets), figsize=(4.2 * len(facets) + 1.5, 3.8), squeeze=False,
                             layout="constrained")
    styles = _styles(perf)
    for ax, value in zip(axes[0], facets):
        panel = data[data[facet] == value]
        for series, line in panel.groupby("series", sort=True):
            line = line.sort_values(x)
            ax.plot(line[x], line[y], label=series, alpha=0.85, markersize=6, **styles[series])
        if _geometric(data[x]):
            ax.set_xscale("log", base=2)
            _log_axis(ax.xaxis, data[x])
        if _spans_decade(panel[y]):
            _log_y(ax)
        ax.set_title(f"{facet_name} {value}")
        ax.set_xlabel(xlabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def _representative_cell(perf: pd.DataFrame, models) -> tuple | None:
    """The (batch, seq) cell most of these models were measured at; ties go to the middle of the grid."""
    cells = perf[perf["model"].isin(models)].groupby(["batch_size", "seq_len"])["model"].nunique()
    if cells.empty:
        return None
    best = sorted(cells[cells == cells.max()].index)
    return best[len(best) // 2]


def _pareto_points(runs, perf, task, metric) -> list[dict]:
    """The finished quality cells of `task` joined to their model's forward throughput
    at the run's representative (batch, seq) cell. A perf record pairs only when it says it timed the
    trained model (`quality_cell`, same `n_params`); runs from before pairing get no point."""
    points = []
    for label, records in runs.items():
        quality = _one_split([r for r in records if r.get("kind") == "quality" and r.get("task") == task
                              and r.get("status", "ok") == "ok"
                              and isinstance((r.get("metrics") or {}).get(metric), (int, float))])
        run_perf = perf[perf["run"] == label]
        cell = _representative_cell(run_perf, {str(r.get("name") or r.get("model")) for r in quality})
        if cell is None:
            continue
        at = run_perf[(run_perf["batch_size"] == cell[0]) & (run_perf["seq_len"] == cell[1])]
        for r in quality:
            # only the perf cell that timed this very model: its training unit and parameter count
            match = at[(at["quality_cell"] == str(r.get("cell", "")).rsplit("/", 1)[0])
                       & (at["n_params"] == r.get("n_params")) & at["samples_per_s"].notna()]
            if len(match):  # the perf row's series label, so the colour matches the other plots
                points.append({"series": match["series"].iloc[0], "run": label, "cell": cell, "split": r.get("split"),
                               "x": float(match["samples_per_s"].iloc[0]), "y": float(r["metrics"][metric])})
    return points


def _one_split(quality: list[dict]) -> list[dict]:
    """A model is scored on each evaluation split; the picture shows one: test, else validation."""
    splits = {r.get("split") for r in quality}
    split = next((s for s in ("test", "validation") if s in splits), None)
    return [r for r in quality if split is None or r.get("split") == split]


def _pareto(runs, perf):
    """Quality against throughput, one panel per task; the dashed line joins the
    models of a run that no other model of it beats on both (faster and better)."""
    if perf.empty:
        return None
    metric_of = {t.name: t.select_metric for t in TASKS.values()}
    panels = [(task, metrics.get(metric).label, pts) for task, metric in metric_of.items()
              if (pts := _pareto_points(runs, perf, task, metric))]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False,
                             layout="constrained")
    styles = _styles(perf)
    for ax, (task, label, points) in zip(axes[0], panels):
        for p in points:
            style = styles[p["series"]]
            ax.scatter([p["x"]], [p["y"]], s=45, color=style["color"], marker=style["marker"])
            ax.annotate(p["series"], (p["x"], p["y"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        for run in dict.fromkeys(p["run"] for p in points):
            front = _frontier([(p["x"], p["y"]) for p in points if p["run"] == run])
            ax.plot(*zip(*front), "--", color="grey", alpha=0.7,
                    label="Pareto front" + (f" ({run})" if len(runs) > 1 else ""))
        xs = [p["x"] for p in points]
        if min(xs) > 0 and max(xs) / min(xs) >= 10:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(PLAIN)
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.margins(0.15)  # room for the labels at the edges
        batch, seq = points[0]["cell"]
        split = f" ({points[0]['split']} split)" if points[0]["split"] else ""
        ax.set(xlabel=f"forward throughput (samples/s, batch {batch}, seq {seq})", ylabel=label + split, title=task)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def _deployment(runs):
    from nlpbench.variants.table import deployment_figure

    return deployment_figure(runs)


def _frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not dominated (higher throughput and higher quality), by throughput."""
    front, best = [], float("-inf")
    for x, y in sorted(points, key=lambda p: (-p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return sorted(front)
