"""`nlpbench run`: expand a suite into cells, run the missing ones, keep every finished one.

Order: validate the suite and load every task's data first (so bad input
fails before anything is measured), then the stages of nlpbench.suite.stages, each as
jobs through one executor family (nlpbench.launch): training units (inline, a
process pool or Ray tasks, by the suite's `launcher`), deployment variants,
serve cells (the trained models under MLPerf LoadGen), the perf sweep; then the
report and the tracker sinks. Each finished cell is appended to
`records.jsonl` at once; `--resume RUN_DIR` skips cells already there;
Ctrl-C, SIGTERM and SIGHUP keep what finished and exit 130 (nlpbench.launch.lifecycle).
One run writes a folder at a time (`RUN_DIR/.lock`, nlpbench.store.lock). A failure
after the folder is opened (bad input found late, a full or read-only disk) ends in
one line and exit 2, with run.json `failed` and its reason, or, for a resume that
recorded nothing, run.json as it was.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import torch

from nlpbench import env
from nlpbench.context import Context, log, run_log
from nlpbench.data import TaskData, load_all_data
from nlpbench.data.identity import data_identity
from nlpbench.errors import BadInput, error_message
from nlpbench.launch.lifecycle import interrupt_on_signals, interrupted_by
from nlpbench.report.write import report_and_summary
from nlpbench.store.disk import disk_error, is_disk_error, sweep_tmp
from nlpbench.store.lock import RunLock
from nlpbench.store.outcome import failure_lines, measured_nothing
from nlpbench.store.results import RecordStore, read_records
from nlpbench.store.run_json import Attempt, finish_run_json, open_run, write_run_json
from nlpbench.suite.stages import STAGES

__all__ = ["run", "run_suite"]


def run(suite_arg: str, overrides: list[str] = (), **kw) -> int:
    """`nlpbench run`: the exit code (0 ok, 1 a required model failed or no cell finished ok, 130 interrupted);
    see `run_suite`."""
    return run_suite(suite_arg, overrides, **kw)[1]


def run_suite(
    suite_arg: str | dict,
    overrides: list[str] = (),
    *,
    out: Path | None = None,
    resume: Path | None = None,
    data_dir: str | None = None,
    progress: bool = True,
    argv: list[str] = (),
    tasks: list[str] | None = None,
    models: list[str] | None = None,
    force: bool = False,
    allow_large: bool = False,
) -> tuple[Path, int]:
    """Runs a suite (a shipped name, a path, or the API's raw mapping); (the run folder, the exit code). Bad
    input raises BadInput before anything is written. `force`: a resume on other data or code goes ahead
    (nlpbench.store.resume)."""
    from nlpbench.suite.selection import load_selected, selection

    if force and resume is None:
        raise BadInput("--force: only with --resume RUN_DIR (it lets a resume go on over other data or code)")
    with interrupt_on_signals():  # SIGTERM, SIGHUP: as Ctrl-C
        full, suite = load_selected(suite_arg, overrides, data_dir, tasks, models)  # run.json, --resume: the whole suite
        data = load_all_data(suite, data_dir)
        if suite.perf is not None:
            from nlpbench.perf.plan import check_perf

            check_perf(suite, data)  # cells that can't be measured as labelled: exit 2 before training
        plan, plan_lines = stated_plan(suite, data, allow_large)  # what will run, how long; an absurd one stops
        device = env.resolve_device(suite.device)
        if suite.threads:
            torch.set_num_threads(suite.threads)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise BadInput("device: 'cuda' asked for but no CUDA device is available; allowed here: auto, cpu")
        run_dir, forced = open_run(full, out, resume, data_identity(suite.tasks, data) if resume else None, force)
        with RunLock(run_dir), swept(run_dir):  # a second run or resume of this folder is refused, naming this pid
            for line in plan_lines:  # stated once the folder is ours: a refused resume prints only its refusal
                log(line, logging.WARNING if line.startswith("warning:") else logging.INFO)
            ctx = Context(suite, run_dir, device, suite.dtype, suite.seed, progress, RecordStore(run_dir), data_dir=data_dir)
            meta = {"config": full.model_dump(mode="json"), "selection": selection(tasks, models), "plan": plan}
            return run_dir, run_attempt(ctx, data, suite_arg, list(argv), meta, forced)


def resume_hint(suite_arg: str | dict, run_dir: Path) -> str:
    """How to finish this run: the command, or for a suite built in code (the API) the call."""
    if isinstance(suite_arg, dict):
        return f"nlpbench.run(suite, resume='{run_dir}') with the same suite"
    return f"nlpbench run {suite_arg} --resume {run_dir}"


def stated_plan(suite, data, allow_large: bool) -> tuple[dict, list[str]]:
    """The plan and its time estimate (nlpbench.suite.plan) as run.json keeps it (to set the estimate beside
    the time it took) and the lines that state it; refuses an absurd one unless allowed."""
    from nlpbench.suite.plan import check_size, make_plan

    plan = make_plan(suite, data)
    check_size(plan, allow_large)
    return {"units": plan.units, "perf_cells": plan.perf_cells, "variant_cells": plan.variant_cells,
            "serve_cells": plan.serve_cells, "trials": plan.trials, "estimate_s": round(plan.total_s, 1)}, plan.lines()


def run_attempt(ctx: Context, data: list[TaskData], suite_arg: str | dict, argv: list[str], meta: dict,
                forced=()) -> int:
    """run.json written, the cells run; a failure ends as one line (BadInput) with run.json `failed` and the
    reason, or, for a resume that recorded nothing, as it was."""
    attempt = Attempt(ctx.run_dir)
    try:
        write_run_json(ctx, argv, meta, data, forced)
        with run_log(ctx.run_dir):  # RUN_DIR/run.log (nlpbench.context)
            log(f"argv: {' '.join(map(str, argv))}", logging.DEBUG)
            return run_cells(ctx, data, suite_arg)
    except BadInput as e:
        attempt.failed(ctx, error_message(e))
        raise
    except OSError as e:
        if not is_disk_error(e):
            raise
        attempt.failed(ctx, error_message(e))
        raise disk_error(e) from None


@contextmanager
def swept(run_dir: Path):
    """No `.tmp` file of an unfinished write is left in the folder: one a killed run left, or this one's own
    when it fails or is interrupted (once its workers are stopped)."""
    sweep_tmp(run_dir)
    try:
        yield
    finally:
        sweep_tmp(run_dir)


def run_cells(ctx: Context, data: list[TaskData], suite_arg: str | dict) -> int:
    """Every stage of the suite (nlpbench.suite.stages: training, variants, serve, perf), then the report and the
    sinks; the exit code."""
    log(f"run folder: {ctx.run_dir}")
    stages = [stage for stage in STAGES if stage.active(ctx.suite)]
    failed: list[str] = []
    try:
        for stage in stages:
            failed += stage.call("run", ctx, data)
    except KeyboardInterrupt as e:
        finish_run_json(ctx, "interrupted", interrupted_by=interrupted_by(e))
        log(f"interrupted ({interrupted_by(e)}): {len(read_records(ctx.run_dir))} finished cells kept in {ctx.run_dir}; "
            f"continue with: {resume_hint(suite_arg, ctx.run_dir)}")  # fmt: skip
        return 130
    records = read_records(ctx.run_dir)
    nothing = measured_nothing(records)  # no `ok` cell at all: exit 1 even when no model is required
    finish_run_json(ctx, "failed" if failed or nothing else "ok")
    report_and_summary(ctx.run_dir)
    for stage in stages:
        stage.call("publish", ctx.run_dir, ctx.suite)
    for line in failure_lines(records):  # how many cells failed, and why: one line per unit
        log(line)
    if failed:
        log(f"required model(s) failed: {', '.join(dict.fromkeys(failed))}")
    if nothing:
        log(f"no cell of {ctx.run_dir} finished ok: exit 1 (whether or not a model is required)")
    return 1 if failed or nothing else 0
