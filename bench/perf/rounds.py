"""Interleaved rounds: every cell is timed in `rounds` short rounds spread over the sweep, samples pooled.

A shared or thermally drifting machine changes speed over minutes: a cell timed
once, in one stretch, takes whatever speed the machine had then, and two
back-to-back runs disagree by more than any cell's own spread (Why 7 of issue
11: 6% median, up to 40%, with 2 of 69 cells flagged). So the sweep runs round
1 of every cell, then round 2 of every cell, and so on; each round times
`min_iters / rounds` iterations for `min_seconds / rounds` (never below
`ROUND_MIN_SECONDS`, so sub-millisecond cells still get thousands of samples
per round). A cell's record pools every round's samples (p50 of all, and all of
them in `latency_samples_ms`, the gate's bootstrap input), keeps each round's
median (`round_p50_ms`) and their spread (`round_spread`: how far the speed
moved while it was measured; information, not a flag — `noisy` is the pooled
median's own rule, nlpbench.perf.trackers.Latency.noisy).

Set-up is paid once per cell, not per round (issue 21: rounds had made a 3 × 3
grid 1.6 times slower): `WarmCell` builds the model, warms it and runs the
memory and FLOP passes once, then stays alive for its later rounds, which run
the timed loop only, after one untimed step when the cell is fast enough for
cold caches to matter (other cells ran meanwhile). The rounds' shares of
`min_iters` add up to it: rounds add no steps to a slow cell.
The inline sweep keeps the cells of one model warm together (at most
`MAX_WARM` at once, so memory stays bounded) and interleaves rounds among them.
Compiled cells run in one round: every round would compile again.

Adaptive sampling (issue 31, `perf.precision`): a cell stops after any round
from its `MIN_ROUNDS`-th on once its median is known to ±precision (the 95%
interval of the median, exact binomial ranks, within precision × p50 on both
sides; at least `MIN_SETTLE_SAMPLES` samples, below which no such interval
exists), instead of always running every round: a slow cell that is steady
stops early, which is where a grid's time goes. Otherwise it runs its rounds
(today's budget: `min_iters` and `min_seconds`, so a grid never costs more than
before) and, only when `perf.max_seconds` is set, more rounds until it is
precise or its timed seconds reach that cap (at most `MAX_ROUNDS`). The record
says how it stopped (`sampling`: precise | budget | cap).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time

from nlpbench.adapter import n_params
from nlpbench.errors import error_message, is_oom
from nlpbench.perf.cell import (PerfCellSpec, base_record, cell_record, cell_threads, open_cell, release, sync,
                              time_loops)  # fmt: skip
from nlpbench.perf.timing import timing_fields
from nlpbench.perf.trackers import Latency
from nlpbench.metrics.stats import compact
from nlpbench.store.records import utc_now

ROUND_MIN_SECONDS = 0.1
MAX_WARM = 12  # cells kept warm at once by the inline sweep (each holds its model and batch)
REWARM_BELOW_MS = 50.0  # later rounds of cells faster than this run one untimed step first
MIN_ROUNDS = 2  # an adaptive cell stops no earlier than this (a cell timed in one stretch takes its speed)
MIN_SETTLE_SAMPLES = 6  # fewer: even [min, max] covers the median with less than 95% (2 / 2**5 > 5%)
MAX_ROUNDS = 12  # with perf.max_seconds: rounds an imprecise cell may get in all


def cell_rounds(spec, rounds: int) -> int:
    """Rounds for one cell: compiled cells run once (each round would compile again, for minutes)."""
    return 1 if spec.compile else rounds


def round_iters(min_iters: int, rounds: int, r: int) -> int:
    """Round r's share of `min_iters`: the shares add up to it (10 in 3 rounds: 4, 3, 3), at least 1 each.
    Rounding each share up instead made a slow cell time 12 steps for 10 (issue 21: the sweep's own cost)."""
    return max(1, min_iters // rounds + (1 if r < min_iters % rounds else 0))


def round_spec(spec, rounds: int, r: int = 0):
    """The spec for round `r` of `rounds` rounds of `spec` (raw samples kept for pooling)."""
    if rounds <= 1:
        return spec
    return dataclasses.replace(
        spec, min_iters=round_iters(spec.min_iters, rounds, r), keep_samples=True,
        min_seconds=max(spec.min_seconds / rounds, ROUND_MIN_SECONDS if spec.min_seconds > 0 else 0.0),
    )  # fmt: skip


def half_width(samples_ms: list[float]) -> float:
    """The larger side of the median's 95% interval over the median (inf without samples or with p50 <= 0)."""
    if not samples_ms:
        return math.inf
    lat = Latency.from_samples(samples_ms)
    lo, hi = lat.median_ci95()
    return max(lat.p50 - lo, hi - lat.p50) / lat.p50 if lat.p50 > 0 else math.inf


def stop_reason(samples_ms: list[float], done: int, rounds: int, timed_s: float, precision: float | None,
                max_seconds: float | None) -> str | None:  # fmt: skip
    """Why a cell stops after `done` rounds, or None to time another: "precise" (its median known to
    ±`precision`), "budget" (its `rounds` rounds ran), "cap" (extended rounds reached `max_seconds`)."""
    if precision and done >= min(MIN_ROUNDS, rounds) and len(samples_ms) >= MIN_SETTLE_SAMPLES \
            and half_width(samples_ms) <= precision:  # fmt: skip
        return "precise"
    if done < rounds:
        return None
    if not (precision and max_seconds):
        return "budget"
    return "cap" if timed_s >= max_seconds or done >= MAX_ROUNDS else None


def sampling(samples_ms: list[float], done: int, reason: str, precision: float | None,
             max_seconds: float | None) -> dict:  # fmt: skip
    """The record's `sampling`: how the cell stopped, and how well its median is known."""
    hw = half_width(samples_ms)
    return {"stopped": reason, "rounds": done, "n": len(samples_ms), "precision": precision,
            "max_seconds": max_seconds, "ci95_half_width": hw if math.isfinite(hw) else None}  # fmt: skip


def merge(recs: list[dict]) -> dict:
    """One record from the rounds of a cell (all status ok): pooled latency, per-round medians, summed times.

    `recs[0]` is a whole record; later ones need only `_samples_ms` (`_first_samples_ms`), `timed_s`, `wall_s`."""
    first = recs[0]
    rounds_ms = [r.pop("_samples_ms") for r in recs]
    firsts = [r.pop("_first_samples_ms", None) for r in recs]
    pooled = [x for xs in rounds_ms for x in xs]
    lat = Latency.from_samples(pooled)
    one = Latency.from_samples([x for xs in firsts for x in xs]) if firsts[0] is not None else None
    rec = dict(first)
    probe = rec.pop("probe_gflops", None)  # round 1 beat the peak: judge the pooled rate against the probe again
    rec.update(timing_fields(first["batch_size"], first["tokens_per_sample"], lat, one,
                             first.get("max_new_tokens", 2), first.get("flops"), probe or first.get("peak_gflops"),
                             None if probe else first.get("peak_source")))  # fmt: skip
    medians = [statistics.median(xs) for xs in rounds_ms]
    rec.update(
        rounds=len(recs),
        round_p50_ms=medians,
        round_spread=max(medians) / min(medians) - 1 if min(medians) > 0 else math.inf,
        latency_samples_ms=compact(pooled),  # every round's samples, not round 1's
        timed_s=sum(r.get("timed_s") or 0.0 for r in recs),
        wall_s=sum(r.get("wall_s") or 0.0 for r in recs),
    )
    return rec


def failed_record(spec: PerfCellSpec, e: Exception, started: str, t0: float) -> dict:
    rec = base_record(spec, "oom" if is_oom(e) else "error", error_message(e))
    rec.update(started_at=started, wall_s=time.perf_counter() - t0)
    return rec


class WarmCell:
    """One cell built, warmed and measured for memory and FLOPs once, then timed round by round.

    `WarmCell.open(spec, rounds)` returns the cell, or the failure record when building it failed."""

    def __init__(self, spec: PerfCellSpec, rounds: int):
        self.spec = round_spec(spec, rounds)  # each round's share of min_iters and min_seconds, samples kept
        self.min_iters, self.rounds = spec.min_iters, rounds
        self.parts: list[dict] = []
        self.started, t0 = utc_now(), time.perf_counter()
        with cell_threads(self.spec):
            self.adapter, self.work, self.m = open_cell(self.spec)
        self.open_s = time.perf_counter() - t0

    @classmethod
    def open(cls, spec: PerfCellSpec, rounds: int):
        started, t0 = utc_now(), time.perf_counter()
        try:
            return cls(spec, rounds)
        except Exception as e:  # noqa: BLE001  (a failed cell must never end the sweep)
            release(spec)
            return failed_record(spec, e, started, t0)

    def time_round(self) -> dict | None:
        """Times one round; None, or the failure record (the cell is then closed)."""
        t0 = time.perf_counter()
        try:
            with cell_threads(self.spec):
                rewarm = self._rewarm() if self._cold() else 0.0
                iters = round_iters(self.min_iters, self.rounds, len(self.parts))
                loops = time_loops(self.spec, self.work, iters, self.spec.min_seconds)
        except Exception as e:  # noqa: BLE001
            self.close()
            return failed_record(self.spec, e, self.started, t0)
        wall = time.perf_counter() - t0
        if not self.parts:  # round 1 carries the whole record: memory, FLOPs, set-up time
            m = {**self.m, **loops, "timed_s": self.m["timed_s"] + loops["timed_s"]}
            rec = cell_record(self.spec, m, n_params(self.adapter.model))
            rec.update(compile_s=self.m["compile_s"], started_at=self.started, wall_s=self.open_s + wall)
            self.parts.append(rec)
        else:
            first = loops.get("first")
            self.parts.append({"_samples_ms": loops["latency"].samples_ms, "timed_s": rewarm + loops["timed_s"],
                               "_first_samples_ms": first.samples_ms if first else None, "wall_s": wall})  # fmt: skip
        return None

    def _cold(self) -> bool:
        """A later round of a fast cell: other cells ran since its last round and left its caches cold. A step
        of REWARM_BELOW_MS or more streams far more than the caches hold: one untimed step would only cost."""
        return bool(self.parts) and self.parts[0]["latency_ms"]["p50"] < REWARM_BELOW_MS

    def _rewarm(self) -> float:
        """One untimed step: other cells ran since this one's last round (cold caches, not a cold model)."""
        t0 = time.perf_counter()
        with self.work.context():
            self.work.step()
        sync(self.spec.device)
        return time.perf_counter() - t0

    def samples(self) -> list[float]:
        return [x for p in self.parts for x in p.get("_samples_ms") or ()]

    def timed_s(self) -> float:
        return sum(p.get("timed_s") or 0.0 for p in self.parts)

    def record(self) -> dict:
        """The cell's record from every round so far (closes the cell)."""
        rec = merge(self.parts) if len(self.parts) > 1 else {k: v for k, v in self.parts[0].items() if k[0] != "_"}
        self.close()
        return rec

    def close(self) -> None:
        self.adapter = self.work = None
        release(self.spec)


def warm_windows(specs: list[PerfCellSpec]) -> list[list[PerfCellSpec]]:
    """Consecutive cells of one model, at most `MAX_WARM` each: the cells kept warm together."""
    out: list[list[PerfCellSpec]] = []
    for spec in specs:
        last = out[-1] if out else None
        if last and len(last) < MAX_WARM and (last[0].task, last[0].name) == (spec.task, spec.name):
            last.append(spec)
        else:
            out.append([spec])
    return out
