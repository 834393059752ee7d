"""The perf harness's own figures from run folders: overhead, and repeatability of two runs.

    python -m nlpbench.perf.check RUN_DIR              # overhead of one run
    python -m nlpbench.perf.check RUN_A RUN_B          # ... and median |Δp50|/p50 over cells ok in both,
                                                    # cells off by > 15% and which of them neither run flagged noisy

Overhead = run wall time (run.json started_at..ended_at) minus the time spent
running model steps (the sum of perf records' `timed_s`: warm-up and timed
iterations), as a share of the run wall time. `cells` gives the same share
over the perf cells' own `wall_s` (model builds, memory/FLOP passes,
bookkeeping) without the run's start-up.
"""

from __future__ import annotations

import json
import statistics
import sys
from datetime import datetime
from pathlib import Path

from nlpbench.store.results import read_records

OFF = 0.15  # a cell whose p50 moves more than this between runs should have been flagged noisy


def _perf_ok(run_dir: Path) -> dict[str, dict]:
    return {r["cell"]: r for r in read_records(run_dir) if r.get("kind") == "perf" and r.get("status") == "ok"}


def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").timestamp()


def overhead(run_dir: Path) -> dict:
    cells = _perf_ok(run_dir)
    timed = sum(r.get("timed_s") or 0.0 for r in cells.values())
    cell_wall = sum(r.get("wall_s") or 0.0 for r in cells.values())
    meta = json.loads((Path(run_dir) / "run.json").read_text())
    out = {
        "cells": len(cells),
        "timed_s": timed,
        "cells_wall_s": cell_wall,
        "cells_overhead": 1 - timed / cell_wall if cell_wall else None,
    }
    if meta.get("ended_at"):
        wall = _seconds(meta["ended_at"]) - _seconds(meta["started_at"])
        out.update(run_wall_s=wall, run_overhead=1 - timed / wall if wall else None)
    return out


def repeatability(a: Path, b: Path) -> dict:
    """Median over cells ok in both runs of |Δp50|/p50 (p50 of the first run as the base)."""
    ra, rb = _perf_ok(a), _perf_ok(b)
    both = sorted(set(ra) & set(rb))
    deltas = [abs(rb[c]["latency_ms"]["p50"] - ra[c]["latency_ms"]["p50"]) / ra[c]["latency_ms"]["p50"] for c in both]
    if not deltas:
        return {"cells": 0}
    worst = max(zip(deltas, both))
    off = [c for d, c in zip(deltas, both) if d > OFF]
    return {
        "cells": len(both),
        "median_rel_delta_p50": statistics.median(deltas),
        "worst": {"cell": worst[1], "rel_delta": worst[0]},
        "off_by_more_than_15pct": len(off),
        "off_and_not_flagged_noisy": [c for c in off if not (ra[c].get("noisy") or rb[c].get("noisy"))],
    }


def main(argv: list[str] | None = None) -> int:
    runs = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not 1 <= len(runs) <= 2:
        print("usage: python -m nlpbench.perf.check RUN_DIR [RUN_DIR_2]", file=sys.stderr)
        return 2
    for run in runs:
        print(f"{run}: {json.dumps(overhead(run))}")
    if len(runs) == 2:
        print(f"repeatability: {json.dumps(repeatability(*runs))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
