"""Reading LoadGen's own logs: the summary (verdict, latency percentiles, QPS) and the detail log's errors.

`mlperf_log_summary.txt` holds `key : value` lines (`Result is : VALID`,
`99.00 percentile latency (ns) : 1234567`, `Completed samples per second : 12.3`);
`mlperf_log_detail.txt` holds one `:::MLLOG {json}` line per event, errors and
warnings among them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

SUMMARY = "mlperf_log_summary.txt"
DETAIL = "mlperf_log_detail.txt"
_PERCENTILE = re.compile(r"^(\d+(?:\.\d+)?)(?:th)? percentile latency \(ns\)$")


def _number(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value


def parse_summary(path: Path) -> dict:
    """Every `key : value` line of a summary (first occurrence wins), numbers parsed."""
    out: dict = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and value.strip() and key.strip() not in out:
            out[key.strip()] = _number(value.strip())
    return out


def latencies_ms(summary: dict) -> dict:
    """{p50, p90, p99, ...} in ms from a summary's percentile lines, plus min/mean/max."""
    out = {}
    for key, value in summary.items():
        m = _PERCENTILE.match(key)
        if m and isinstance(value, (int, float)):
            p = float(m.group(1))
            out[f"p{p:g}".replace(".", "_")] = round(value / 1e6, 6)
    for name in ("Min", "Mean", "Max"):
        value = summary.get(f"{name} latency (ns)")
        if isinstance(value, (int, float)):
            out[name.lower()] = round(value / 1e6, 6)
    return out


def verdict(summary: dict) -> str | None:
    """`VALID` or `INVALID` as LoadGen judged the run (None: no verdict in the summary)."""
    value = summary.get("Result is")
    return str(value) if value is not None else None


def unmet(summary: dict) -> list[str]:
    """The constraints LoadGen says were not satisfied (`Min duration satisfied : NO` -> `Min duration`)."""
    return [k.removesuffix(" satisfied").strip() for k, v in summary.items() if k.endswith("satisfied") and v == "NO"]


def more_queries_needed(path: Path) -> int | None:
    """Server early stopping's `Would need to run at least N more queries` (None when absent)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace") if Path(path).is_file() else ""
    m = re.search(r"Would need to run at least (\d+) more queries", text)
    return int(m.group(1)) if m else None


def throughput(summary: dict) -> float | None:
    """Samples per second LoadGen measured (Offline: `Samples per second`; Server: completed samples/s;
    SingleStream: `QPS w/ loadgen overhead`, one request at a time)."""
    for key in ("Samples per second", "Completed samples per second", "QPS w/ loadgen overhead"):
        if isinstance(summary.get(key), (int, float)):
            return float(summary[key])
    return None


def detail_errors(path: Path) -> list[str]:
    """Errors LoadGen logged during a test (its detail log's `error` events)."""
    if not Path(path).is_file():
        return []
    errors = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith(":::MLLOG"):
            continue
        try:
            event = json.loads(line[len(":::MLLOG"):])
        except json.JSONDecodeError:
            continue
        if (event.get("metadata") or {}).get("is_error"):
            errors.append(f"{event.get('key')}: {event.get('value')}")
    return errors
