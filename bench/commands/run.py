"""`nlpbench run`: expand a suite into cells, run the missing ones, keep every finished one.

Order: validate the suite and load every task's data first (so bad input
fails before anything is measured), then quality cells (training units,
bench/quality/units.py: inline here, or side by side in a process pool, bench/launch/process.py,
or as Ray tasks, bench/launch/ray_units.py, by the suite's `launcher`), then
serve cells (bench/serve: the trained models under MLPerf LoadGen), then the
perf sweep, then the report. Each finished cell is appended to
`records.jsonl` at once; `--resume RUN_DIR` skips cells already there;
Ctrl-C, SIGTERM and SIGHUP keep what finished and exit 130 (nlpbench.launch.lifecycle).
One run writes a folder at a time (`RUN_DIR/.lock`, nlpbench.store.lock). A failure
after the folder is opened (bad input found late, a full or read-only disk) ends in
one line and exit 2, with run.json `failed` and its reason, or, for a resume that
recorded nothing, run.json as it was.
"""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from pathlib import Path

import torch

from nlpbench import env
from nlpbench.context import Context, log, run_log
from nlpbench.data import TaskData, load_all_data
from nlpbench.errors import BadInput, error_message
from nlpbench.launch.lifecycle import interrupt_on_signals, interrupted_by
from nlpbench.report.write import report_and_summary
from nlpbench.store.disk import disk_error, is_disk_error, sweep_tmp
from nlpbench.store.lock import RunLock
from nlpbench.store.results import RecordStore, read_records, write_json
from nlpbench.store.run_json import Attempt, finish_run_json, open_run, write_run_json
from nlpbench.suite.schema import Suite

__all__ = ["Context", "load_all_data", "log", "run", "run_suite"]  # Context and log live in nlpbench.context; imported from here by older code


def run_quality(ctx: Context, data: list[TaskData]) -> list[str]:
    """Runs the missing training units (once per seed when the suite lists `seeds`) where the suite's
    `launcher` says; returns the labels of required models that failed."""
    from nlpbench.quality.units import plan

    units = plan(ctx.suite, data, ctx.store.done())
    launcher = quality_launcher(ctx.suite)
    if launcher == "inline" or not units:
        return run_units_inline(ctx, data, units)
    if launcher == "process":
        from nlpbench.launch.process import run_pool

        failed = run_pool(ctx, data, units)
    else:
        from nlpbench.launch.ray_units import run_ray_units

        failed = run_ray_units(ctx, data, units)
    if ctx.suite.variants != ["fp32"]:  # deployment variants, from the checkpoints the workers wrote
        from nlpbench.variants.run import run_variants

        for u in units:
            task = ctx.suite.tasks[u.task_index]
            run_variants(ctx.with_seed(u.seed), task, task.models[u.model_index], data[u.task_index])
    return list(dict.fromkeys(failed))


def quality_launcher(suite: Suite) -> str:
    """Where training units run: the suite's `launcher`; `workers` > 1 alone means a process pool."""
    if suite.launcher == "inline" and (suite.workers or 1) > 1:
        return "process"
    return suite.launcher


def run_units_inline(ctx: Context, data: list[TaskData], units) -> list[str]:
    from nlpbench.quality.units import unit_records

    failed = []
    for u in sorted(units, key=lambda u: (u.seed if ctx.suite.seeds else 0, u.task_index, u.model_index)):
        task, td = ctx.suite.tasks[u.task_index], data[u.task_index]
        model = task.models[u.model_index]
        at_seed = "" if u.seed_tag is None else f", seed {u.seed}"
        log(f"[{task.label}] training {model.label} ({model.adapter}) on {td.dataset}{at_seed}")
        c = ctx.with_seed(u.seed)
        records, bad = unit_records(c, u, data)
        for rec in records:
            ctx.store.append(rec)
        if bad:
            log(f"[{task.label}] {model.label} failed: {records[0]['error']}")
            if model.required:
                failed.append(model.label)
        if ctx.suite.variants != ["fp32"]:  # deployment variants of the model just trained
            from nlpbench.variants.run import run_variants

            run_variants(c, task, model, td)
    return list(dict.fromkeys(failed))


