"""The serve table and the p99-vs-offered-QPS plot, called from nlpbench.report.tables and nlpbench.report.plots.

The table has one row per model and scenario: the p99 target, the QPS at that
target (SingleStream: completed samples/s one at a time; Offline: samples/s;
Server: the highest offered QPS LoadGen judged VALID), p50/p99, the quality of
the answers produced under load and LoadGen's verdict. The plot draws every
Server test of the capacity search: p99 against offered QPS, one line per model,
the targets as dashed lines, INVALID tests as hollow markers.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

PLAIN = FuncFormatter(lambda v, _: f"{v:g}")  # 40 rather than 4x10^1 on log axes

TITLE = "Serving: p99 latency vs offered QPS (LoadGen Server)"
PLOT = "serve_p99_vs_qps"
SCENARIOS = {"SingleStream": 0, "Offline": 1, "Server": 2}


def serve_tables(records: list[dict]) -> list:
    """[the serve Table] when the records hold serve cells, else []."""
    from nlpbench.report.table_base import Spec, Table
    from nlpbench.report.tables import frame

    serve = sorted((r for r in records if r.get("kind") == "serve"),
                   key=lambda r: (str(r.get("task")), SCENARIOS.get(r.get("scenario"), 3)))
    if not serve:
        return []
    spec = Spec(
        "serve", "Serving (MLPerf LoadGen)", ("model", "dataset", "scenario"),
        (("target_p99_ms", "target_p99_ms"), ("qps", "qps"), ("p50_ms", "latency_ms.p50"),
         ("p99_ms", "latency_ms.p99"), ("quality", "quality"), ("quality_metric", "quality_metric"),
         ("agreement", "agreement"), ("verdict", "verdict"), ("max_batch", "serve.max_batch"), ("max_wait_ms", "max_wait_ms"),
         ("mean_batch", "mean_batch"), ("padding_fraction", "padding_fraction"),
         ("padding_slowdown", "padding_cost.slowdown"), ("dropped", "dropped"),
         ("status", "status")),
        ("qps", "p50_ms", "p99_ms", "quality"))
    rows = [{**r, "mean_batch": mean_batch(r.get("batch_sizes"))} for r in serve]
    return [Table(spec, frame(spec, rows))]


def mean_batch(hist) -> float | None:
    if not isinstance(hist, dict) or not hist:
        return None
    total = sum(hist.values())
    return round(sum(int(k) * v for k, v in hist.items()) / total, 2) if total else None


def p99_vs_qps(runs: dict[str, list[dict]]):
    """The figure, or None when no run has a Server cell with a search."""
    points = [(label, r) for label, recs in runs.items() for r in recs
              if r.get("kind") == "serve" and r.get("scenario") == "Server" and r.get("search")]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, (label, rec) in enumerate(points):
        name = rec.get("name") or rec.get("model")
        series = name if len(runs) == 1 else f"{name} ({label})"
        colour = colours[n % len(colours)]
        tests = sorted((t for t in rec["search"] if t.get("p99_ms") is not None), key=lambda t: t["offered_qps"])
        xs, ys = [t["offered_qps"] for t in tests], [t["p99_ms"] for t in tests]
        cap = f"capacity {rec['qps']:g} qps" if rec.get("qps") else "no VALID QPS"
        ax.plot(xs, ys, "-", color=colour, alpha=0.7, label=f"{series} ({cap})")
        for t in tests:
            valid = t.get("verdict") == "VALID"
            ax.plot(t["offered_qps"], t["p99_ms"], "o", color=colour, markerfacecolor=colour if valid else "none")
        if rec.get("target_p99_ms"):
            ax.axhline(rec["target_p99_ms"], color=colour, linestyle="--", alpha=0.5, linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(PLAIN)
        axis.set_minor_formatter(PLAIN)
    ax.set_xlabel("offered QPS (Poisson arrivals)")
    ax.set_ylabel("p99 latency (ms)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("filled: VALID, hollow: INVALID; dashed: p99 target", fontsize=9)
    return fig
