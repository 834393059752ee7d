"""Runs a list of perf cells in order, writing each record the moment it ends.

A failed cell never ends the sweep: an out-of-memory cell is written as
`status: oom`, anything else as `status: error`, each with its message. After
an OOM, cells of the same group (task, model name, mode, seq_len, dtype,
compile, device) with a *larger* batch size are written as `status: skipped`
without being tried: they would only run out of memory again, slower.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tqdm import tqdm

from bench.perf.cell import PerfCellSpec, base_record
from bench.perf.launchers import get_launcher


def sweep(
    specs: list[PerfCellSpec],
    launcher: str,
    write: Callable[[dict], None],
    done: Iterable[str] = frozenset(),
    progress: bool = True,
    timeout_s: float | None = None,
    **options,
) -> None:
    """Runs `specs` (skipping ids in `done`) with `launcher` ("inline" | "process" | "ray" | "torchrun");
    each record goes to `write`.

    `timeout_s` bounds one cell under the `process` and `torchrun` launchers (None: no bound).
    `options`: the launcher's own settings (ray: `address`, `num_cpus`; torchrun: `nproc`).
    """
    if launcher == "ray":  # Ray schedules the cells itself; records still stream to `write` as they end
        from bench.perf.ray_launcher import ray_sweep

        return ray_sweep(specs, write, done=done, progress=progress, **options)
    run = get_launcher(launcher, **options)
    done = set(done)
    oom_at: dict[tuple, int] = {}  # group -> smallest batch size that ran out of memory
    todo = [s for s in specs if s.cell not in done]
    bar = tqdm(todo, desc="perf", unit="cell", disable=not progress, leave=False)
    for spec in bar:
        bar.set_postfix_str(spec.cell, refresh=False)
        limit = oom_at.get(spec.group)
        if limit is not None and spec.batch_size > limit:
            rec = base_record(spec, "skipped", f"batch_size {spec.batch_size} > {limit}, which ran out of memory")
        else:
            rec = run(spec, timeout_s)
        rec.setdefault("launcher", launcher)
        if rec["status"] == "oom":
            oom_at[spec.group] = min(spec.batch_size, limit or spec.batch_size)
        write(rec)
    bar.close()
