"""One LoadGen test of a served model, and the bounded capacity search of the Server scenario.

Every test runs in LoadGen's PerformanceOnly mode; the responses are kept by the
SUT and scored afterwards, so accuracy is that of the answers produced under load.
LoadGen writes its summary and detail logs into the test's own folder.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nlpbench.serve import loadgen_log
from nlpbench.serve.batcher import Fault
from nlpbench.serve.sut import ServedModel


@dataclass
class Knobs:
    """What a test needs from the suite's `serve:` section (see nlpbench.suite.schema.ServeSpec)."""

    max_batch: int = 32
    max_wait_ms: float = 2.0
    min_duration_ms: int = 2000
    min_query_count: int = 100
    target_p99_ms: float = 50.0
    dtype: str = "fp32"
    grace_s: float = 1.0
    fault: Fault = field(default_factory=Fault)


@dataclass
class TestResult:
    scenario: str
    log_dir: Path
    summary: dict
    answers: list  # (sample index, prediction or sut.DROPPED)
    dropped: int
    duplicates: int
    batch_sizes: dict
    padding_fraction: float | None
    errors: list[str]  # batcher exceptions and LoadGen's detail-log errors
    wall_s: float
    offered_qps: float | None = None
    earlier: list = field(default_factory=list)  # briefs of shorter tests at the same QPS (early stopping)

    @property
    def verdict(self) -> str | None:
        return loadgen_log.verdict(self.summary)

    def brief(self) -> dict:
        """One point of a search: what was offered, what LoadGen measured and judged."""
        lat = loadgen_log.latencies_ms(self.summary)
        return {"offered_qps": self.offered_qps, "completed_qps": loadgen_log.throughput(self.summary),
                "p50_ms": lat.get("p50"), "p99_ms": lat.get("p99"), "verdict": self.verdict,
                "dropped": self.dropped, "queries": len(self.answers), "log_dir": self.log_dir.name}


def settings(lg, scenario: str, knobs: Knobs, *, qps: float | None = None, expected_qps: float | None = None):
    s = lg.TestSettings()
    s.scenario = getattr(lg.TestScenario, scenario)
    s.mode = lg.TestMode.PerformanceOnly
    s.min_duration_ms = int(knobs.min_duration_ms)
    s.min_query_count = int(knobs.min_query_count)
    s.server_target_latency_ns = int(knobs.target_p99_ms * 1e6)
    s.server_target_latency_percentile = 0.99
    if qps is not None:
        s.server_target_qps = float(qps)
    if expected_qps is not None:
        s.offline_expected_qps = float(expected_qps)
        s.single_stream_expected_latency_ns = max(1, int(1e9 / expected_qps))
    return s


