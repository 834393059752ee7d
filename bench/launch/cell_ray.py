"""`launcher: ray`: each perf cell is a Ray task; records stream back into the run as they finish.

The scheduling is Ray's, not ours: each cell asks for `num_cpus` CPUs (its
torch thread count too) and, on CUDA, one GPU, and Ray places it on a node
with those free. The driver `ray.wait`s for whichever task ends first and
hands its record to the sweep's `write`, so `records.jsonl`, `--resume`,
`report` and `compare` work as with the other launchers.

- Isolation: a worker runs one cell and exits (`max_calls=1`), as the
  `process` launcher does: a clean allocator and peak RSS per cell.
- Failures: a cell that raises is an `error`/`oom` record from the worker
  itself; a worker that dies (segfault, `os._exit`, the OOM killer, a lost
  node) is an `error` record with Ray's message. Tasks are not retried
  (`max_retries=0`): a crash is written down and `--resume` runs it again.
- OOM semantics: cells that differ only in batch size (one `spec.group`) run
  one after another, smallest batch first; after an `oom` the larger ones are
  written as `skipped`, as in the inline sweep. Groups run concurrently.
- Where: each record gets `node: {hostname, device_name}` from the worker
  (and `device_name` is the worker's), so cells from several machines are
  never silently mixed; the driver warns when a sweep spanned several.
- Connection: `$RAY_ADDRESS`, else `perf.ray_address`, else the newest
  cluster `ray start` began on this machine, else a new local Ray that is shut
  down when the sweep ends. A Ray this process had already started is reused.
  Workers find `bench`/`models` through PYTHONPATH (this checkout); on other
  machines the same commit must be installed (`pip install -e '.[ray]'`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from nlpbench.errors import BadInput, error_message
from nlpbench.extras import installed, missing_extra
from nlpbench.perf.cell import PerfCellSpec, base_record, run_cell_safely


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
    """Where a cell ran: this host and the device its `device` string means here."""
    from nlpbench.env import device_name

    try:
        name = device_name(__import__("torch").device(device))
    except Exception as e:  # noqa: BLE001  (e.g. a CUDA cell on a node whose driver is broken)
        name = f"unknown ({type(e).__name__})"
    return {"hostname": socket.gethostname(), "device_name": name}


def run_on_worker(spec: PerfCellSpec) -> dict:
    """The Ray task: one cell, its record tagged with the node it ran on."""
    rec = run_cell_safely(spec)
    rec["node"] = node_info(spec.device)
    rec.update(device_name=rec["node"]["device_name"], launcher="ray")
    return rec


def importable_root(module: str) -> str | None:
    """The sys.path entry `module` was imported from in this process (None for built-ins)."""
    mod = sys.modules.get(module)
    file = getattr(mod, "__file__", None)
    if not file:
        return None
    depth = module.count(".") + (1 if Path(file).name == "__init__.py" else 0)
    return str(Path(file).resolve().parents[depth])


def for_worker(spec: PerfCellSpec, num_cpus: float) -> PerfCellSpec:
    """The spec as a worker needs it: the adapter's module imported first (plugins, test adapters), its threads."""
    from nlpbench.registry import adapters

    cls = adapters().get(spec.adapter)  # unknown here: the worker writes the error record
    module = cls.__module__ if cls else "nlpbench.models"
    imports = spec.imports if module in spec.imports or module.startswith("nlpbench.models") else (*spec.imports, module)
    return dataclasses.replace(spec, imports=imports, threads=spec.threads or max(1, int(num_cpus)))


def worker_pythonpath(modules) -> str:
    """PYTHONPATH for a worker: where each of `modules` was imported from, then the driver's own (nlpbench
    itself is installed in the worker's interpreter, as in the driver's)."""
    roots = [r for m in modules if (r := importable_root(m))]
    roots += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(roots))


