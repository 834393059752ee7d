"""Noise that means something: how far the machine drifted over a run, and which cells were noisier than it.

On an idle 2-core VM every cell of the MiniLM grid was flagged `noisy` (issue
31): its rounds differed by 12-57% because the machine itself drifted by about
a fifth within 85 s. A flag on every cell tells nobody anything, so the two are
separated:

- the machine: `DriftProbe` times a fixed small matmul (`DRIFT_N`², fp32, the
  median of `DRIFT_REPS` calls) before the sweep and after every cell round.
  Its spread over the run (5th to 95th percentile over the median) is the
  run's one measured line (run.json `machine_drift`): "absolute figures here
  are good to ±N%; compare with `nlpbench ab`" (which alternates two revisions
  within milliseconds, so the drift cancels);
- a cell: `noisy` when the 95% interval of its median (exact binomial ranks,
  nlpbench.perf.trackers) spans more of it than both the fixed bar
  (`NOISY_CI_OVER_MEDIAN`, 10%) and the machine's own drift over the cell's
  lifetime (the ticks taken from its first round to its last; the run's ticks
  so far when fewer than `MIN_TICKS` fell inside). Every record says why in
  `noisy_reason` and carries the figures in `noise`.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from nlpbench.perf.trackers import NOISY_CI_OVER_MEDIAN, Latency

DRIFT_N = 384  # ~0.11 GFLOP: a few ms a call on 2 cores, so a tick costs ~20 ms
DRIFT_REPS = 5
MIN_TICKS = 3


def spread(values: list[float]) -> float | None:
    """(95th - 5th percentile) / median of the ticks: how far the machine's speed moved; None with too few."""
    if len(values) < MIN_TICKS:
        return None
    lo, mid, hi = np.quantile(np.asarray(values, float), [0.05, 0.5, 0.95])
    return float((hi - lo) / mid) if mid > 0 else None


class DriftProbe:
    """A fixed kernel timed between cells; `tick()` after each cell round, `summary()` for run.json."""

    def __init__(self, device: str = "cpu", n: int = DRIFT_N, reps: int = DRIFT_REPS, kernel=None,
                 clock=time.perf_counter):  # fmt: skip
        self.device, self.n, self.reps, self.clock = torch.device(device).type, n, reps, clock
        self.kernel = kernel or self._matmul(n)
        self.t0 = clock()
        self.ticks: list[tuple[float, float]] = []  # (seconds since the probe began, median ms of the kernel)
        self.started: dict[str, int] = {}  # cell -> index of the last tick before its first round

    def _matmul(self, n: int):
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=gen).to(self.device)
        b, out = a.clone(), torch.empty_like(a)

        def run():
            torch.mm(a, b, out=out)
            if self.device == "cuda":
                torch.cuda.synchronize()

        run()  # first call: thread pool, allocations
        return run

    def tick(self) -> float:
        times = []
        for _ in range(self.reps):
            t = self.clock()
            self.kernel()
            times.append((self.clock() - t) * 1e3)
        ms = statistics.median(times)
        self.ticks.append((self.clock() - self.t0, ms))
        return ms

    def after_job(self, cells) -> None:
        """A job (a cell round) ended: tick, and remember where each of its cells began (the tick before)."""
        for cell in cells:
            self.started.setdefault(cell, max(0, len(self.ticks) - 1))
        self.tick()

    def drift_for(self, cell: str) -> tuple[float | None, int]:
        """(the machine's drift over the cell's lifetime, ticks it is from); the run's so far when too few."""
        mine = [ms for _, ms in self.ticks[self.started.get(cell, 0):]]
        if len(mine) < MIN_TICKS:
            mine = [ms for _, ms in self.ticks]
        return spread(mine), len(mine)

    def summary(self) -> dict:
        ms = [m for _, m in self.ticks]
        d = spread(ms)
        out = {"kernel": f"{self.n}x{self.n} fp32 matmul, median of {self.reps} calls", "device": self.device,
               "ticks": len(ms), "seconds": self.ticks[-1][0] if self.ticks else 0.0, "tick_ms": ms,
               "p50_ms": statistics.median(ms) if ms else None, "drift": d,
               "plus_minus": d / 2 if d is not None else None}  # fmt: skip
        return {**out, "line": drift_line(out)}


def drift_line(s: dict) -> str:
    if s["drift"] is None:
        return f"machine drift: not measured ({s['ticks']} probe ticks; {MIN_TICKS} needed)"
    return (f"machine drift: a fixed {s['kernel'].split(',')[0]} timed {s['ticks']} times over {s['seconds']:.0f} s "
            f"ranged {s['drift']:.0%} (5th-95th percentile): absolute figures here are good to "
            f"±{s['plus_minus']:.0%}; compare with `nlpbench ab`")  # fmt: skip


def ci_over_p50(lat: Latency) -> float:
    lo, hi = lat.median_ci95()
    return (hi - lo) / lat.p50 if lat.p50 > 0 else float("inf")


def noise_fields(lat: Latency, first: Latency | None = None, inconsistent: bool = False,
                 drift: float | None = None) -> dict:  # fmt: skip
    """{"noisy", "noisy_reason", "noise"} for a cell's latency (and generate's one-token loop)."""
    lo, hi = lat.median_ci95()
    width = max(ci_over_p50(lat), ci_over_p50(first) if first is not None else 0.0)
    noise = {"p50_ci95_ms": [lo, hi], "ci_over_p50": width, "bar": NOISY_CI_OVER_MEDIAN, "inconsistent": inconsistent}
    return flag(noise, drift)


def flag(noise: dict, drift: float | None, ticks: int | None = None) -> dict:
    """The flag and its reason from the cell's interval width against max(the fixed bar, the machine's drift)."""
    width = noise["ci_over_p50"]
    bar = max(NOISY_CI_OVER_MEDIAN, drift or 0.0)
    noise = {**noise, "machine_drift": drift, "machine_ticks": ticks, "bar": bar}
    machine = f"the machine's own drift over it ({drift:.0%})" if drift is not None else "no machine drift measured"
    if noise.get("inconsistent"):
        why = "its 1-token loop was not faster than its N-token loop: the machine changed speed between them"
    elif width > bar:
        why = (f"its median's 95% interval spans {width:.0%} of it: wider than the {NOISY_CI_OVER_MEDIAN:.0%} bar "
               f"and {machine}")  # fmt: skip
    else:
        why = None
        within = (f"the machine's drift over it ({drift:.0%})" if drift is not None and drift > NOISY_CI_OVER_MEDIAN
                  else f"the {NOISY_CI_OVER_MEDIAN:.0%} bar")  # fmt: skip
        noise["why_not"] = f"its median's 95% interval spans {width:.0%} of it, within {within}"
    return {"noisy": why is not None, "noisy_reason": why, "noise": noise}


def rejudge(rec: dict, probe: DriftProbe | None) -> dict:
    """A finished cell's record judged against the machine's drift over its lifetime (no change without one)."""
    if probe is None or rec.get("status") != "ok" or not isinstance(rec.get("noise"), dict):
        return rec
    drift, ticks = probe.drift_for(rec["cell"])
    return {**rec, **flag(rec["noise"], drift, ticks)}
