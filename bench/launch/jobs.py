"""The one launcher family: a `Job` is any piece of a run, an executor runs jobs, `execute` drives it.

Every stage of a run goes through here — training units (nlpbench.launch.units),
perf cells and their rounds (nlpbench.launch.cells), deployment variants and
serve cells (nlpbench.variants.run, nlpbench.serve.cells) — so what a launcher must get right is
written once:

- resume: a job whose record ids are all in `done` is not run (`execute`);
- the OOM chain: jobs of one `chain` (a perf cell's task, model, mode, seq_len,
  dtype, ...) never run at the same time, and once one of them ends `oom`, the
  later ones of a larger `size` (batch) are written `skipped` unrun (`Queue`);
- failures: a job whose work failed returns its own failure records; one that
  returned none (a crashed or killed process, a timeout, a lost Ray task) gets
  them from its `lost` (`status`, why) — the same record shape whoever ran it;
- where: `inline` (this process), `process` (a fresh interpreter per job, `workers`
  at once: nlpbench.launch.process), `ray` (a Ray task per job: nlpbench.launch.ray).
  A job runs in another interpreter through its `child`: a `module:function` taking
  a JSON-able spec and returning a JSON-able dict, which `accept` turns into records.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nlpbench.store.records import utc_now

Records = list[dict]


@dataclass
class Job:
    key: str  # what progress lines and logs call it: a unit's label, a cell id
    cells: tuple[str, ...]  # the record ids it writes: resume skips a job whose ids are all done
    run: Callable[[], Records]  # runs it here; a failure of the work is records, never an exception
    lost: Callable[[str, str, str, float], Records]  # (status, why, started, wall_s): records of a job that returned none
    child: dict | None = None  # {"entry": "module:function", "spec": {...}, "imports": [...]}: runs it elsewhere
    accept: Callable[[dict], Records] = lambda out: out["records"]  # the child's answer -> records
    chain: tuple | None = None  # the OOM chain (perf cells: spec.group)
    size: int = 0  # its place in the chain (batch size)
    timeout_s: float | None = None  # enforced by the process and ray executors (nothing can stop an inline step)
    timeout_why: str = ""  # the `timeout` record's message (default: "... timed out after N s")
    log: Path | None = None  # a child's stdout and stderr (else a temporary file, quoted on failure)
    env: dict = field(default_factory=dict)  # a child's extra environment
    threads: int | None = None  # a child's torch threads (ray: the CPUs it reserves)
    gpus: int = 0  # ray: the GPUs it reserves
    status: Callable[[float], str] | None = None  # a live progress line while it runs (seconds so far)
    required: bool = False  # a record of it that is not ok fails the run (exit 1): its model is `required`


class Queue:
    """The jobs still to run, handed out one at a time: chains one job at a time, the OOM rule, progress."""

    def __init__(self, jobs: list[Job], on_records: Callable[[Job, Records], None], launcher: str, bar=None):
        self.pending = list(jobs)
        self.on_records, self.launcher, self.bar = on_records, launcher, bar
        self.busy: set[tuple] = set()  # chains with a job running
        self.oom_at: dict[tuple, int] = {}  # chain -> the smallest size that ran out of memory

    def __bool__(self) -> bool:
        return bool(self.pending)

    def next(self) -> Job | None:
        """The first pending job whose chain is idle (None: all pending ones wait on a running chain)."""
        for job in self.pending:
            if job.chain is not None and job.chain in self.busy:
                continue
            self.pending.remove(job)
            limit = self.oom_at.get(job.chain)
            if limit is not None and job.size > limit:
                why = f"batch_size {job.size} > {limit}, which ran out of memory"
                self.finish(job, job.lost("skipped", why, utc_now(), 0.0), ran=False)
                return self.next()
            if job.chain is not None:
                self.busy.add(job.chain)
            if self.bar is not None:
                self.bar.set_postfix_str(job.key, refresh=False)
            return job
        return None

    def finish(self, job: Job, records: Records, ran: bool = True) -> None:
        """A job's records to the caller; an `oom` among them stops the larger jobs of its chain."""
        self.busy.discard(job.chain)
        for rec in records:
            rec.setdefault("launcher", self.launcher)
            if rec.get("status") == "oom" and job.chain is not None:
                self.oom_at[job.chain] = min(job.size, self.oom_at.get(job.chain, job.size))
        self.on_records(job, records)
        if self.bar is not None:
            self.bar.update(1)


def inline(queue: Queue) -> None:
    """The inline executor: each job in this process, in order."""
    while queue:
        job = queue.next()
        if job is not None:
            queue.finish(job, job.run())


def execute(jobs: Iterable[Job], executor: Callable[[Queue], None], on_records: Callable[[Job, Records], None],
            done: Iterable[str] = frozenset(), launcher: str = "inline", bar=None) -> None:
    """Runs the jobs not yet done (resume) with `executor`; each job's records go to `on_records` as it ends."""
    done = set(done)
    todo = [j for j in jobs if not all(c in done for c in j.cells)]
    if todo:
        executor(Queue(todo, on_records, launcher, bar))
