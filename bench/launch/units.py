"""Training units as jobs (nlpbench.launch.jobs): inline, in a process pool (`--workers N`), or on Ray.

- `inline`: each unit in the driver, in the suite's order (seeds outermost).
- `process`: units side by side, each in a fresh interpreter with `threads` torch
  threads (default: cores / workers), its stdout and stderr in
  `RUN_DIR/logs/<task>-<model>[-seed<k>].log`; longest first
  (nlpbench.quality.units.plan), so a pool's wall time stays near its longest unit.
- `ray`: each unit a Ray task reserving `threads` CPUs (default 1) and, on CUDA,
  one GPU. A node that does not see the run folder sends the unit's files back
  with its records (nlpbench.launch.worker: `files_tar`), unpacked here.

Records are appended as each unit ends, so `--resume` after a crash or Ctrl-C
re-runs only units without records. A unit past `timeout_minutes` is stopped and
recorded `timeout`; a worker that dies ends as `error` records naming the signal
and its log's last lines. Progress: one line per running unit (stage, step,
epoch, validation score, ETA; nlpbench.store.unit_status), redrawn in place on a
terminal; elsewhere one line as each unit starts and ends.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from nlpbench.context import log
from nlpbench.launch.executors import get_executor
from nlpbench.launch.jobs import Job, execute
from nlpbench.launch.process import Processes, worker_count, worker_threads
from nlpbench.launch.ray import worker_pythonpath
from nlpbench.launch.worker import log_path, lost_unit, node_info, status_path, unit_spec, unpack, worker_imports
from nlpbench.quality.units import Unit, unit_records
from nlpbench.store import unit_status


def quality_launcher(suite) -> str:
    """Where training units run: the suite's `launcher`; `workers` > 1 alone means a process pool."""
    if suite.launcher == "inline" and (suite.workers or 1) > 1:
        return "process"
    return suite.launcher


def summary(unit: Unit, records: list[dict], wall_s: float) -> str:
    """`done quality/classification/lstm in 1.2 min: validation accuracy 0.9633, test accuracy 0.9700`."""
    parts = []
    for r in records:
        if r.get("status") != "ok":
            return f"{r['status']} {unit.label} after {wall_s / 60:.1f} min: {r.get('error')}"
        name = next((k for k in (r.get("metrics") or {}) if not k.endswith(("_ci95", "_signature"))), None)
        if name:
            parts.append(f"{r['split']} {name} {r['metrics'][name]:.4f}")
    return f"done {unit.label} in {wall_s / 60:.1f} min: {', '.join(parts)}"


def run_here(ctx, data, unit: Unit) -> list[dict]:
    """The unit in the driver (the inline executor), with its start and failure lines."""
    task, td = ctx.suite.tasks[unit.task_index], data[unit.task_index]
    model = task.models[unit.model_index]
    at_seed = "" if unit.seed_tag is None else f", seed {unit.seed}"
    log(f"[{task.label}] training {model.label} ({model.adapter}) on {td.dataset}{at_seed}")
    records, bad = unit_records(ctx.with_seed(unit.seed), unit, data)
    if bad:
        log(f"[{task.label}] {model.label} failed: {records[0]['error']}")
    return records


def accept(ctx, out: dict) -> list[dict]:
    """A child's answer: its files unpacked into the run folder when it could not write there itself."""
    if out.get("files_tar"):
        unpack(out["files_tar"], ctx.run_dir)
    return out["records"]


