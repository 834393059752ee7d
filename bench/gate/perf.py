"""Perf cells at the gate: timings judged against their noise (and only on one machine), cost judged anywhere.

Timings (p50, throughput, peak memory, TTFT, per-token time) get relative tolerances, and a change is a
regression only beyond the cells' own noise; on another machine it is a warning. Cost (parameters, FLOPs,
weight, state and activation bytes, serialized size: `nlpbench.gate.sides.COST_FIELDS`) does not depend on
the machine, so it is gated on any: activations only between records measured the same way (`memory_kind`;
a change of kind is a warning naming both). A non-finite new value is always a regression.
"""
from __future__ import annotations

import math

from nlpbench.gate.checks import number
from nlpbench.gate.sides import COST_FIELDS
from nlpbench.gate.verdict import WARNED, Delta
from nlpbench.report.table_base import lookup

MEMORY_FLOOR_MB = 1.0  # a peak-memory change below this is never a regression (allocator granularity, tiny cells)
# Perf numbers compared: (row label, dotted path, tolerance key or None, higher is better).
PERF_METRICS = (
    ("latency_p50_ms", "latency_ms.p50", "latency", False),
    ("latency_p90_ms", "latency_ms.p90", None, False),
    ("samples_per_s", "throughput.samples_per_s", "throughput", True),
    ("tokens_per_s", "throughput.tokens_per_s", None, True),
    ("peak_memory_mb", "peak_memory_mb", "memory", False),
    ("ttft_ms", "time_to_first_token_ms", "ttft", False),
    ("per_token_ms", "per_token_ms", "per_token", False),
)
MEASURED_MEMORY = ("peak_memory_mb", "activations_mb")  # compared only within one memory_kind


def noise(rec: dict) -> tuple[float, float]:
    """(IQR in ms, IQR / p50) of a perf cell's latency samples; 0 when not measured."""
    lat = rec.get("latency_ms") or {}
    iqr, p50 = number(lat.get("iqr")) or 0.0, number(lat.get("p50")) or 0.0
    return iqr, (iqr / p50 if p50 > 0 else 0.0)


def generate_noise(rec: dict) -> tuple[float, float]:
    """(TTFT spread, per-token spread) in ms of a generate cell: the 1-token loop's IQR, and both loops'
    IQRs over the n-1 tokens per_token_ms divides by (records without them: the N-token loop's IQR)."""
    iqr, _ = noise(rec)
    ttft = number(rec.get("time_to_first_token_iqr_ms"))
    ttft = iqr if ttft is None else ttft
    n = number(rec.get("max_new_tokens")) or 2.0
    return ttft, (iqr + ttft) / max(1.0, n - 1)


def beyond_noise(key: str, a: float, b: float, rel: float, old: dict, new: dict) -> bool:
    """Each metric's own noise rule: a change smaller than the cells' measured spread is not evidence."""
    if key == "latency":
        return abs(b - a) > max(noise(old)[0], noise(new)[0])
    if key == "throughput":  # throughput is batch / p50: the relative IQR
        return abs(rel) > max(noise(old)[1], noise(new)[1])
    if key == "memory":  # exact allocator figures; different kinds (cpu_rss vs cpu_allocated) never compare
        return old.get("memory_kind") == new.get("memory_kind") and abs(b - a) > MEMORY_FLOOR_MB
    if key in ("ttft", "per_token"):
        i = 0 if key == "ttft" else 1
        return abs(b - a) > max(generate_noise(old)[i], generate_noise(new)[i])
    return True


def median_shift(old: dict, new: dict, drift: float) -> bool | None:
    """Whether p50 moved beyond noise: the 99% bootstrap interval of median(new)/median(old) from the
    raw samples (every round's, as the record keeps them) lies wholly outside 1 ± drift; None when a side
    kept no samples (older records)."""
    a, b = old.get("latency_samples_ms"), new.get("latency_samples_ms")
    if not a or not b:
        return None
    from nlpbench.metrics.stats import ratio_of_medians

    lo, hi = ratio_of_medians(a, b)["ci"]
    return lo > 1 + drift or hi < 1 - drift


def perf_deltas(cell: str, old: dict, new: dict, tol: dict, machine_differs: bool) -> list[Delta]:
    """Relative tolerances, each change also checked against its metric's noise: with raw latency samples on
    both sides, p50 latency and throughput by the 99% bootstrap interval of the ratio of medians against
    1 ± drift (`median_shift`); else `beyond_noise` (latency against the larger IQR, throughput the larger
    relative IQR, peak memory a 1 MB floor within one memory kind, TTFT and per-token time their loops' IQRs)."""
    shift = None
    out = []
    for name, path, key, higher_better in PERF_METRICS:
        a, b = number(lookup(old, path)), number(lookup(new, path))
        if a is None or b is None:
            continue
        d = Delta(cell, name, a, b)
        limit = tol.get(key) if key else None
        if limit is not None and not math.isfinite(b):
            d.tolerance, d.verdict = "finite", "regression"  # a NaN p50 would pass every comparison below
        elif limit is not None and a > 0:
            worse = -d.rel if higher_better else d.rel
            if key in ("latency", "throughput") and shift is None:
                shift = median_shift(old, new, tol.get("drift") or 0.0)
            if shift is not None and key in ("latency", "throughput"):
                beyond = shift  # raw samples on both sides: the bootstrap interval decides
            else:
                beyond = beyond_noise(key, a, b, d.rel, old, new)
            d.tolerance = f"{'-' if higher_better else '+'}{limit:.0%}"
            if worse > limit:
                d.verdict = (WARNED if machine_differs else "regression") if beyond else "noise"
            else:
                d.verdict = "improved" if -worse > limit and beyond else "ok"
        out.append(d)
    return out


def memory_kind_note(cell: str, old: dict, new: dict) -> str | None:
    """A warning when the two records measured memory differently: their memory figures are not compared."""
    a, b = old.get("memory_kind"), new.get("memory_kind")
    if a and b and a != b:
        return f"{cell}: memory_kind {a} -> {b}: peak memory and activations measured differently, not compared"
    return None


def cost_deltas(cell: str, old: dict, new: dict, tol: dict) -> list[Delta]:
    """The machine-independent cost of a perf cell, each within a relative tolerance on any machine
    (activations only within one memory kind). A rise beyond it is a regression, a fall an improvement."""
    out = []
    kinds = old.get("memory_kind"), new.get("memory_kind")
    same_kind = kinds[0] == kinds[1] or not all(kinds)
    for key, tol_key in COST_FIELDS:
        a, b = number(old.get(key)), number(new.get(key))
        if a is None or b is None or (key in MEASURED_MEMORY and not same_kind):
            continue
        d = Delta(cell, key, a, b)
        limit = tol.get(tol_key)
        if limit is None:
            out.append(d)
            continue
        d.tolerance = f"+{limit:.0%}" if limit else "exact"
        if not math.isfinite(b):
            d.verdict = "regression"
        elif not math.isfinite(a):
            d.verdict = "info"  # a broken baseline figure: nothing to hold the new one to
        else:
            allowed = limit * abs(a) + 1e-9  # float noise of a recomputed figure (MB from bytes)
            d.verdict = "regression" if b - a > allowed else "improved" if a - b > allowed else "ok"
        out.append(d)
    return out
