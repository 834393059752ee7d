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

from nlpbench.launch.cells import get_launcher
from nlpbench.perf.cell import PerfCellSpec, base_record
from nlpbench.perf.rounds import cell_rounds, merge, round_spec


def sweep(
    specs: list[PerfCellSpec],
    launcher: str,
    write: Callable[[dict], None],
    done: Iterable[str] = frozenset(),
    progress: bool = True,
    timeout_s: float | None = None,
    rounds: int = 1,
    **options,
) -> None:
    """Runs `specs` (skipping ids in `done`) with `launcher` ("inline" | "process" | "ray" | "torchrun");
    each record goes to `write`.

    `rounds` > 1 (inline and process): every cell is timed in that many interleaved rounds
    (nlpbench.perf.rounds) and written when its last round ends.
    `timeout_s` bounds one cell under the `process` and `torchrun` launchers (None: no bound).
    `options`: the launcher's own settings (ray: `address`, `num_cpus`; torchrun: `nproc`).
    """
    if launcher == "ray":  # Ray schedules the cells itself; records still stream to `write` as they end
        from nlpbench.launch.cell_ray import ray_sweep

        return ray_sweep(specs, write, done=done, progress=progress, **options)
    run = get_launcher(launcher, **options)
    rounds = rounds if launcher in ("inline", "process") else 1
    done = set(done)
    oom_at: dict[tuple, int] = {}  # group -> smallest batch size that ran out of memory
    todo = [s for s in specs if s.cell not in done]
    partial: dict[str, list[dict]] = {}  # cell -> its finished rounds so far
    bar = tqdm(total=sum(cell_rounds(s, rounds) for s in todo), desc="perf", unit="round", disable=not progress, leave=False)
    for r in range(rounds):
        for spec in todo:
            n = cell_rounds(spec, rounds)
            if r >= n or (r > 0 and spec.cell not in partial):
                continue  # done: one-round cell, or written after round 1 (failed, out of memory, skipped)
            bar.set_postfix_str(f"{spec.cell} ({r + 1}/{n})", refresh=False)
            bar.update(1)
            rec = _one(run, spec, n, timeout_s, oom_at)
            rec.setdefault("launcher", launcher)
            if rec["status"] == "oom":
                oom_at[spec.group] = min(spec.batch_size, oom_at.get(spec.group) or spec.batch_size)
            if rec["status"] != "ok" or n == 1:
                partial.pop(spec.cell, None)
                write(rec)
                continue
            partial.setdefault(spec.cell, []).append(rec)
            if r == n - 1:
                write(merge(partial.pop(spec.cell)))
    bar.close()


def _one(run, spec: PerfCellSpec, rounds: int, timeout_s, oom_at: dict) -> dict:
    limit = oom_at.get(spec.group)
    if limit is not None and spec.batch_size > limit:
        return base_record(spec, "skipped", f"batch_size {spec.batch_size} > {limit}, which ran out of memory")
    return run(round_spec(spec, rounds), timeout_s)
