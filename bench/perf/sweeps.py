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
from nlpbench.perf.rounds import WarmCell, cell_rounds, merge, round_spec, warm_windows


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
    (nlpbench.perf.rounds) and written when its last round ends. Inline, a cell is set up and
    warmed once and kept warm for its later rounds; `process` pays a fresh interpreter per round.
    `timeout_s` bounds one cell under the `process` and `torchrun` launchers (None: no bound).
    `options`: the launcher's own settings (ray: `address`, `num_cpus`; torchrun: `nproc`).
    """
    if launcher == "ray":  # Ray schedules the cells itself; records still stream to `write` as they end
        from nlpbench.launch.cell_ray import ray_sweep

        return ray_sweep(specs, write, done=done, progress=progress, **options)
    run = get_launcher(launcher, **options)
    rounds = rounds if launcher in ("inline", "process") else 1
    done = set(done)
    todo = [s for s in specs if s.cell not in done]
    oom_at: dict[tuple, int] = {}  # group -> smallest batch size that ran out of memory
    bar = tqdm(total=sum(cell_rounds(s, rounds) for s in todo), desc="perf", unit="round", disable=not progress, leave=False)

    def finish(spec: PerfCellSpec, rec: dict) -> None:
        rec.setdefault("launcher", launcher)
        if rec["status"] == "oom":
            oom_at[spec.group] = min(spec.batch_size, oom_at.get(spec.group) or spec.batch_size)
        write(rec)

    if launcher == "inline" and rounds > 1:  # warm cells, set up once each (nlpbench.perf.rounds)
        for window in warm_windows(todo):
            _warm_rounds(window, rounds, run, finish, bar, oom_at)
    else:
        _fresh_rounds(todo, rounds, run, finish, bar, oom_at, timeout_s)
    bar.close()


def _fresh_rounds(todo, rounds: int, run, finish, bar, oom_at: dict, timeout_s) -> None:
    """Every round of every cell through the launcher (`process`: a fresh interpreter each time)."""
    partial: dict[str, list[dict]] = {}  # cell -> its finished rounds so far
    for r in range(rounds):
        for spec in todo:
            n = cell_rounds(spec, rounds)
            if r >= n or (r > 0 and spec.cell not in partial):
                continue  # done: one-round cell, or written after round 1 (failed, out of memory, skipped)
            _tick(bar, spec, r, n)
            rec = _one(run, spec, n, timeout_s, oom_at)
            if rec["status"] != "ok" or n == 1:
                partial.pop(spec.cell, None)
                finish(spec, rec)
                continue
            partial.setdefault(spec.cell, []).append(rec)
            if r == n - 1:
                finish(spec, merge(partial.pop(spec.cell)))


def _warm_rounds(window, rounds: int, run, finish, bar, oom_at: dict) -> None:
    """The cells of `window` opened once each (round 1, in order, so an OOM still skips larger batches),
    then round r of every cell before round r + 1; each written when its last round ends."""
    live: dict[str, WarmCell] = {}
    try:
        for r in range(rounds):
            for spec in window:
                n = cell_rounds(spec, rounds)
                if r >= n or (r > 0 and spec.cell not in live):
                    continue
                _tick(bar, spec, r, n)
                if n == 1 or r == 0:
                    opened = _one(run, spec, 1, None, oom_at) if n == 1 else _open(spec, n, oom_at)
                    if isinstance(opened, dict):  # one-round cell, failed, out of memory or skipped
                        finish(spec, opened)
                        continue
                    live[spec.cell] = opened
                failed = live[spec.cell].time_round()
                if failed is not None or r == n - 1:
                    finish(spec, failed or live.pop(spec.cell).record())
                    live.pop(spec.cell, None)
    finally:
        for cell in live.values():
            cell.close()


def _open(spec: PerfCellSpec, rounds: int, oom_at: dict):
    limit = oom_at.get(spec.group)
    if limit is not None and spec.batch_size > limit:
        return base_record(spec, "skipped", f"batch_size {spec.batch_size} > {limit}, which ran out of memory")
    return WarmCell.open(spec, rounds)


def _tick(bar, spec: PerfCellSpec, r: int, n: int) -> None:
    bar.set_postfix_str(f"{spec.cell} ({r + 1}/{n})", refresh=False)
    bar.update(1)


def _one(run, spec: PerfCellSpec, rounds: int, timeout_s, oom_at: dict) -> dict:
    limit = oom_at.get(spec.group)
    if limit is not None and spec.batch_size > limit:
        return base_record(spec, "skipped", f"batch_size {spec.batch_size} > {limit}, which ran out of memory")
    return run(round_spec(spec, rounds), timeout_s)
