"""The `ray` executor: each job a Ray task, on a local Ray or a cluster; records stream back as tasks end.

The scheduling is Ray's: a job asks for `job.threads` CPUs (its torch thread
count too) and `job.gpus` GPUs, and Ray places it on a node with those free.
Jobs of one OOM chain still run one after another (the queue hands out the next
only when the last one ended).

- Isolation: a worker runs one job and exits (`max_calls=1`), as the `process`
  executor does: a clean allocator and peak RSS per job.
- Failures: a job whose work fails returns its own failure records; a worker
  that dies (segfault, `os._exit`, the OOM killer, a lost node) or a task that
  raises gives the job's `lost` records, `error` with Ray's message; a job past
  its `timeout_s` is cancelled and recorded `timeout`. Tasks are not retried
  (`max_retries=0`): a crash is written down and `--resume` runs it again.
  Ctrl-C cancels every pending task and keeps what finished.
- Connection: `$RAY_ADDRESS`, else the suite's `ray_address`, else the newest
  cluster `ray start` began on this machine, else a new local Ray that is shut
  down when the jobs end. A Ray this process had already started is reused.
  Workers import every module a job names from where this driver does
  (PYTHONPATH); on other machines the same commit must be installed
  (`pip install -e '.[ray]'`).
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from pathlib import Path

from nlpbench.errors import BadInput, error_message
from nlpbench.extras import installed, missing_extra
from nlpbench.launch.jobs import Queue
from nlpbench.store.records import utc_now

POLL_S = 0.5


def ray_available() -> bool:
    return installed("ray")


def ray_missing() -> list[str]:
    """The one-line problem for a suite asking for `launcher: ray` without ray installed (else [])."""
    return missing_extra("ray", "ray", "perf.launcher: 'ray'")


def require_ray():
    if not ray_available():
        raise BadInput(ray_missing())
    import ray

    return ray


@contextlib.contextmanager
def connected(address: str | None = None):
    """Ray, connected: to the cluster this process already joined, to `$RAY_ADDRESS`/`address`, or a new local one."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    ray.init(address=os.environ.get("RAY_ADDRESS") or address, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def node_info(device: str) -> dict:
    """Where a job ran: this host and the device its `device` string means here."""
    from nlpbench.env import device_name

    try:
        name = device_name(__import__("torch").device(device))
    except Exception as e:  # noqa: BLE001  (e.g. a CUDA cell on a node whose driver is broken)
        name = f"unknown ({type(e).__name__})"
    return {"hostname": socket.gethostname(), "device_name": name}


def importable_root(module: str) -> str | None:
    """The sys.path entry `module` was imported from in this process (None for built-ins)."""
    mod = sys.modules.get(module)
    file = getattr(mod, "__file__", None)
    if not file:
        return None
    depth = module.count(".") + (1 if Path(file).name == "__init__.py" else 0)
    return str(Path(file).resolve().parents[depth])


def worker_pythonpath(modules) -> str:
    """PYTHONPATH for a worker: where each of `modules` was imported from, then the driver's own (nlpbench
    itself is installed in the worker's interpreter, as in the driver's)."""
    roots = [r for m in modules if (r := importable_root(m))]
    roots += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(roots))


def run_on_ray_worker(child: dict, env: dict, log: str | None) -> dict:
    """The Ray task: the job's child, its output into the job's log when that folder is visible here."""
    from nlpbench.launch.child import run_child

    os.environ.update(env)
    if log is None or not Path(log).parent.is_dir():
        return run_child(child)
    with open(log, "w") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        return run_child(child)


class OnRay:
    """`executor(queue)`: the queue's jobs as Ray tasks (`address`: a cluster to join)."""

    def __init__(self, address: str | None = None):
        self.address = address

    def __call__(self, queue: Queue) -> None:
        with connected(self.address) as ray:
            task = ray.remote(max_retries=0, max_calls=1)(run_on_ray_worker)
            pending: dict = {}  # object ref -> (job, started, t0)
            try:
                while queue or pending:
                    while (job := queue.next()) is not None:
                        pending[self.submit(task, job)] = (job, utc_now(), time.perf_counter())
                    if pending:
                        self.collect(ray, pending, queue)
            finally:  # Ctrl-C or an error here: nothing keeps running on the cluster; finished jobs are kept
                for ref in pending:
                    ray.cancel(ref, force=True)

    def submit(self, task, job):
        imports = job.child.get("imports") or ()
        options = {"num_cpus": job.threads or 1, "num_gpus": job.gpus,
                   "runtime_env": {"env_vars": {"PYTHONPATH": worker_pythonpath(imports)}}}  # fmt: skip
        return task.options(**options).remote(job.child, job.env, str(job.log) if job.log else None)

    def collect(self, ray, pending: dict, queue: Queue) -> None:
        """Finishes the jobs that ended (or ran past their timeout) within POLL_S."""
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
        now = time.perf_counter()
        late = [ref for ref, (job, _, t0) in pending.items() if job.timeout_s and now - t0 > job.timeout_s]
        for ref in [*ready, *(r for r in late if r not in ready)]:
            job, started, t0 = pending.pop(ref)
            if ref not in ready:
                ray.cancel(ref, force=True)
                why = job.timeout_why or f"timed out after {job.timeout_s:g} s"
                queue.finish(job, job.lost("timeout", why, started, time.perf_counter() - t0))
                continue
            try:
                out = ray.get(ref)
            except (ray.exceptions.RayError, OSError) as e:  # WorkerCrashedError, RayTaskError, NodeDiedError, ...
                queue.finish(job, job.lost("error", "ray: " + error_message(e), started, time.perf_counter() - t0))
            else:
                queue.finish(job, job.accept(out))
