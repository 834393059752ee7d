"""The report's pictures (matplotlib, Agg backend, PNG in `plots/`).

- throughput vs batch size, one panel per sequence length
- latency (p50, bars: interquartile range) vs sequence length, one panel per batch size
- peak memory vs sequence length, one panel per batch size
- quality vs throughput, the Pareto view (`nlpbench.report.pareto`): intervals on quality; translators
  at decoding throughput
- learning curves (`nlpbench.report.learning_curve`), deployment variants, serving

One line per model (per run and dtype where those vary), styled alike in every
plot (`nlpbench.report.plot_data`), one legend per figure holding every series.
Perf plots use the `forward` cells (else the first mode the run has) and their
axis says the mode; a plot whose data is absent is skipped, not drawn empty.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from nlpbench.report import learning_curve, pareto
from nlpbench.report.plot_data import (
    figure_legend,
    grid_axis,
    iqr_bars,
    log_axis,
    perf_frame,
    perf_rows,
    spans_decade,
    styles,
)

__all__ = ["TITLES", "figures", "perf_frame", "write_plots"]

TITLES = {
    "throughput_vs_batch": "Throughput vs batch size",
    "latency_vs_seq": "Latency vs sequence length",
    "memory_vs_seq": "Peak memory vs sequence length",
    "quality_vs_throughput": "Quality vs throughput (Pareto view)",
    "deployment_variants": "Deployment variants: quality vs latency",
    "learning_curve": "Learning curves (validation, mean ± sd over seeds)",
    "serve_p99_vs_qps": "Serving: p99 latency vs offered QPS (LoadGen Server)",  # bench/report/serve.py
}
MAX_PANELS = 4  # more panels than this get too small to read; evenly spaced ones are kept


def write_plots(runs: dict[str, list[dict]], out_dir: Path) -> dict[str, Path]:
    """Draws every plot its data allows; returns {plot name: PNG path}. Old PNGs
    of these names are removed first so a refreshed report shows no stale picture."""
    out_dir = Path(out_dir)
    for name in TITLES:
        (out_dir / f"{name}.png").unlink(missing_ok=True)
    written = {}
    for name, fig in figures(runs).items():
        out_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_dir / f"{name}.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written[name] = out_dir / f"{name}.png"
    return written


def figures(runs: dict[str, list[dict]]) -> dict:
    """{plot name: matplotlib figure, titled} for every plot the records allow (the caller closes them)."""
    rows = perf_rows(runs)
    perf = perf_frame(runs)
    mode = perf["mode"].iloc[0] if not perf.empty else ""
    drawn = {
        "throughput_vs_batch": _lines(perf, rows, "seq_len", "batch_size", "samples_per_s",
                                      "batch size (samples)", f"{mode} throughput (samples/s)", "seq"),
        "latency_vs_seq": _lines(perf, rows, "batch_size", "seq_len", "p50_ms", "sequence length (tokens)",
                                 f"{mode} latency, p50 (ms)\nbars: interquartile range", "batch"),
        "memory_vs_seq": _lines(perf, rows, "batch_size", "seq_len", "peak_memory_mb",
                                "sequence length (tokens)", _memory_label(perf), "batch"),
        "quality_vs_throughput": pareto.figure(runs, rows),
        "deployment_variants": _deployment(runs),
        "learning_curve": learning_curve.figure(runs),
        "serve_p99_vs_qps": _serve_plot(runs),
    }
    out = {}
    for name, fig in drawn.items():
        if fig is not None:
            fig.suptitle(f"{TITLES[name]}{_mode_note(perf, name)}")
            out[name] = fig
    return out


def _serve_plot(runs):
    from nlpbench.report.serve import p99_vs_qps

    return p99_vs_qps(runs)


def _deployment(runs):
    from nlpbench.report.variants import deployment_figure

    return deployment_figure(runs)


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


def _lines(perf, rows, facet, x, y, xlabel, ylabel, facet_name):
    """One panel per `facet` value, one line per series; None when there is nothing to draw. Latency
    gets interquartile bars. `rows` (every mode) only fixes the styles, so colours match the Pareto view."""
    if perf.empty or perf[y].isna().all():
        return None
    data = perf.dropna(subset=[y])
    facets = _pick(sorted(data[facet].unique()), MAX_PANELS)
    fig, axes = plt.subplots(1, len(facets), figsize=(4.2 * len(facets) + 2.5, 3.8), squeeze=False,
                             layout="constrained")
    style = styles(rows)
    for ax, value in zip(axes[0], facets):
        panel = data[data[facet] == value]
        for series, line in panel.groupby("series", sort=True):
            line = line.sort_values(x)
            bars = iqr_bars(line) if y == "p50_ms" else None
            ax.errorbar(line[x], line[y], yerr=bars, capsize=3 if bars is not None else 0, label=series,
                        alpha=0.85, markersize=6, **style[series])
        grid_axis(ax, data[x])
        if spans_decade(panel[y]):
            ax.set_yscale("log")
            log_axis(ax.yaxis)
        ax.set_title(f"{facet_name} {value}")
        ax.set_xlabel(xlabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    figure_legend(fig, axes[0])
    return fig
