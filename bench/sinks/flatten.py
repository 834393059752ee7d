"""A record as a tracker sees it: flat params (what was run) and flat numeric metrics (what was measured).

Params: the resolved adapter `params.*` and `train.*`, and the record's identity (cell, task, model,
split, mode, batch size, ...). Metrics: every other number, nested keys joined with '.', as the report's
dotted paths (`metrics.accuracy`, `metrics.accuracy_ci95.0`, `latency_ms.p50`, `throughput.tokens_per_s`).
Long lists (latency samples, per-example samples, the learning curve) are not metrics; the learning curve
is sent as a series (`curve`).
"""
from __future__ import annotations

import math
from pathlib import Path

NESTED_PARAMS = ("params", "train")
NUMBER_PARAMS = ("seed", "batch_size", "seq_len", "beam_size", "rounds")  # numbers that say what ran
SKIP = ("samples", "latency_samples_ms", "round_p50_ms", "fit", "error")  # kept in the run folder only
MAX_PARAM = 500  # characters; trackers cap parameter values (MLflow: 6000)


def _leaves(value, prefix: str):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list) and len(value) <= 2 and all(isinstance(v, (int, float)) for v in value):
        for i, v in enumerate(value):  # intervals [lo, hi]
            yield f"{prefix}.{i}", v
    elif not isinstance(value, list):
        yield prefix, value


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def params(rec: dict) -> dict[str, str]:
    out = {}
    for key in NESTED_PARAMS:
        for k, v in _leaves(rec.get(key) or {}, key):
            out[k] = str(v)[:MAX_PARAM]
    for k, v in rec.items():
        if k in SKIP or k in NESTED_PARAMS:
            continue
        if isinstance(v, (str, bool)) or (k in NUMBER_PARAMS and v is not None):
            out[k] = str(v)[:MAX_PARAM]
    return out


def metrics(rec: dict) -> dict[str, float]:
    out = {}
    for k, v in rec.items():
        if k in SKIP or k in NESTED_PARAMS or k in NUMBER_PARAMS:
            continue
        for name, leaf in _leaves(v, k):
            if is_number(leaf):
                out[name] = float(leaf)
    return out


def curve(rec: dict) -> list[tuple[int, float]]:
    """(step, validation score) of the training unit behind a quality record; [] for others."""
    history = (rec.get("fit") or {}).get("history") or []
    return [(int(h["step"]), float(h["score"])) for h in history
            if isinstance(h, dict) and is_number(h.get("step")) and is_number(h.get("score"))]


def report_files(run_dir: Path) -> list[Path]:
    """The report a run wrote (report.md/html, the CSV tables, plots) and run.json; what exists."""
    run_dir = Path(run_dir)
    names = [run_dir / "report.md", run_dir / "report.html", run_dir / "run.json"]
    files = [p for p in names if p.is_file()] + sorted(run_dir.glob("*.csv"))
    return files + sorted((run_dir / "plots").glob("*.png"))
