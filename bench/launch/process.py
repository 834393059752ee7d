"""`launcher: process`: training units side by side, each in a fresh interpreter (`--workers N`).

Each unit runs as `python -m nlpbench.launch.worker SPEC OUT` in its own session
(so a Ctrl-C reaches only the driver, which then stops every worker), with
`threads` torch threads (default: cores / workers), its stdout and stderr in
`RUN_DIR/logs/<task>-<model>[-seed<k>].log`. Units start longest first
(nlpbench.quality.units.plan); records are appended as each unit ends, so `--resume`
after a crash or Ctrl-C re-runs only units without records.

- A worker that dies (SIGKILL, the OOM killer, a segfault) ends as `error`
  records naming the signal and the log's last lines; the others go on.
- A unit past `timeout_minutes` is killed and recorded `timeout`.
- Workers die with their driver, however it ends (nlpbench.launch.lifecycle): stopped on Ctrl-C, SIGTERM
  or SIGHUP, killed by the kernel when the driver is SIGKILLed; a dead driver's temporary folder is
  removed by the next pool.
- Progress: one line per running unit (stage, step, epoch, validation score,
  ETA; nlpbench.store.unit_status), redrawn in place on a terminal; elsewhere one line
  as each unit starts and ends.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nlpbench.context import log
from nlpbench.launch import lifecycle
from nlpbench.launch.cell_process import child_env, exit_reason
from nlpbench.launch.cell_ray import worker_pythonpath
from nlpbench.launch.worker import log_path, lost_unit, node_info, status_path, unit_spec, worker_imports
from nlpbench.quality.units import Unit
from nlpbench.store import unit_status
from nlpbench.store.records import utc_now

POLL_S = 0.5


def worker_count(suite) -> int:
    return suite.workers or os.cpu_count() or 1


def worker_threads(suite, workers: int) -> int:
    """Torch threads per worker: the suite's `threads`, else the cores shared out (at least one)."""
    return suite.threads or max(1, (os.cpu_count() or 1) // workers)


@dataclass
class Running:
    unit: Unit
    proc: subprocess.Popen
    out: Path
    started: str
    t0: float


class Board:
    """One line per running unit, redrawn in place on a terminal; finished units print above it."""

    def __init__(self, live: bool):
        self.live, self.drawn = live, 0

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def say(self, msg: str) -> None:
        self.clear()
        log(msg)

    def draw(self, lines: list[str]) -> None:
        if not self.live:
            return
        self.clear()
        try:
            width = os.get_terminal_size(sys.stderr.fileno()).columns or 200
        except OSError:
            width = 200
        sys.stderr.write("".join(line[: width - 1] + "\n" for line in lines))
        sys.stderr.flush()
        self.drawn = len(lines)


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


def run_pool(ctx, data, units: list[Unit]) -> list[str]:
    """Runs `units` on a pool of worker processes; appends their records; returns failed required models."""
    workers = worker_count(ctx.suite)
    threads = worker_threads(ctx.suite, workers)
    log(f"training {len(units)} unit(s) on {workers} worker process(es), {threads} torch thread(s) each; "
        f"logs in {ctx.run_dir / 'logs'}")  # fmt: skip
    (ctx.run_dir / "logs").mkdir(exist_ok=True)
    timeout_s = 60 * ctx.suite.timeout_minutes if ctx.suite.timeout_minutes else None
    queue, running, failed = list(units), [], []
    board = Board(ctx.progress)
    lifecycle.sweep_stale_temp("pool")
    with tempfile.TemporaryDirectory(prefix=lifecycle.temp_prefix("pool")) as tmp:
        try:
            while queue or running:
                while queue and len(running) < workers:
                    running.append(start(ctx, queue.pop(0), threads, Path(tmp)))
                    board.say(f"start {running[-1].unit.label}")
                for r in [r for r in running if r.proc.poll() is not None or expired(r, timeout_s)]:
                    running.remove(r)
                    records = collect(ctx, data, r, timeout_s)
                    for rec in records:
                        ctx.store.append(rec)
                    board.say(summary(r.unit, records, time.perf_counter() - r.t0))
                    failed += required_failures(ctx, r.unit, records)
                board.draw([unit_status.line(r.unit.label, unit_status.read(status_path(ctx.run_dir, r.unit)),
                                             time.perf_counter() - r.t0) for r in running])  # fmt: skip
                time.sleep(POLL_S if running else 0)
        finally:  # Ctrl-C (or any error here): no worker outlives the driver; finished units are stored
            board.clear()
            for r in running:
                stop(r.proc)
    return failed


def start(ctx, unit: Unit, threads: int, tmp: Path) -> Running:
    spec = unit_spec(ctx.suite, unit, ctx.run_dir, ctx.data_dir, threads, "process", worker_imports(ctx.suite, unit))
    spec_path, out = tmp / f"{unit.file_stem}.spec.json", tmp / f"{unit.file_stem}.out.json"
    spec_path.write_text(json.dumps(spec))
    status = status_path(ctx.run_dir, unit)
    status.unlink(missing_ok=True)
    env = {**child_env(), unit_status.ENV: str(status), "PYTHONPATH": worker_pythonpath(spec["imports"])}
    with open(log_path(ctx.run_dir, unit), "w") as logf:
        proc = subprocess.Popen([sys.executable, "-m", "nlpbench.launch.worker", str(spec_path), str(out)], env=env,
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=lifecycle.die_with_parent)  # fmt: skip
    return Running(unit, proc, out, utc_now(), time.perf_counter())


def expired(r: Running, timeout_s: float | None) -> bool:
    return timeout_s is not None and time.perf_counter() - r.t0 > timeout_s


def stop(proc: subprocess.Popen) -> None:
    """Ends a worker and anything it started (its own session)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def collect(ctx, data, r: Running, timeout_s: float | None) -> list[dict]:
    """The unit's records: the worker's own, or `timeout`/`error` ones saying how it ended."""
    if r.proc.poll() is None:  # past its timeout
        stop(r.proc)
        status, why = "timeout", f"stopped after {timeout_s / 60:g} min (timeout_minutes)"
    elif r.out.exists():
        return json.loads(r.out.read_text())["records"]
    else:
        status, why = "error", exit_reason(r.proc.returncode) + log_tail(log_path(ctx.run_dir, r.unit))
    return lost_unit(ctx, data, r.unit, status, why, r.started, time.perf_counter() - r.t0, "process",
                     {**node_info(ctx.device), "pid": r.proc.pid})  # fmt: skip


def log_tail(path: Path, n: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()][-n:]
    except OSError:
        return ""
    return f"; log: {' | '.join(lines)}" if lines else ""


def required_failures(ctx, unit: Unit, records: list[dict]) -> list[str]:
    model = ctx.suite.tasks[unit.task_index].models[unit.model_index]
    return [model.label] if model.required and any(r.get("status") != "ok" for r in records) else []