def unit_job(ctx, data, unit: Unit, launcher: str, threads: int) -> Job:
    if launcher == "inline":  # runs here: no spec for another interpreter to build (it serializes the suite)
        return Job(key=unit.label, cells=unit.ids, run=partial(run_here, ctx, data, unit), lost=lambda *a: [],
                   required=ctx.suite.tasks[unit.task_index].models[unit.model_index].required)  # fmt: skip
    spec = unit_spec(ctx.suite, unit, ctx.run_dir, ctx.data_dir, threads, launcher, worker_imports(ctx.suite, unit))
    status = status_path(ctx.run_dir, unit)
    minutes = ctx.suite.timeout_minutes

    def lost(status_: str, why: str, started: str, wall_s: float) -> list[dict]:
        return lost_unit(ctx, data, unit, status_, why, started, wall_s, launcher, node_info(ctx.device))

    env = {unit_status.ENV: str(status), "PYTHONPATH": worker_pythonpath(spec["imports"])}
    return Job(key=unit.label, cells=unit.ids, run=partial(run_here, ctx, data, unit), lost=lost,
               child={"entry": "nlpbench.launch.worker:run_unit", "spec": spec, "imports": spec["imports"]},
               accept=partial(accept, ctx), timeout_s=60 * minutes if minutes else None,
               timeout_why=f"stopped after {minutes:g} min (timeout_minutes)" if minutes else "",
               log=log_path(ctx.run_dir, unit), env=env, threads=threads,
               gpus=1 if launcher == "ray" and ctx.device.type == "cuda" else 0,
               status=lambda s: unit_status.line(unit.label, unit_status.read(status), s),
               required=ctx.suite.tasks[unit.task_index].models[unit.model_index].required)  # fmt: skip


def run_quality(ctx, data) -> list[str]:
    """The quality stage: the missing training units (once per seed when the suite lists `seeds`) where the
    suite's `launcher` says; returns the labels of required models that failed."""
    from nlpbench.quality.units import plan

    return run_units(ctx, data, plan(ctx.suite, data, ctx.store.done()))


def run_units(ctx, data, units: list[Unit]) -> list[str]:
    """Runs `units` where the suite's `launcher` says; appends their records; returns failed required models."""
    launcher = quality_launcher(ctx.suite) if units else "inline"
    failed: list[str] = []
    executor, threads = executor_for(ctx, launcher, len(units))
    if launcher == "inline":  # the suite's order, seeds outermost
        units = sorted(units, key=lambda u: (u.seed if ctx.suite.seeds else 0, u.task_index, u.model_index))
    else:
        (ctx.run_dir / "logs").mkdir(exist_ok=True)
        for u in units:
            status_path(ctx.run_dir, u).unlink(missing_ok=True)

    def on_records(job: Job, records: list[dict]) -> None:
        unit = next(u for u in units if u.label == job.key)
        for rec in records:
            ctx.store.append(rec)
        if launcher != "inline":
            say(summary(unit, records, records[0].get("wall_s") or 0.0) if records else f"done {unit.label}")
        if job.required and any(r.get("status") != "ok" for r in records):
            failed.append(ctx.suite.tasks[unit.task_index].models[unit.model_index].label)

    say = executor.board.say if isinstance(executor, Processes) else log
    jobs = [unit_job(ctx, data, u, launcher, threads) for u in units]
    execute(jobs, executor, on_records, launcher=launcher)
    return list(dict.fromkeys(failed))


def executor_for(ctx, launcher: str, n_units: int):
    """(the executor, torch threads per unit) for a quality launcher."""
    if launcher == "process":
        workers = worker_count(ctx.suite)
        threads = worker_threads(ctx.suite, workers)
        log(f"training {n_units} unit(s) on {workers} worker process(es), {threads} torch thread(s) each; "
            f"logs in {Path(ctx.run_dir) / 'logs'}")  # fmt: skip
        return Processes(workers, live=ctx.progress, announce=True, what="unit process"), threads
    if launcher == "ray":
        threads = ctx.suite.threads or 1
        log(f"training {n_units} unit(s) as Ray tasks, {threads} CPU(s) each; logs in {Path(ctx.run_dir) / 'logs'}")
        return get_executor("ray", address=ctx.suite.ray_address), threads
    return get_executor("inline"), ctx.suite.threads or 0