def run(suite_arg: str, overrides: list[str] = (), **kw) -> int:
    """`nlpbench run`: the exit code (0 ok, 1 a required model failed, 130 interrupted); see `run_suite`."""
    return run_suite(suite_arg, overrides, **kw)[1]


def run_suite(
    suite_arg: str,
    overrides: list[str] = (),
    *,
    out: Path | None = None,
    resume: Path | None = None,
    data_dir: str | None = None,
    progress: bool = True,
    argv: list[str] = (),
    tasks: list[str] | None = None,
    models: list[str] | None = None,
) -> tuple[Path, int]:
    """Runs a suite (a shipped name or a path); (the run folder, the exit code). Bad input raises BadInput
    before anything is measured."""
    from nlpbench.suite.selection import load_selected, selection

    with interrupt_on_signals():  # SIGTERM, SIGHUP: as Ctrl-C
        full, suite = load_selected(suite_arg, overrides, data_dir, tasks, models)  # run.json, --resume: the whole suite
        data = load_all_data(suite, data_dir)
        if suite.perf is not None:
            from nlpbench.perf.plan import check_perf

            check_perf(suite, data)  # cells that can't be measured as labelled: exit 2 before training
        device = env.resolve_device(suite.device)
        if suite.threads:
            torch.set_num_threads(suite.threads)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise BadInput("device: 'cuda' asked for but no CUDA device is available; allowed here: auto, cpu")
        run_dir = open_run(full, out, resume)
        with RunLock(run_dir), swept(run_dir):  # a second run or resume of this folder is refused, naming this pid
            ctx = Context(suite, run_dir, device, suite.dtype, suite.seed, progress, RecordStore(run_dir), data_dir=data_dir)
            meta = {"config": full.model_dump(mode="json"), "selection": selection(tasks, models)}
            return run_dir, run_attempt(ctx, data, suite_arg, list(argv), meta)


def run_attempt(ctx: Context, data: list[TaskData], suite_arg: str, argv: list[str], meta: dict) -> int:
    """run.json written, the cells run; a failure ends as one line (BadInput) with run.json `failed` and the
    reason, or, for a resume that recorded nothing, as it was."""
    attempt = Attempt(ctx.run_dir)
    try:
        write_run_json(ctx, argv, meta, data)
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


def run_cells(ctx: Context, data: list[TaskData], suite_arg: str) -> int:
    """Quality, serve and perf cells, then the report; the exit code."""
    log(f"run folder: {ctx.run_dir}")
    try:
        failed = run_quality(ctx, data)
        if ctx.suite.serve is not None:
            from nlpbench.serve.cells import run_serve

            failed += run_serve(ctx, data)
        if ctx.suite.perf is not None:
            failed += run_perf(ctx, data)
    except KeyboardInterrupt as e:
        finish_run_json(ctx, "interrupted", interrupted_by=interrupted_by(e))
        log(f"interrupted ({interrupted_by(e)}): {len(read_records(ctx.run_dir))} finished cells kept in {ctx.run_dir}; "
            f"continue with: nlpbench run {suite_arg} --resume {ctx.run_dir}")  # fmt: skip
        return 130
    finish_run_json(ctx, "failed" if failed else "ok")
    report_and_summary(ctx.run_dir)
    if ctx.suite.log_to:
        from nlpbench.sinks import send

        send(ctx.run_dir, ctx.suite.log_to)  # after the report: its files go too; a failing sink only warns
    if failed:
        log(f"required model(s) failed: {', '.join(failed)}")
        return 1
    return 0


def run_perf(ctx: Context, data: list[TaskData]) -> list[str]:
    from nlpbench.perf import probe_peak_gflops
    from nlpbench.perf.plan import run_perf_cells

    probe = probe_peak_gflops(ctx.device.type)
    ctx.peak_gflops = probe.get("gflops")
    meta = json.loads((ctx.run_dir / "run.json").read_text())
    write_json(ctx.run_dir / "run.json", {**meta, "matmul_probe": probe})
    log(f"matmul probe: {probe.get('gflops', 0):.1f} GFLOP/s peak ({probe.get('dtype')}, n={probe.get('n')})")
    return run_perf_cells(ctx, data)
