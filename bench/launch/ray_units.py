"""`launcher: ray`: each training unit a Ray task, on a local Ray or a cluster (`$RAY_ADDRESS`).

Every unit reserves `threads` CPUs (its torch thread count; default 1) and, on
CUDA, one GPU; Ray places it on a node with those free. Units are submitted
longest first; records stream back as tasks end and are appended at once.

- The run folder: a worker on a machine that sees the run folder at the same
  path (this one, or a shared file system) writes predictions, checkpoints,
  tokenizer cache and its log there directly; elsewhere it works in a
  temporary folder and sends those files back with its records (a gzipped tar
  through Ray's object store), unpacked here into the run folder. Data must be
  at `--data-dir` on every node (or shared).
- Each record names its `node` (hostname, pid, device) and `log`.
- Failures: a task that raises or a worker that dies is an `error` record
  with Ray's message (no retries: `--resume` runs it again); a unit past
  `timeout_minutes` is cancelled and recorded `timeout`; Ctrl-C cancels
  every pending task and keeps what finished.
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from nlpbench.context import log
from nlpbench.errors import error_message
from nlpbench.launch.cell_ray import connected, worker_pythonpath
from nlpbench.launch.process import POLL_S, Board, required_failures, summary
from nlpbench.launch.worker import log_path, lost_unit, node_info, run_unit, status_path, unit_spec, worker_imports
from nlpbench.quality.units import Unit
from nlpbench.store import unit_status
from nlpbench.store.records import utc_now


def run_on_ray_worker(spec: dict, unit_label: str) -> dict:
    """The Ray task: the unit, its output into its log file (when the run folder is visible here)."""
    unit = Unit.from_json(spec["unit"])
    run_dir = Path(spec["run_dir"])
    if not (run_dir / "run.json").is_file():
        return run_unit(spec)  # not shared: the log is part of the files sent back (none is written here)
    os.environ[unit_status.ENV] = str(status_path(run_dir, unit))
    with open(log_path(run_dir, unit), "w") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        return run_unit(spec)


def run_ray_units(ctx, data, units: list[Unit]) -> list[str]:
    """Runs `units` as Ray tasks; appends their records; returns failed required models."""
    threads = ctx.suite.threads or 1
    specs = {u: unit_spec(ctx.suite, u, ctx.run_dir, ctx.data_dir, threads, "ray", worker_imports(ctx.suite, u))
             for u in units}  # fmt: skip
    imports = sorted({m for s in specs.values() for m in s["imports"]})
    (ctx.run_dir / "logs").mkdir(exist_ok=True)
    timeout_s = 60 * ctx.suite.timeout_minutes if ctx.suite.timeout_minutes else None
    failed: list[str] = []
    board = Board(ctx.progress)
    with connected(ctx.suite.ray_address) as ray:
        task = ray.remote(max_retries=0, max_calls=1)(run_on_ray_worker)
        options = {"num_cpus": threads, "num_gpus": 1 if ctx.device.type == "cuda" else 0,
                   "runtime_env": {"env_vars": {"PYTHONPATH": worker_pythonpath(imports)}}}  # fmt: skip
        log(f"training {len(units)} unit(s) as Ray tasks, {threads} CPU(s) each; logs in {ctx.run_dir / 'logs'}")
        pending = {task.options(**options).remote(specs[u], u.label): (u, utc_now(), time.perf_counter()) for u in units}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                late = [ref for ref, (_, _, t0) in pending.items() if timeout_s and time.perf_counter() - t0 > timeout_s]
                for ref in [*ready, *(r for r in late if r not in ready)]:
                    unit, started, t0 = pending.pop(ref)
                    records = result(ray, ref, ctx, data, unit, started, t0, timed_out=ref not in ready)
                    for rec in records:
                        ctx.store.append(rec)
                    board.say(summary(unit, records, time.perf_counter() - t0))
                    failed += required_failures(ctx, unit, records)
                board.draw([unit_status.line(u.label, unit_status.read(status_path(ctx.run_dir, u)), time.perf_counter() - t0)
                            for u, _, t0 in pending.values()])  # fmt: skip
        finally:  # Ctrl-C or an error here: nothing keeps running on the cluster; finished units are stored
            board.clear()
            for ref in pending:
                ray.cancel(ref, force=True)
    return failed


def result(ray, ref, ctx, data, unit: Unit, started: str, t0: float, timed_out: bool) -> list[dict]:
    """A finished task's records (its files unpacked into the run folder), or the records of how it failed."""
    from nlpbench.launch.worker import unpack

    if timed_out:
        ray.cancel(ref, force=True)
        status, why = "timeout", f"stopped after {ctx.suite.timeout_minutes:g} min (timeout_minutes)"
    else:
        try:
            out = ray.get(ref)
        except (ray.exceptions.RayError, OSError) as e:  # WorkerCrashedError, RayTaskError, NodeDiedError, ...
            status, why = "error", "ray: " + error_message(e)
        else:
            if out.get("files_tar"):
                unpack(out["files_tar"], ctx.run_dir)
            return out["records"]
    return lost_unit(ctx, data, unit, status, why, started, time.perf_counter() - t0, "ray", node_info(ctx.device))
