"""Perf cells as jobs (nlpbench.launch.jobs): the sweep, its rounds, and where each cell runs.

- `inline`: in this process (fastest; the allocator and RSS carry over between cells);
- `process`: a fresh interpreter per cell (nlpbench.launch.process), optimum-benchmark's isolation;
- `torchrun`: `train_step` cells under DDP on `nproc` processes (nlpbench.launch.torchrun), others inline;
- `ray`: every cell a Ray task (nlpbench.launch.ray); Ray schedules the sweep.

A failed cell never ends the sweep: an out-of-memory cell is written as
`status: oom`, anything else as `status: error`, each with its message. After an
OOM, cells of the same group (task, model name, mode, seq_len, dtype, compile,
device) with a larger batch size are written `skipped` without being tried (the
queue's OOM chain). With `rounds` > 1 (inline and process) every cell is timed in
that many interleaved rounds (nlpbench.perf.rounds) and written when its last
round ends: inline, a cell is set up and warmed once and kept warm for its later
rounds; `process` pays a fresh interpreter per round. A cell may stop before its
last round once its median is precise, or get more rounds up to a time cap
(`perf.precision`, `perf.max_seconds`: nlpbench.perf.rounds.stop_reason). With a
`DriftProbe` (nlpbench.perf.noise) a fixed kernel is timed after every round and
each record's `noisy` is judged against the machine's drift over its lifetime.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterable
from functools import partial

import torch
from tqdm import tqdm

from nlpbench.errors import BadInput
from nlpbench.launch.executors import get_executor
from nlpbench.launch.jobs import Job, execute, inline
from nlpbench.perf.cell import PerfCellSpec, base_record, run_cell_safely
from nlpbench.perf.noise import DriftProbe, rejudge
from nlpbench.perf.rounds import WarmCell, cell_rounds, merge, round_spec, sampling, stop_reason, warm_windows

LAUNCHERS = ("inline", "process", "ray", "torchrun")


def pin_interop_threads() -> None:
    """One inter-op thread (torch's default is one per core): an idle pool of spinning inter-op threads
    competes with the intra-op threads doing the work. Possible only before any inter-op work started."""
    try:
        if torch.get_num_interop_threads() != 1:
            torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def cell_child(spec: dict) -> dict:
    """A cell in a child interpreter or a Ray task: {"records": [its record]}, tagged with where it ran."""
    from nlpbench.launch.ray import node_info

    rec = run_cell_safely(PerfCellSpec.from_json(json.dumps(spec)))
    rec["node"] = node_info(spec["device"])
    rec["device_name"] = rec["node"]["device_name"]
    return {"records": [rec]}


def adapter_imports(spec: PerfCellSpec) -> tuple[str, ...]:
    """The modules a child imports first: the spec's own and where its adapter was registered (plugins)."""
    from nlpbench.registry import adapters

    cls = adapters().get(spec.adapter)  # unknown here: the child writes the error record
    module = cls.__module__ if cls else "nlpbench.models"
    return spec.imports if module in spec.imports or module.startswith("nlpbench.models") else (*spec.imports, module)


def cell_job(spec: PerfCellSpec, launcher: str, timeout_s: float | None = None, run=None, **options) -> Job:
    """One cell as a job; `run` overrides how it runs here (torchrun: its ranks)."""

    def lost(status: str, why: str, started: str, wall_s: float) -> list[dict]:
        return [{**base_record(spec, status, why), "started_at": started, "wall_s": wall_s}]

    threads = spec.threads
    if launcher == "ray":
        threads = spec.threads or max(1, int(options.get("num_cpus") or 1))
        spec = dataclasses.replace(spec, threads=threads)
    child = {"entry": "nlpbench.launch.cells:cell_child", "spec": json.loads(spec.to_json()), "imports": list(adapter_imports(spec))}
    return Job(key=spec.cell, cells=(spec.cell,), run=lambda: [(run or run_cell_safely)(spec)], lost=lost, child=child,
               chain=spec.group, size=spec.batch_size, timeout_s=timeout_s, threads=threads,
               gpus=1 if spec.device == "cuda" else 0)  # fmt: skip


def executor_for(launcher: str, **options):
    if launcher not in LAUNCHERS:
        raise BadInput(f"perf.launcher: allowed {', '.join(LAUNCHERS)}; given '{launcher}'")
    if launcher == "inline":
        pin_interop_threads()
    if launcher == "ray":
        return get_executor("ray", address=options.get("address"))
    return get_executor("process") if launcher == "process" else inline


def sweep(specs: list[PerfCellSpec], launcher: str, write: Callable[[dict], None], done: Iterable[str] = frozenset(),
          progress: bool = True, timeout_s: float | None = None, rounds: int = 1, precision: float | None = None,
          max_seconds: float | None = None, drift: DriftProbe | None = None, **options) -> None:  # fmt: skip
    """Runs `specs` (skipping ids in `done`) with `launcher`; each record goes to `write` as its cell ends.

    `timeout_s` bounds one cell under `process`, `ray` and `torchrun` (None: no bound). `precision`,
    `max_seconds`: adaptive rounds (nlpbench.perf.rounds); `drift`: ticked after every job, and each record's
    `noisy` judged against it (nlpbench.perf.noise).
    `options`: the launcher's own settings (ray: `address`, `num_cpus`; torchrun: `nproc`)."""
    executor = executor_for(launcher, **options)
    done = set(done)
    todo = [s for s in specs if s.cell not in done]
    rounds = rounds if launcher in ("inline", "process") else 1
    bar = tqdm(total=sum(cell_rounds(s, rounds) for s in todo), desc="perf", unit="round", disable=not progress,
               leave=False)  # fmt: skip
    written: list[dict] = []

    if drift is not None:
        drift.tick()  # the machine before the first cell

    def on_records(job, records):
        if drift is not None:
            drift.after_job(job.cells)
        for rec in records:
            rec = rejudge(rec, drift)
            written.append(rec)
            write(rec)

    run = partial(_torchrun, nproc=options.get("nproc", 2), timeout_s=timeout_s) if launcher == "torchrun" else None
    try:
        if rounds == 1 or all(cell_rounds(s, rounds) == 1 for s in todo):
            jobs = [cell_job(s, launcher, timeout_s, run=run, **options) for s in todo]
            execute(jobs, executor, on_records, launcher=launcher, bar=bar)
        else:
            windows = warm_windows(todo) if launcher == "inline" else [todo]
            for window in windows:
                Rounds(window, rounds, launcher, timeout_s, precision, max_seconds).run(executor, on_records, bar)
    finally:
        bar.close()
    if launcher == "ray":
        nodes = {f"{r['node']['hostname']} ({r['node']['device_name']})" for r in written if r.get("node")}
        if len(nodes) > 1:
            print(f"nlpbench: ray ran cells on {len(nodes)} nodes: {'; '.join(sorted(nodes))} "
                  "(each record's `node` says which)", file=sys.stderr)  # fmt: skip


def _torchrun(spec: PerfCellSpec, nproc: int, timeout_s: float | None) -> dict:
    from nlpbench.launch.torchrun import run_torchrun

    return run_torchrun(spec, run_in_process, timeout_s, nproc)


class Rounds:
    """The cells of a window in rounds: round 1 of each (the OOM chain applies), then round 2 of those still
    alive, ...; a cell's record (its rounds merged) is written when its last round ends. Inline, each cell is
    a WarmCell set up once; in processes, each round is a fresh child and the rounds' records are merged."""

    def __init__(self, window: list[PerfCellSpec], rounds: int, launcher: str, timeout_s: float | None,
                 precision: float | None = None, max_seconds: float | None = None):  # fmt: skip
        self.window, self.rounds, self.launcher, self.timeout_s = window, rounds, launcher, timeout_s
        self.precision, self.max_seconds = precision, max_seconds
        self.live: dict[str, object] = {}  # cell -> WarmCell (inline) or its rounds' records so far (process)

    def run(self, executor, on_records, bar) -> None:
        """Round r of every cell still live, r = 0, 1, ... until each has stopped (`stop_reason`)."""
        try:
            r = 0
            while jobs := [self.job(s, r) for s in self.window if r == 0 or s.cell in self.live]:
                execute(jobs, executor, on_records, launcher=self.launcher, bar=bar)
                r += 1
        finally:
            for cell in self.live.values():
                if isinstance(cell, WarmCell):
                    cell.close()

    def job(self, spec: PerfCellSpec, r: int) -> Job:
        n = cell_rounds(spec, self.rounds)
        if n == 1:
            return cell_job(spec, self.launcher, self.timeout_s)
        job = cell_job(round_spec(spec, n, r), self.launcher, self.timeout_s)
        if self.launcher == "inline":
            job.run = partial(self.warm_round, spec, n)
        else:
            job.accept = lambda out: self.process_round(spec.cell, out["records"][0], n)
        if r > 0:
            job.chain = None  # opened in round 1: the OOM chain ruled then
        lost = job.lost

        def lost_round(*args, cell=spec.cell):  # a crashed or timed-out round ends the cell: no later rounds
            self.drop(cell)
            return lost(*args)

        job.lost = lost_round
        return job

    def stop(self, samples: list[float], done: int, n: int, timed_s: float) -> str | None:
        return stop_reason(samples, done, n, timed_s, self.precision, self.max_seconds)

    def stamped(self, rec: dict, samples: list[float], done: int, reason: str) -> list[dict]:
        return [{**rec, "sampling": sampling(samples, done, reason, self.precision, self.max_seconds)}]

    def drop(self, cell: str) -> None:
        gone = self.live.pop(cell, None)
        if isinstance(gone, WarmCell):
            gone.close()

    def warm_round(self, spec: PerfCellSpec, n: int) -> list[dict]:
        cell = self.live.get(spec.cell)
        if cell is None:
            cell = WarmCell.open(spec, n)
            if isinstance(cell, dict):  # building it failed (out of memory, error)
                return [cell]
            self.live[spec.cell] = cell
        failed = cell.time_round()
        if failed is not None:
            self.live.pop(spec.cell, None)
            return [failed]
        samples, done = cell.samples(), len(cell.parts)
        reason = self.stop(samples, done, n, cell.timed_s())
        return self.stamped(self.live.pop(spec.cell).record(), samples, done, reason) if reason else []

    def process_round(self, cell: str, rec: dict, n: int) -> list[dict]:
        if rec["status"] != "ok":
            self.live.pop(cell, None)
            return [rec]
        parts = self.live.setdefault(cell, [])
        parts.append(rec)
        samples = [x for p in parts for x in p.get("_samples_ms") or ()]
        reason = self.stop(samples, len(parts), n, sum(p.get("timed_s") or 0.0 for p in parts))
        return self.stamped(merge(self.live.pop(cell)), samples, len(parts), reason) if reason else []


def run_inline(spec: PerfCellSpec, timeout_s: float | None = None) -> dict:
    """One cell in this process (`timeout_s` is not enforced inline: nothing can stop a running step)."""
    return {**run_cell_safely(spec), "launcher": "inline"}


def run_in_process(spec: PerfCellSpec, timeout_s: float | None = None) -> dict:
    """One cell in a fresh interpreter; any way the child dies becomes its record."""
    out: list[dict] = []
    execute([cell_job(spec, "process", timeout_s)], get_executor("process"), lambda job, recs: out.extend(recs),
            launcher="process")  # fmt: skip
    return out[0]


def launcher_options(p) -> dict:
    """The suite's settings for its perf launcher (`sweep`'s `options`)."""
    if p.launcher == "ray":
        return {"address": p.ray_address, "num_cpus": p.num_cpus}
    return {"nproc": p.nproc} if p.launcher == "torchrun" else {}


def run_perf(ctx, data) -> list[str]:
    """The perf stage: the matmul probe (run.json), then the missing perf cells; returns labels of required
    models with a failed cell."""
    from nlpbench.context import log
    from nlpbench.perf.plan import perf_models, perf_specs
    from nlpbench.perf.probe import DEFAULT_DTYPE, ceiling_line, worker_peak
    from nlpbench.store.records import perf_record, utc_now
    from nlpbench.store.results import write_json

    # cached: inline cells at this dtype and thread count divide by this same probe instead of running another
    probe = worker_peak(ctx.device.type, DEFAULT_DTYPE[ctx.device.type], seconds=0.8)
    ctx.peak_gflops = probe.get("gflops")
    meta = json.loads((ctx.run_dir / "run.json").read_text())
    write_json(ctx.run_dir / "run.json", {**meta, "matmul_probe": probe})
    log(ceiling_line(probe))
    specs = perf_specs(ctx, data)
    by_id = {s.cell: s for s in specs}
    models = {name: m for m, name, *_ in perf_models(ctx.suite, data)}
    failed: set[str] = set()

    def write(rec: dict) -> None:
        spec = by_id[rec["cell"]]
        model = models[spec.name]
        base = ctx.common(spec.task, "synthetic-ids", model, None, "perf")
        base.update(name=spec.name, dtype=spec.dtype, compile=spec.compile, params=spec.params)
        rec = perf_record(**{**base, "started_at": rec.get("started_at") or utc_now(), **rec})
        ctx.store.append(rec)
        if rec.get("status") in ("error", "oom") and model.required:
            failed.add(model.label)

    p = ctx.suite.perf
    drift = DriftProbe(ctx.device.type) if p.launcher in ("inline", "process") else None
    sweep(specs, p.launcher, write, done=ctx.store.done(), progress=ctx.progress, rounds=p.rounds,
          precision=p.precision, max_seconds=p.max_seconds, drift=drift, **launcher_options(p))
    if drift is not None:
        summary = drift.summary()
        meta = json.loads((ctx.run_dir / "run.json").read_text())
        write_json(ctx.run_dir / "run.json", {**meta, "machine_drift": summary})
        log(summary["line"])
    return sorted(failed)
