"""The deployment table (one row per model and variant) and its Pareto plot.

Rows join a variant's quality record on one split (test, else the last split
scored) with its perf record at the reference shape (`quality_cell` pairs
them): the metric with its interval (accuracy: bootstrap 95% CI; BLEU: none),
Δ vs fp32 on the same examples with its 95% interval and p (McNemar exact /
sacreBLEU paired bootstrap), p50 latency, speed-up over fp32 (fp32 p50 /
variant p50), peak memory of a step, model size on disk and the RSS the
variant added when built. fp32's quality row is the plain quality cell.
"""
from __future__ import annotations

import pandas as pd

from nlpbench.report.plot_data import iqr_bars, latency_quartiles
from nlpbench.report.table_base import Spec, Table, lookup, record_name
from nlpbench.tasks import TASKS

COLUMNS = ("quality", "quality_lo", "quality_hi", "delta", "delta_lo", "delta_hi", "p", "p50_ms", "speedup",
           "samples_per_s", "peak_memory_mb", "size_mb", "model_rss_mb", "noisy", "status", "reason")
KEYS = ("model", "variant", "split")


def _spec(task: str) -> Spec:
    return Spec(f"deployment_{task}", f"Deployment variants: {task} ({_metric(task)}; "
                f"Δ vs fp32 on the same examples; p50 at the reference shape)", KEYS,
                tuple((c, c) for c in COLUMNS), ("quality", "p50_ms", "speedup", "size_mb"))


def _metric(task: str) -> str:
    """The metric a variant is judged on: its task's selection metric (as `nlpbench.variants.paired`)."""
    return TASKS[task].select_metric if task in TASKS else "accuracy"


def _split_of(quality: list[dict]) -> str | None:
    splits = [r.get("split") for r in quality]
    return "test" if "test" in splits else (splits[-1] if splits else None)


def _rows(task: str, records: list[dict]) -> list[dict]:
    perf = [r for r in records if r.get("kind") == "perf" and r.get("variant") and r.get("task") == task]
    quality = {r["cell"]: r for r in records if r.get("kind") == "quality" and r.get("task") == task and "cell" in r}
    metric = _metric(task)
    fp32_p50 = {r.get("base_name"): lookup(r, "latency_ms.p50") for r in perf if r.get("variant") == "fp32"}
    rows = []
    for p in perf:
        cells = p.get("quality_cells") or [p.get("quality_cell")]
        split = _split_of([quality[c] for c in cells if c in quality]) or "test"
        q = next((quality[c] for c in cells if c in quality and quality[c].get("split") == split), {})
        p50, base = lookup(p, "latency_ms.p50"), fp32_p50.get(p.get("base_name"))
        ci = lookup(q, f"metrics.{metric}_ci95") or [None, None]
        dci = lookup(q, "vs_fp32.delta_ci95") or [None, None]
        status = q.get("status") if q.get("status", "ok") != "ok" else p.get("status")
        rows.append({
            "model": str(p.get("base_name") or record_name(p)), "variant": p.get("variant"), "split": split,
            "quality": lookup(q, f"metrics.{metric}"), "quality_lo": ci[0], "quality_hi": ci[1],
            "delta": 0.0 if p.get("variant") == "fp32" and q else lookup(q, "vs_fp32.delta"),
            "delta_lo": dci[0], "delta_hi": dci[1], "p": lookup(q, "vs_fp32.p"), "p50_ms": p50,
            "speedup": base / p50 if base and p50 else None, "samples_per_s": lookup(p, "throughput.samples_per_s"),
            "peak_memory_mb": p.get("peak_memory_mb"), "size_mb": p.get("size_mb"),
            "model_rss_mb": p.get("model_rss_mb"), "noisy": p.get("noisy"), "status": status,
            "reason": str(q.get("error") or p.get("error") or "")[:160],
        })  # fmt: skip
    return rows


def deployment_tables(records: list[dict]) -> list[Table]:
    """One table per task that has variant perf records (none when the suite asked only fp32)."""
    tasks = dict.fromkeys(str(r.get("task")) for r in records if r.get("kind") == "perf" and r.get("variant"))
    out = []
    for task in tasks:
        rows = _rows(task, records)
        frame = pd.DataFrame(rows, columns=[*KEYS, *COLUMNS])
        keep = [c for c in frame.columns if c in KEYS or c == "status" or frame[c].notna().any()]
        frame = frame[keep]
        if not frame["reason"].astype(bool).any():  # no unsupported/failed variant: no column for reasons
            frame = frame.drop(columns="reason")
        out.append(Table(_spec(task), frame.reset_index(drop=True)))
    return out


def deployment_figure(runs: dict[str, list[dict]]):
    """Quality against p50 latency at the reference shape, one panel per task: a marker per
    (model, variant) with its quality interval and latency interquartile range as bars, a line joining
    each model's variants (fp32 first); None without variants."""
    import matplotlib.pyplot as plt

    panels = []
    for label, records in runs.items():
        for t in deployment_tables(records):
            df = t.frame.dropna(subset=[c for c in ("quality", "p50_ms") if c in t.frame])
            if {"quality", "p50_ms"} <= set(df.columns) and len(df):
                panels.append((t.spec.name.removeprefix("deployment_"), label, _with_bars(df, records)))
    tasks = list(dict.fromkeys(task for task, _, _ in panels))
    if not tasks:
        return None
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.8 * len(tasks), 4.3), squeeze=False, layout="constrained")
    markers = dict(zip(("fp32", "bf16", "fp16", "int8-dynamic", "onnx", "compile"), "osD^vP"))
    for ax, task in zip(axes[0], tasks):
        for _, run, df in (p for p in panels if p[0] == task):
            for model, rows in df.groupby("model", sort=False):
                line = ax.plot(rows["p50_ms"], rows["quality"], ":", alpha=0.6,  # dotted: not to be read as a bar
                               label=model + (f" ({run})" if len(runs) > 1 else ""))[0]
                for r in rows.itertuples():
                    ax.errorbar([r.p50_ms], [r.quality], xerr=[[r.x_below], [r.x_above]],
                                yerr=[[r.quality - r.quality_lo], [r.quality_hi - r.quality]], capsize=3,
                                marker=markers.get(r.variant, "o"), color=line.get_color(), markersize=7, alpha=0.9)
                    ax.annotate(r.variant, (r.p50_ms, r.quality), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set(xlabel="p50 latency at the reference shape (ms; bars: interquartile range)",
               ylabel=f"{_metric(task)} (bars: 95% CI where recorded)", title=task)
        ax.margins(0.15)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def _with_bars(df: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """The table rows plus what the figure's bars need: the latency quartiles from each variant's perf
    record and the quality interval (the point itself where none was recorded, e.g. BLEU)."""
    perf = {(str(r.get("base_name") or record_name(r)), r.get("variant")): latency_quartiles(r)
            for r in records if r.get("kind") == "perf" and r.get("variant")}
    lat = pd.DataFrame([perf.get((m, v), {}) for m, v in zip(df["model"], df["variant"])], index=df.index,
                       columns=["p25_ms", "p75_ms", "iqr_ms"])
    below, above = iqr_bars(pd.concat([df[["p50_ms"]], lat], axis=1))
    out = df.assign(x_below=below, x_above=above)
    for col in ("quality_lo", "quality_hi"):
        out[col] = out[col].astype(float).fillna(out["quality"]) if col in out else out["quality"]
    return out
