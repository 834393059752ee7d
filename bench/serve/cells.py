"""Serve cells: each trained model of the suite's `serve:` section under each LoadGen scenario.

Cell ids are `serve/<task>/<model>/<scenario>`; records have kind `serve` and are
appended to records.jsonl like every other cell. A record holds LoadGen's verdict,
QPS and latency percentiles, the batch-size histogram, the request lengths, and
the quality of the answers produced under load (the task's metrics) beside their
agreement with the batch evaluation's answers for the same samples. Dropped,
duplicated or reordered answers make the record an `error`, never a clean result.
LoadGen's own logs stay in RUN_DIR/serve/<model>/<scenario>/.
"""
from __future__ import annotations

import dataclasses
import time
from functools import partial

import numpy as np

from nlpbench.adapter import checkpoint_fields, hook
from nlpbench.context import log
from nlpbench.quality.score import eval_splits, references, score
from nlpbench.quality.train import predict_all
from nlpbench.quality.trained import trained_adapter
from nlpbench.serve import loadgen_log, require_loadgen
from nlpbench.serve.scenarios import Knobs, TestResult, capacity_search, padding_cost, run_test, server_test
from nlpbench.serve.sut import DROPPED
from nlpbench.store.records import failed_record, record, utc_now
from nlpbench.tasks import get_task

ORDER = ("SingleStream", "Offline", "Server")  # Offline first measures the ceiling the Server search starts from


def cell_id(task_label: str, model_label: str, scenario: str) -> str:
    return f"serve/{task_label}/{model_label}/{scenario}"


def run_serve(ctx, data) -> list[str]:
    """The serve stage: the missing serve cells, one job per model through the inline executor; returns
    labels of required models whose serve cells failed."""
    from nlpbench.launch.jobs import execute, inline

    require_loadgen()
    failed: list[str] = []

    def on_records(job, records: list[dict]) -> None:
        for rec in records:
            ctx.store.append(rec)
            if rec["status"] != "ok" and job.required:
                failed.append(f"{rec['name']} ({rec['scenario']})")

    execute(serve_jobs(ctx, data), inline, on_records, done=ctx.store.done())
    return failed


def serve_jobs(ctx, data) -> list:
    """One job per served model (nlpbench.launch.jobs), run inline: it needs the trained model in memory."""
    from nlpbench.launch.jobs import Job

    spec = ctx.suite.serve
    scenarios = [s for s in ORDER if s in spec.scenarios]
    jobs = []
    for task, td in zip(ctx.suite.tasks, data):
        for model in task.models:
            if spec.models and model.label not in spec.models:
                continue
            ids = tuple(cell_id(task.label, model.label, s) for s in scenarios)
            split = spec.split if spec.split in td.splits else eval_splits(task, td)[0]
            base = ctx.common(task.task, td.dataset, model, split, "serve")

            def lost(status, why, started, wall_s, base=base, model=model, task=task, scenarios=scenarios):
                return [failed_record(**{**base, "cell": cell_id(task.label, model.label, s), "scenario": s,
                                         "status": status, "error": why, "started_at": started, "wall_s": wall_s})
                        for s in scenarios]  # fmt: skip

            run = partial(serve_cells, ctx, task, model, td, split, base, scenarios)
            jobs.append(Job(key=f"serve/{task.label}/{model.label}", cells=ids, run=run, lost=lost,
                            required=model.required))
    return jobs


def serve_cells(ctx, task, model, td, split: str, base: dict, scenarios: list[str]) -> list[dict]:
    """The records of one model's missing serve cells (`skipped` ones when it has no trained model)."""
    done = ctx.store.done()
    todo = [s for s in scenarios if cell_id(task.label, model.label, s) not in done]
    base = {**base, "started_at": utc_now()}
    adapter = trained_adapter(ctx, task, model, td)  # in memory, or rebuilt from its checkpoint (--resume)
    if adapter is None:
        why = "no trained model to serve (its training failed or left no checkpoint)"
        return [failed_record(**{**base, "cell": cell_id(task.label, model.label, s), "scenario": s,
                                 "status": "skipped", "error": why, "wall_s": 0.0}) for s in todo]  # fmt: skip
    log(f"[{task.label}] serving {model.label} under LoadGen: {', '.join(todo)}")
    out = []
    for rec in serve_model(require_loadgen(), ctx, task, model, td, split, adapter, todo):
        fields = {**base, **rec}
        out.append(record(**fields) if fields.get("status", "ok") == "ok" else failed_record(**fields))
    return out


def knobs_for(spec, model_label: str, dtype: str) -> Knobs:
    return Knobs(max_batch=spec.max_batch, max_wait_ms=spec.max_wait_ms, min_duration_ms=spec.min_duration_ms,
                 min_query_count=spec.min_query_count, target_p99_ms=spec.targets.get(model_label, spec.target_p99_ms),
                 dtype=dtype)


