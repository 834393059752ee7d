"""The `process` executor: each job in a fresh interpreter, `workers` of them at once.

A job's child is `python -m nlpbench.launch.child SPEC OUT` in a session of its
own (a Ctrl-C reaches only the driver, which then stops every child), with the
job's torch threads and environment, its stdout and stderr in the job's `log`
(a training unit's `RUN_DIR/logs/<task>-<model>[-seed<k>].log`) or a temporary
file. Each child gets a clean allocator and peak RSS (optimum-benchmark's
isolation), and however it ends is a record:

- it wrote its answer: the job's records (`job.accept`);
- it died (SIGKILL, the OOM killer, a segfault, `os._exit`): the job's `lost` records, `error`, naming the
  signal or exit code and the last lines of its output;
- it ran past `job.timeout_s`: killed, `lost` records with status `timeout`.
Children die with their driver, however it ends (nlpbench.launch.lifecycle); a dead driver's temporary
folder is removed by the next executor. Progress: the jobs' live lines (`job.status`), redrawn in place on a
terminal, and one line as each job starts (`say`).
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

import torch

from nlpbench.context import log
from nlpbench.launch import lifecycle
from nlpbench.launch.jobs import Job, Queue
from nlpbench.perf.cell import THREADS_ENV  # a child's torch threads (default: the driver's count)
from nlpbench.store.records import utc_now

POLL_S = 0.5


def worker_count(suite) -> int:
    return suite.workers or os.cpu_count() or 1


def worker_threads(suite, workers: int) -> int:
    """Torch threads per worker: the suite's `threads`, else the cores shared out (at least one)."""
    return suite.threads or max(1, (os.cpu_count() or 1) // workers)


def exit_reason(code: int, what: str = "cell process") -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (the OOM killer sends this)" if -code == signal.SIGKILL else ""
        return f"{what} killed by signal {name}{hint}"
    return f"{what} exited with code {code} without a result"


def child_env(threads: int | None = None) -> dict:
    env = dict(os.environ)
    env[THREADS_ENV] = str(threads or torch.get_num_threads())  # the parent's count, as run.json records it
    return env


class Board:
    """One line per running job, redrawn in place on a terminal; finished jobs print above it."""

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
        if not self.live or not lines:
            return
        self.clear()
        try:
            width = os.get_terminal_size(sys.stderr.fileno()).columns or 200
        except OSError:
            width = 200
        sys.stderr.write("".join(line[: width - 1] + "\n" for line in lines))
        sys.stderr.flush()
        self.drawn = len(lines)


@dataclass
class Running:
    job: Job
    proc: subprocess.Popen
    out: Path
    log: Path
    started: str
    t0: float


class Processes:
    """`executor(queue)`: the queue's jobs as child processes, `workers` at once."""

    def __init__(self, workers: int = 1, live: bool = False, announce: bool = False, what: str = "cell process"):
        self.workers, self.board, self.announce, self.what = max(1, workers), Board(live), announce, what

    def __call__(self, queue: Queue) -> None:
        lifecycle.sweep_stale_temp("pool")
        running: list[Running] = []
        with tempfile.TemporaryDirectory(prefix=lifecycle.temp_prefix("pool")) as tmp:
            try:
                while queue or running:
                    while len(running) < self.workers and (job := queue.next()) is not None:
                        running.append(start(job, Path(tmp), len(running)))
                        if self.announce:
                            self.board.say(f"start {job.key}")
                    wait_any(running)
                    for r in [r for r in running if r.proc.poll() is not None or expired(r)]:
                        running.remove(r)
                        queue.finish(r.job, self.collect(r))
                    self.board.draw([r.job.status(time.perf_counter() - r.t0) for r in running if r.job.status])
            finally:  # Ctrl-C (or any error here): no child outlives the driver; finished jobs are kept
                self.board.clear()
                for r in running:
                    stop(r.proc)

    def collect(self, r: Running) -> list[dict]:
        """The job's records: the child's own, or `timeout`/`error` ones saying how it ended."""
        if r.proc.poll() is None:  # past its timeout
            stop(r.proc)
            status, why = "timeout", r.job.timeout_why or f"{self.what} timed out after {r.job.timeout_s:g} s"
        elif r.out.exists():
            return r.job.accept(json.loads(r.out.read_text()))
        else:
            status, why = "error", exit_reason(r.proc.returncode, self.what) + log_tail(r.log)
        return r.job.lost(status, why, r.started, time.perf_counter() - r.t0)


def start(job: Job, tmp: Path, n: int) -> Running:
    stem = f"job{id(job)}-{n}"
    spec_path, out = tmp / f"{stem}.spec.json", tmp / f"{stem}.out.json"
    spec_path.write_text(json.dumps(job.child))
    log_file = job.log or tmp / f"{stem}.log"
    env = {**child_env(job.threads), **job.env}
    with open(log_file, "w") as logf:
        proc = subprocess.Popen([sys.executable, "-m", "nlpbench.launch.child", str(spec_path), str(out)], env=env,
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=lifecycle.die_with_parent)  # noqa: PLW1509  # fmt: skip
    return Running(job, proc, out, log_file, utc_now(), time.perf_counter())


def wait_any(running: list[Running]) -> None:
    """Returns when the oldest child ends or after POLL_S (one child: the moment it ends)."""
    if running:
        try:
            running[0].proc.wait(POLL_S)
        except subprocess.TimeoutExpired:
            pass


def expired(r: Running) -> bool:
    return r.job.timeout_s is not None and time.perf_counter() - r.t0 > r.job.timeout_s


def stop(proc: subprocess.Popen) -> None:
    """Ends a child and anything it started (its own session)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def log_tail(path: Path, n: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()][-n:]
    except OSError:
        return ""
    return f"; log: {' | '.join(lines)}" if lines else ""
