"""What every report plot shares: perf records as one frame, a style per series, axis helpers, one legend.

A series is one line of a plot: a model, plus its dtype and run where those
vary. Its colour, marker and line style are the same in every plot (and the
Pareto view), so a reader can follow one model from picture to picture.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

PLAIN = FuncFormatter(lambda v, _: f"{v:g}")  # 300 rather than 3x10^2 on log axes
MARKERS = "osD^v<>ph*"
LINESTYLES = ("-", "--", ":", "-.")  # with the colours, tells apart lines that lie on top of each other


def perf_rows(runs: dict[str, list[dict]]) -> pd.DataFrame:
    """Finished perf cells of every mode, one row each, with a `series` label per line."""
    rows = []
    for label, records in runs.items():
        for r in records:
            if r.get("kind") != "perf" or r.get("status") != "ok" or r.get("variant"):
                continue  # a deployment variant's one timed shape has its own plot
            rows.append({"run": label, "model": str(r.get("name") or r.get("model")), "mode": r.get("mode"),
                         "task": r.get("task"), "dtype": f"{r.get('dtype')}{'+compile' if r.get('compile') else ''}",
                         "batch_size": r.get("batch_size"), "seq_len": r.get("seq_len"),
                         "max_new_tokens": r.get("max_new_tokens"), **latency_quartiles(r),
                         "samples_per_s": (r.get("throughput") or {}).get("samples_per_s"),
                         "peak_memory_mb": r.get("peak_memory_mb"), "memory_kind": r.get("memory_kind"),
                         "quality_cell": r.get("quality_cell"), "n_params": r.get("n_params")})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["variant"] = _variant(df)
    df["series"] = df["model"].astype(str) + df["variant"]
    return df


def perf_frame(runs: dict[str, list[dict]]) -> pd.DataFrame:
    """The perf rows of one mode, the one the line plots draw: `forward`, else the first mode the runs have."""
    df = perf_rows(runs)
    if df.empty:
        return df
    modes = list(df["mode"].dropna().unique())
    return df[df["mode"] == ("forward" if "forward" in modes else modes[0])].copy()


def _variant(df: pd.DataFrame) -> pd.Series:
    """What tells apart lines of one model: dtype and run, only where they vary."""
    variant = pd.Series("", index=df.index)
    if df["dtype"].nunique() > 1:
        variant = variant + " " + df["dtype"].astype(str)
    if df["run"].nunique() > 1:
        variant = variant + " (" + df["run"].astype(str) + ")"
    return variant


def styles(perf: pd.DataFrame) -> dict:
    """Per series, the same in every plot: colour by model; marker and line style by
    variant (run / dtype), or marker by model when there is one variant."""
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    models, variants = sorted(perf["model"].unique()), sorted(perf["variant"].unique())
    out = {}
    for series, model, variant in perf[["series", "model", "variant"]].drop_duplicates().itertuples(index=False):
        i, j = models.index(model), variants.index(variant)
        out[series] = {"color": colours[i % len(colours)],
                       "marker": MARKERS[(i if len(variants) == 1 else j) % len(MARKERS)],
                       "linestyle": LINESTYLES[j % len(LINESTYLES)]}
    return out


def iqr_bars(frame: pd.DataFrame) -> list:
    """Error bars below and above p50 (`p50_ms`): to the quartiles (`p25_ms`, `p75_ms`) where the record has
    them, else half the IQR (`iqr_ms`) each way (records from before the quartiles were kept)."""
    half = frame["iqr_ms"].astype(float).fillna(0) / 2
    p25 = frame["p25_ms"].astype(float) if "p25_ms" in frame else pd.Series(float("nan"), index=frame.index)
    p75 = frame["p75_ms"].astype(float) if "p75_ms" in frame else pd.Series(float("nan"), index=frame.index)
    below, above = (frame["p50_ms"] - p25).fillna(half), (p75 - frame["p50_ms"]).fillna(half)
    return [below.clip(lower=0).to_numpy(), above.clip(lower=0).to_numpy()]


def latency_quartiles(record: dict) -> dict:
    """A perf record's p50, quartiles and IQR in the column names `iqr_bars` reads."""
    lat = record.get("latency_ms") or {}
    return {"p50_ms": lat.get("p50"), "p25_ms": lat.get("p25"), "p75_ms": lat.get("p75"), "iqr_ms": lat.get("iqr")}


def figure_legend(fig, axes, title: str | None = None) -> None:
    """One legend for the whole figure from every panel's entries: a series drawn in one panel only (another
    run's grid, a batch that ran out of memory) still gets its entry."""
    entries: dict = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if entries:
        fig.legend(list(entries.values()), list(entries), loc="outside right center", fontsize=8, title=title,
                   title_fontsize=8)


def geometric(values) -> bool:
    """A grid like 1, 8, 32 or 32, 128, 512: spread over a factor of 4 or more."""
    v = sorted(x for x in set(values) if x and x > 0)
    return len(v) >= 2 and v[-1] / v[0] >= 4


def grid_axis(ax, values) -> None:
    """An x axis ticked at the grid's own values: log2 for a geometric grid (8, 32, 128 rather than 2^3 ...);
    a single value gets a symmetric range around it, not matplotlib's ±1.5 (30.5 ... 33.5 tokens)."""
    ticks = sorted(set(values))
    if len(ticks) == 1:
        v = ticks[0]
        ax.set_xlim(v * 0.5, v * 1.5) if v > 0 else ax.set_xlim(v - 1, v + 1)
    elif geometric(ticks):
        ax.set_xscale("log", base=2)
    else:
        return
    ax.xaxis.set_ticks(ticks)
    ax.xaxis.set_major_formatter(PLAIN)
    ax.xaxis.set_minor_formatter(NullFormatter())


def spans_decade(values: pd.Series) -> bool:
    return values.min() > 0 and values.max() / values.min() >= 10


def log_axis(axis) -> None:
    """log axis ticked at 1-2-5 steps in plain numbers (200, 500, 1000)."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(PLAIN)
    axis.set_minor_formatter(NullFormatter())