def serve_model(lg, ctx, task, model, td, split: str, adapter, scenarios: list[str], knobs: Knobs | None = None) -> list[dict]:
    """One record per scenario for one trained adapter (common keys added by the caller)."""
    spec = ctx.suite.serve
    knobs = knobs or knobs_for(spec, model.label, ctx.dtype)
    ds = td.splits[split]
    examples = adapter.encode(ds)
    refs = references(task.task, ds)
    names = task.metrics or list(get_task(task.task).default_metrics)
    primary = task.select_metric or get_task(task.task).select_metric
    eval_preds = predict_all(adapter, examples, knobs.max_batch, ctx.dtype)  # the batch evaluation's answers
    padding = padding_cost(adapter, examples, knobs.max_batch, ctx.dtype)
    ceiling = padding["random_order"]["samples_per_s"]  # until Offline has measured it under LoadGen
    params = dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg := hook(adapter, "cfg")) else model.params
    shared = {"params": params, "serve": dataclasses.asdict(knobs),
              "target_p99_ms": knobs.target_p99_ms, "query_lengths": length_stats(examples), "padding_cost": padding,
              "eval_quality": score(task.task, names, eval_preds, refs, ctx.seed).get(primary),
              **checkpoint_fields(adapter)}  # fmt: skip
    folder = ctx.run_dir / "serve" / model.label
    out, single_qps = [], None
    for scenario in scenarios:
        t0 = time.perf_counter()
        if scenario == "Server":
            hi = spec.qps_max or ceiling
            lo = min(spec.qps_min or (single_qps or 2.0) / 2, hi)
            capacity, tests = capacity_search(
                lambda q: server_test(lg, adapter, examples, knobs, folder / "Server", q), lo, hi, spec.search_steps)
            at = next((t for t in reversed(tests) if t.offered_qps == capacity), tests[-1])
            search = [b for t in tests for b in (*t.earlier, t.brief())]
            extra = {"qps": capacity, "search": search, "search_bounds": [lo, hi],
                     "max_wait_ms": knobs.max_wait_ms}
        else:
            # One request at a time: nothing to wait for, so SingleStream's batcher does not wait.
            k = dataclasses.replace(knobs, max_wait_ms=0.0) if scenario == "SingleStream" else knobs
            at = run_test(lg, adapter, examples, scenario, k, folder / scenario, expected_qps=1.25 * ceiling)
            extra = {"qps": loadgen_log.throughput(at.summary), "max_wait_ms": k.max_wait_ms}
            if scenario == "Offline":
                ceiling = extra["qps"] or ceiling
            else:
                single_qps = extra["qps"]
        rec = {"cell": cell_id(task.label, model.label, scenario), "scenario": scenario, **shared, **extra,
               **describe(at, task.task, names, primary, refs, eval_preds, ctx, spec.min_agreement)}
        rec["wall_s"] = round(time.perf_counter() - t0, 3)
        out.append(rec)
    return out


def describe(test: TestResult, task: str, names: list[str], primary: str, refs: list, eval_preds: list,
             ctx, min_agreement: float) -> dict:
    """What one LoadGen test measured, the answers' quality, and whether the run is clean."""
    sentinel = get_task(task).no_answer
    preds = [sentinel if p is DROPPED or p is None else p for _, p in test.answers]
    gold = [refs[i] for i, _ in test.answers]
    metrics = score(task, names, preds, gold, ctx.seed) if preds else {}
    agree = float(np.mean([p == eval_preds[i] for (i, _), p in zip(test.answers, preds)])) if preds else None
    problems = list(test.errors)
    if test.dropped:
        problems.append(f"{test.dropped} answer(s) dropped by the SUT (LoadGen got empty responses from the watchdog)")
    if test.duplicates:
        problems.append(f"{test.duplicates} answer(s) for queries already answered")
    if agree is not None and agree < min_agreement:
        problems.append(f"answers under load match the batch evaluation's on {agree:.1%} of samples "
                        f"(< serve.min_agreement {min_agreement:.0%}): answers lost, reordered or batch-dependent")
    return {
        "verdict": test.verdict, "unmet": loadgen_log.unmet(test.summary),
        "latency_ms": loadgen_log.latencies_ms(test.summary), "metrics": metrics, "quality": metrics.get(primary),
        "quality_metric": primary, "agreement": agree, "n_answers": len(test.answers), "dropped": test.dropped,
        "duplicates": test.duplicates, "batch_sizes": test.batch_sizes, "padding_fraction": test.padding_fraction,
        "loadgen_log_dir": str(test.log_dir.relative_to(ctx.run_dir)) if test.log_dir.is_relative_to(ctx.run_dir) else str(test.log_dir),
        "status": "error" if problems else "ok", **({"error": "; ".join(problems)} if problems else {}),
    }  # fmt: skip


def length_stats(examples: list[dict]) -> dict:
    lengths = np.asarray([e["length"] for e in examples])
    return {"n": int(lengths.size), "mean": round(float(lengths.mean()), 2), "p50": float(np.percentile(lengths, 50)),
            "p90": float(np.percentile(lengths, 90)), "p99": float(np.percentile(lengths, 99)), "max": int(lengths.max()),
            "histogram": dict(zip(*(a.tolist() for a in np.unique(lengths, return_counts=True))))}
