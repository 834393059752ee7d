"""A training unit's live status, for the one-line-per-cell progress of parallel runs.

A worker (nlpbench.launch.worker) sets `$NLPBENCH_STATUS_FILE`; `nlpbench.quality.train.fit`
calls `report(...)` on each validation pass and every few seconds, which writes
a small JSON file (atomically) that the driver (nlpbench.launch.process) reads to draw its
lines. Without the variable `report` does nothing, so inline runs are as before.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

ENV = "NLPBENCH_STATUS_FILE"
EVERY_S = 2.0  # at most one write per this many seconds, except on validation passes

_last = 0.0


def report(force: bool = False, **fields) -> None:
    """Writes `fields` (stage, step, total, epoch, score, elapsed_s, eta_s) to the status file, if any."""
    global _last
    path = os.environ.get(ENV)
    now = time.monotonic()
    if not path or (not force and now - _last < EVERY_S):
        return
    _last = now
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        Path(tmp).write_text(json.dumps({**fields, "at": time.time()}))
        os.replace(tmp, path)
    except OSError:  # a status line is a courtesy: never fail training over it
        pass


def read(path: Path) -> dict:
    """The last status a worker wrote ({} before the first one, or when unreadable)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def eta_s(step: int, total: int, elapsed_s: float, cap_minutes: float | None) -> float | None:
    """Seconds left: the step rate so far extrapolated, bounded by the clock cap (when the suite sets one)."""
    left = (total - step) * elapsed_s / step if step else None
    if cap_minutes is not None:
        cap_left = max(0.0, 60 * cap_minutes - elapsed_s)
        left = cap_left if left is None else min(left, cap_left)
    return left


def line(unit: str, status: dict, wall_s: float) -> str:
    """`quality/sst2/bert/seed1  mlm 1200/6000 (epoch 0.40) val 0.8123  3.2 min  ETA 6.8 min`."""
    if not status:
        return f"{unit}  starting ({wall_s / 60:.1f} min)"
    parts = [unit, f" {status.get('stage', '')} {status.get('step', 0)}/{status.get('total', '?')}"]
    if status.get("epoch") is not None:
        parts.append(f" (epoch {status['epoch']:.2f})")
    if status.get("score") is not None:
        parts.append(f" val {status['score']:.4f}")
    parts.append(f"  {wall_s / 60:.1f} min")
    if status.get("eta_s") is not None:
        parts.append(f"  ETA {status['eta_s'] / 60:.1f} min")
    return "".join(parts)