def run_test(lg, adapter, examples: list[dict], scenario: str, knobs: Knobs, log_dir: Path, *,
             qps: float | None = None, expected_qps: float | None = None) -> TestResult:
    """One LoadGen test; LoadGen's logs land in `log_dir`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out = lg.LogOutputSettings()
    out.outdir = str(log_dir)
    out.copy_summary_to_stdout = False
    log = lg.LogSettings()
    log.log_output = out
    log.enable_trace = False
    served = ServedModel(lg, adapter, examples, max_batch=knobs.max_batch, max_wait_ms=knobs.max_wait_ms,
                         dtype=knobs.dtype, fault=knobs.fault, grace_s=knobs.grace_s)
    t0 = time.perf_counter()
    with served:
        lg.StartTestWithLogSettings(served.sut, served.qsl, settings(lg, scenario, knobs, qps=qps, expected_qps=expected_qps), log)
    wall = time.perf_counter() - t0
    b = served.batcher
    return TestResult(
        scenario=scenario, log_dir=log_dir, summary=loadgen_log.parse_summary(log_dir / loadgen_log.SUMMARY),
        answers=served.answers, dropped=served.dropped, duplicates=served.duplicates,
        batch_sizes={int(k): v for k, v in sorted(b.batch_sizes.items())},
        padding_fraction=round(1 - b.real_tokens / b.padded_tokens, 4) if b.padded_tokens else None,
        errors=b.errors + loadgen_log.detail_errors(log_dir / loadgen_log.DETAIL),
        wall_s=round(wall, 3), offered_qps=qps,
    )  # fmt: skip


def server_test(lg, adapter, examples: list[dict], knobs: Knobs, folder: Path, qps: float,
                max_queries_factor: int = 4) -> TestResult:
    """A Server test at `qps`; when it fails only on early stopping (too few queries to be sure
    of the p99), it runs once more with as many queries as LoadGen asks for, up to
    `max_queries_factor` x min_query_count, as an MLPerf submitter would run longer."""
    first = run_test(lg, adapter, examples, "Server", knobs, folder / f"qps-{qps:g}", qps=qps)
    more = loadgen_log.more_queries_needed(first.log_dir / loadgen_log.SUMMARY)
    if first.verdict == "VALID" or loadgen_log.unmet(first.summary) != ["Early stopping"] or not more:
        return first
    queries = len(first.answers) + int(more * 1.1) + 1
    if queries > max_queries_factor * knobs.min_query_count:
        return first
    longer = replace(knobs, min_query_count=queries)
    second = run_test(lg, adapter, examples, "Server", longer, folder / f"qps-{qps:g}-longer", qps=qps)
    second.earlier = [first.brief()]
    return second


def _batches(examples: list[dict], max_batch: int, n_batches: int, sort: bool, seed: int = 0) -> list[list[dict]]:
    import random

    idx = list(range(len(examples)))
    random.Random(seed).shuffle(idx)  # drawn at random, as LoadGen draws its samples
    idx = idx[: max_batch * n_batches]
    if sort:
        idx.sort(key=lambda i: examples[i]["length"])
    return [[examples[i] for i in idx[k : k + max_batch]] for k in range(0, len(idx), max_batch)]


def padding_cost(adapter, examples: list[dict], max_batch: int, dtype: str = "fp32", *,
                 n_batches: int = 16, rounds: int = 3) -> dict:
    """Samples/s of full batches of randomly drawn examples against the same examples sorted by
    length first (the least padding); `slowdown` = sorted / random-order samples/s. The two
    alternate for `rounds` rounds and each keeps its median (the machine's load drifts)."""
    import torch

    from nlpbench.quality.train import autocast

    groups = {"random_order": _batches(examples, max_batch, n_batches, False),
              "length_sorted": _batches(examples, max_batch, n_batches, True)}
    adapter.model.eval()
    device = next(adapter.model.parameters()).device
    rates: dict[str, list[float]] = {k: [] for k in groups}
    with torch.inference_mode(), autocast(device, dtype):
        adapter.predict(adapter.collate(groups["random_order"][0]))  # warm-up
        for _ in range(rounds):
            for name, batches in groups.items():
                t0 = time.perf_counter()
                for g in batches:
                    adapter.predict(adapter.collate(g))
                rates[name].append(sum(map(len, batches)) / max(time.perf_counter() - t0, 1e-9))
    out = {}
    for name, batches in groups.items():
        real = sum(e["length"] for g in batches for e in g)
        padded = sum(max(e["length"] for e in g) * len(g) for g in batches)
        out[name] = {"samples_per_s": round(float(np.median(rates[name])), 2), "padding_fraction": round(1 - real / padded, 4)}
    out["slowdown"] = round(out["length_sorted"]["samples_per_s"] / out["random_order"]["samples_per_s"], 3)
    return out


def capacity_search(run, lo: float, hi: float, steps: int, rel_tol: float = 0.05) -> tuple[float | None, list]:
    """Highest offered QPS in [lo, hi] that LoadGen judges VALID (and nothing dropped), by bisection.

    `run(qps) -> TestResult`. Bounded: at most `steps` tests. The first is at `hi`;
    then the bracket [lo, hi] is halved geometrically (the bounds may be decades
    apart) until it is within `rel_tol` or the steps are spent; `lo` itself is
    tested only when nothing above it passed. Returns (capacity, or None when even
    `lo` is INVALID or untested; every test run, in order)."""
    tests = []

    def ok(qps: float) -> bool:
        tests.append(run(qps))
        return tests[-1].verdict == "VALID" and tests[-1].dropped == 0

    if ok(hi):
        return hi, tests
    good, bad, confirmed = lo, hi, False
    while len(tests) < steps - 1 and (bad - good) / bad > rel_tol:
        mid = round(math.sqrt(good * bad), 3)
        if ok(mid):
            good, confirmed = mid, True
        else:
            bad = mid
    if not confirmed:
        confirmed = len(tests) < steps and ok(lo)
    return (good if confirmed else None), tests