def runtime_env(specs: list[PerfCellSpec]) -> dict:
    """Workers import every module a spec names from where this driver does."""
    return {"env_vars": {"PYTHONPATH": worker_pythonpath(m for s in specs for m in s.imports)}}


def chains(specs: list[PerfCellSpec]) -> list[deque]:
    """Cells grouped by `spec.group`, each group smallest batch first (an OOM skips the rest of its chain)."""
    groups: dict[tuple, list[PerfCellSpec]] = {}
    for s in specs:
        groups.setdefault(s.group, []).append(s)
    return [deque(sorted(g, key=lambda s: s.batch_size)) for g in groups.values()]


def failed_record(spec: PerfCellSpec, exc: BaseException, t0: float) -> dict:
    """A record for a task Ray could not finish (worker died, node lost, task error)."""
    rec = base_record(spec, "error", "ray: " + error_message(exc))
    rec.update(wall_s=time.perf_counter() - t0, launcher="ray")
    return rec


def ray_sweep(
    specs: list[PerfCellSpec],
    write: Callable[[dict], None],
    done: Iterable[str] = frozenset(),
    progress: bool = True,
    address: str | None = None,
    num_cpus: float = 1,
) -> None:
    """Runs `specs` (skipping ids in `done`) as Ray tasks; each record goes to `write` as its task ends."""
    done = set(done)
    todo = [for_worker(s, num_cpus) for s in specs if s.cell not in done]
    if not todo:
        return
    with connected(address) as ray:
        task = ray.remote(max_retries=0, max_calls=1)(run_on_worker)
        options = {"num_cpus": num_cpus, "runtime_env": runtime_env(todo)}
        nodes = _drive(ray, task, options, chains(todo), write, progress, len(todo))
    if len(nodes) > 1:
        print(f"nlpbench: ray ran cells on {len(nodes)} nodes: {'; '.join(sorted(nodes))} "
              "(each record's `node` says which)", file=sys.stderr)  # fmt: skip


def _drive(ray, task, options: dict, queues: list[deque], write, progress: bool, total: int) -> set[str]:
    """Submits the head of every chain, then one more from a chain each time one of its cells ends."""
    from tqdm import tqdm

    pending: dict = {}  # object ref -> (spec, submit time, its chain)

    def submit(queue: deque) -> None:
        spec = queue.popleft()
        ref = task.options(num_gpus=1 if spec.device == "cuda" else 0, **options).remote(spec)
        pending[ref] = (spec, time.perf_counter(), queue)

    for q in queues:
        submit(q)
    nodes: set[str] = set()
    bar = tqdm(total=total, desc="perf (ray)", unit="cell", disable=not progress, leave=False)
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            spec, t0, queue = pending.pop(ref)
            rec = _result(ray, ref, spec, t0)
            nodes.add(f"{rec['node']['hostname']} ({rec['node']['device_name']})" if "node" in rec else "?")
            write(rec)
            bar.update(1)
            if rec["status"] == "oom":
                bar.update(_skip_rest(queue, spec.batch_size, write))
            elif queue:
                submit(queue)
    finally:  # Ctrl-C or a failing `write`: stop what is still running; finished cells are already written
        for ref in pending:
            ray.cancel(ref, force=True)
        bar.close()
    nodes.discard("?")
    return nodes


def _result(ray, ref, spec: PerfCellSpec, t0: float) -> dict:
    try:
        return ray.get(ref)
    except (ray.exceptions.RayError, OSError) as e:  # WorkerCrashedError, RayTaskError, NodeDiedError, ...
        return failed_record(spec, e, t0)


def _skip_rest(queue: deque, oom_batch: int, write) -> int:
    n = 0
    while queue:
        spec = queue.popleft()
        rec = base_record(spec, "skipped", f"batch_size {spec.batch_size} > {oom_batch}, which ran out of memory")
        rec["launcher"] = "ray"
        write(rec)
        n += 1
    return n
