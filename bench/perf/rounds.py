"""Interleaved rounds: every cell is timed in `rounds` short rounds spread over the sweep, samples pooled.

A shared or thermally drifting machine changes speed over minutes: a cell timed
once, in one stretch, takes whatever speed the machine had then, and two
back-to-back runs disagree by more than any cell's own spread (Why 7 of issue
11: 6% median, up to 40%, with 2 of 69 cells flagged). So the sweep runs round
1 of every cell, then round 2 of every cell, and so on; each round times
`min_iters / rounds` iterations for `min_seconds / rounds` (never below
`ROUND_MIN_SECONDS`, so sub-millisecond cells still get thousands of samples
per round). A cell's record pools every round's samples (p50 of all), keeps
each round's median (`round_p50_ms`) and is `noisy` also when those medians
spread by more than 10% (`round_spread`): the speed moved while it was measured.

Memory and FLOPs come from the first round (they do not depend on speed).
Compiled cells run in one round: every round would compile again.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

from nlpbench.perf.timing import timing_fields
from nlpbench.perf.trackers import NOISY_IQR_OVER_MEDIAN, Latency

ROUND_MIN_SECONDS = 0.1


def cell_rounds(spec, rounds: int) -> int:
    """Rounds for one cell: compiled cells run once (each round would compile again, for minutes)."""
    return 1 if spec.compile else rounds


def round_spec(spec, rounds: int):
    """The spec for one of `rounds` rounds of `spec` (raw samples kept for pooling)."""
    if rounds <= 1:
        return spec
    return dataclasses.replace(
        spec, min_iters=math.ceil(spec.min_iters / rounds), keep_samples=True,
        min_seconds=max(spec.min_seconds / rounds, ROUND_MIN_SECONDS if spec.min_seconds > 0 else 0.0),
    )  # fmt: skip


def merge(recs: list[dict]) -> dict:
    """One record from the rounds of a cell (all status ok): pooled latency, per-round medians, summed times."""
    first = recs[0]
    rounds_ms = [r.pop("_samples_ms") for r in recs]
    firsts = [r.pop("_first_samples_ms", None) for r in recs]
    lat = Latency.from_samples([x for xs in rounds_ms for x in xs])
    one = Latency.from_samples([x for xs in firsts for x in xs]) if firsts[0] is not None else None
    rec = dict(first)
    rec.update(timing_fields(first["batch_size"], first["tokens_per_sample"], lat, one,
                             first.get("max_new_tokens", 2), first.get("flops"), first.get("peak_gflops")))  # fmt: skip
    medians = [statistics.median(xs) for xs in rounds_ms]
    spread = max(medians) / min(medians) - 1 if min(medians) > 0 else math.inf
    rec.update(
        rounds=len(recs),
        round_p50_ms=medians,
        round_spread=spread,
        noisy=rec["noisy"] or spread > NOISY_IQR_OVER_MEDIAN,
        timed_s=sum(r.get("timed_s") or 0.0 for r in recs),
        wall_s=sum(r.get("wall_s") or 0.0 for r in recs),
    )
    return rec
