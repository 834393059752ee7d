"""`nlpbench ab SUITE --base REV [--head REV]`: a suite's perf cells for two revisions, side by side.

Two runs of the same code on one machine, minutes apart, differ by more than
most real changes (issue 21: A/A ratios off by up to 14%, every cell at once),
because the machine's speed moves. So both revisions run in one job, each in
its own worker process importing that revision's code (nlpbench.ab.worker,
from a git worktree per side: nlpbench.ab.sides), both warm and alive, and the
turn passes every few iterations (about `TURN_S` of work per turn, at least one
iteration), in ABBA order so neither side is always first after a switch. A
cell goes on until each side has `perf.min_iters` samples and
`perf.min_seconds` of timed work, in `LEGS` legs: each leg opens the cell afresh
(a new model) on one of `PAIRS` worker pairs in turn, because one process's or
one build's luck (where its memory landed) can move a cell by 10-70% for as
long as it lives — A/A runs with one worker per side flagged such cells with
tight intervals. A pair's later legs warm up with one step (it built the shape
before). The verdict (nlpbench.ab.verdict) pools each side's legs. A cell whose
verdict is `inconclusive` (its interval straddles the tolerance) gets more legs,
`LEGS` at a time (so ABBA and BAAB stay balanced), until it decides or the next
group would pass `max_extra_s` (`--max-extra-seconds`); each row says how many
legs and seconds it took (`legs`, `seconds`, `extra_seconds`). The run folder holds run.json, each side's records
(`base/records.jsonl`, `head/records.jsonl`, written as each cell ends), the
ratio table (`ab.csv`, `ab.md`), `ab.json` and `plots/ab.png`.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

import torch

from nlpbench.ab.client import Worker, WorkerError
from nlpbench.ab.sides import Side, sides
from nlpbench.ab.verdict import INCONCLUSIVE, TOLERANCE, exit_code, judge, loud_line, summary, write_outputs
from nlpbench.env import machine, resolve_device
from nlpbench.errors import BadInput
from nlpbench.metrics.stats import compact
from nlpbench.perf.cell import PerfCellSpec, tokens_per_row
from nlpbench.perf.plan import perf_models
from nlpbench.perf.timing import timing_fields
from nlpbench.perf.trackers import Latency
from nlpbench.store.records import failed_record, perf_record, utc_now
from nlpbench.store.results import RecordStore, new_run_dir, write_json
from nlpbench.tasks import get_task

TURN_S = 0.02  # seconds of work per turn: the turn passes every few iterations (many ABBA blocks per cell)
LEGS = 4  # a cell is opened afresh this many times per side, alternating between the worker pairs
PAIRS = 2  # worker processes per side: one process's luck (memory placement) must not decide a verdict
MAX_EXTRA_S = 30.0  # default cap on an inconclusive cell's extra sampling (seconds of wall time per cell)
INTERIM_BOOT = 500  # bootstrap resamples of the checks between groups of extra legs
MAX_TURN_ITERS = 64  # sub-millisecond cells: still a switch at least every 64 iterations
OPEN_KEYS = ("cell", "adapter", "params", "task", "num_labels", "mode", "batch_size", "seq_len", "dtype",
             "max_new_tokens", "device", "seed", "warmup")  # fmt: skip


def ab_specs(suite, data, quality: bool = False) -> list[PerfCellSpec]:
    """The suite's perf grid (compile off) with the models' params as the suite gives them: each side
    fills in its own adapter defaults. No cells without a perf section when `quality` (ab --quality alone)."""
    p = suite.perf
    if p is None and quality:
        return []
    if p is None:
        raise BadInput(f"ab: suite '{suite.name}' has no perf section: ab compares perf cells (and with --quality "
                       "its quality cells)")
    if False not in p.compiles:
        raise BadInput("ab: perf.compile: allowed false (ab times eager cells); given true")
    device = resolve_device(suite.device).type
    specs = []
    for model, name, task, num_labels, _ in perf_models(suite, data):
        for mode in p.modes:
            if mode == "generate" and not get_task(task).generates:
                continue
            batch_sizes, seq_lens = p.grid(mode)
            specs += [PerfCellSpec.make(adapter=model.adapter, name=name, params=dict(model.params), task=task,
                                        num_labels=num_labels, mode=mode, batch_size=b, seq_len=s, dtype=dtype,
                                        warmup=p.warmup, min_iters=p.min_iters, min_seconds=p.min_seconds,
                                        max_new_tokens=p.max_new_tokens, device=device, seed=suite.seed)
                      for dtype in p.dtypes for s in seq_lens for b in batch_sizes]  # fmt: skip
    return specs


def turn_iters(step_ms: list[float]) -> int:
    """Iterations per turn from the slower side's last warm-up step: about TURN_S of work, at least one."""
    return max(1, min(MAX_TURN_ITERS, math.ceil(TURN_S * 1e3 / max(max(step_ms, default=1.0), 1e-3))))


def alternate(spec: PerfCellSpec, pairs: list[list[Worker]], legs: int = LEGS, decided=None,
              max_extra_s: float = 0.0, clock=time.perf_counter) -> list[dict]:  # fmt: skip
    """The cell in `legs` legs, leg l on worker pair l mod len(pairs): both sides open it (a fresh model),
    time it in ABBA blocks for 1/legs of `min_iters` and `min_seconds`, close it. [base record, head record],
    each with every sample (`_samples_ms`), the cell's ABBA blocks (`_blocks`: [(base, head) samples]) and
    `_legs`, `_extra_s`. `decided(records) -> bool`: when false after the legs, `legs` more at a time, as long
    as the next group (as long as the last one took) ends within `max_extra_s` of the first extra leg; a group
    that runs past it stops after the leg that did (the machine slowed: a 30 s cap once took 106 s)."""
    started, t0 = utc_now(), clock()
    per_leg = dataclasses.replace(spec, min_iters=math.ceil(spec.min_iters / legs), min_seconds=spec.min_seconds / legs)
    opened: list = [None, None]
    failed: list = [None, None]
    blocks: list[tuple[list[float], list[float]]] = []
    leg, extra_t0, group_s, capped = 0, None, 0.0, False
    while True:
        g0 = clock()
        for leg in range(leg, leg + legs):
            workers = pairs[leg % len(pairs)]
            warm = per_leg if leg < len(pairs) else dataclasses.replace(per_leg, warmup=1)  # this pair warmed it before
            first = (leg // len(pairs)) % 2  # each pair's later legs mirrored: head opens first, BAAB (see _leg)
            leg_blocks, opened, failed = _leg(warm, workers, first)
            if any(failed):
                break
            blocks += leg_blocks
            if extra_t0 is not None and clock() - extra_t0 >= max_extra_s:
                capped = True  # also mid-group: a machine that slowed down (a shared VM) must not overrun the cap
                break
        leg, now = leg + 1, clock()
        group_s, extra_t0 = now - g0, now if extra_t0 is None else extra_t0
        recs = _records(spec, blocks, opened, failed, started, now - t0)
        if any(failed) or capped or decided is None or decided(recs) or now - extra_t0 + group_s > max_extra_s:
            break
    extra = now - extra_t0
    return [{**r, "_legs": leg, "_extra_s": extra} for r in recs]


def _records(spec, blocks, opened, failed, started, wall) -> list[dict]:
    """[base, head] records from the blocks so far (each with `_blocks`)."""
    recs = []
    for i, side in enumerate(("base", "head")):
        rec = _record(spec, side, [x for b in blocks for x in b[i]], opened[i], failed, i, started, wall)
        recs.append({**rec, "_blocks": blocks})
    return recs


def _leg(spec: PerfCellSpec, workers: list[Worker], first: int = 0) -> tuple[list, list, list]:
    """One leg on one worker pair: (its ABBA blocks, open answers, failures). `first`: the side (0 base,
    1 head) that opens first and times first in each block (ABBA, or BAAB when 1). Half the legs are
    mirrored because with one order only, A/A runs read head faster than base (median ratio 0.973-1.004,
    0.985 typical, over 14 runs): one order is not neutral (e.g. the side opened first starts its first turn
    cold, after the other's warm-up)."""
    msg = {"op": "open", **{k: getattr(spec, k) for k in OPEN_KEYS}}
    opened, failed = [None, None], [None, None]
    for i in (first, 1 - first):
        try:
            opened[i] = workers[i].ask(msg)
        except WorkerError as e:
            failed[i] = e
    blocks: list[tuple[list[float], list[float]]] = []
    if not any(failed):
        k = turn_iters([a["warm_ms"][-1] for a in opened])
        try:
            while not all(len(s) >= spec.min_iters and sum(s) / 1e3 >= spec.min_seconds
                          for s in ([x for b in blocks for x in b[i]] for i in (0, 1))):  # fmt: skip
                block: tuple[list[float], list[float]] = ([], [])
                for i in (first, 1 - first, 1 - first, first):  # ABBA: each side after a switch as often as the other
                    block[i].extend(workers[i].ask({"op": "time", "cell": spec.cell, "iters": k})["samples_ms"])
                blocks.append(block)
        except WorkerError as e:
            failed[i] = e
    for w, a in zip(workers, opened):
        if a is not None and w.alive():
            _close(w, spec.cell)
    return blocks, opened, failed


def _close(worker: Worker, cell: str) -> None:
    try:
        worker.ask({"op": "close", "cell": cell})
    except WorkerError:
        pass  # a dead worker starts again for the next cell


def _record(spec: PerfCellSpec, side: str, samples, opened, failed, i: int, started: str, wall: float) -> dict:
    common = {"suite": None, "task": spec.task, "dataset": "synthetic-ids", "model": spec.adapter, "name": spec.name,
              "params": spec.params, "device": spec.device, "dtype": spec.dtype, "seed": spec.seed, "mode": spec.mode,
              "batch_size": spec.batch_size, "seq_len": spec.seq_len, "compile": False, "launcher": "ab", "side": side,
              "started_at": started, "wall_s": wall}  # fmt: skip
    mine, other = failed[i], failed[1 - i]
    if mine is not None:
        return failed_record("perf", spec.cell, "oom" if mine.oom else "error", str(mine), **common)
    if other is not None:
        return failed_record("perf", spec.cell, "skipped", f"not timed: the other side failed ({other})", **common)
    lat = Latency.from_samples(samples)
    fields = timing_fields(spec.batch_size, tokens_per_row(spec), lat, None, spec.max_new_tokens, None, None)
    rec = perf_record(cell=spec.cell, **common, **fields, latency_samples_ms=compact(samples),
                      timed_s=sum(samples) / 1e3, n_params=opened["n_params"], tokens_per_sample=tokens_per_row(spec))
    return {**rec, "_samples_ms": samples}  # every sample for the verdict; the stored record keeps `compact`


def run_ab(suite_arg: str, base: str, head: str | None = None, overrides=(), out: Path | None = None,
           tolerance: float = TOLERANCE, json_path: Path | None = None, data_dir: str | None = None,
           models=None, tasks=None, argv=None, quality: bool = False, quality_tolerances=None,
           max_extra_s: float = MAX_EXTRA_S, fail_on_inconclusive: bool = False) -> int:  # fmt: skip
    """Runs the comparison; 1 when a cell regressed (or failed on head), 3 when cells stayed inconclusive and
    `fail_on_inconclusive`, else 0 (nlpbench.ab.verdict.exit_code). `quality`: the suite's quality cells too,
    each side training with its own code (nlpbench.ab.quality), after the perf cells. `max_extra_s`: the cap
    on an inconclusive cell's extra sampling."""
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise BadInput(f"--tolerance: allowed a finite number >= 0; given {tolerance}")
    if not (math.isfinite(max_extra_s) and max_extra_s >= 0):
        raise BadInput(f"--max-extra-seconds: allowed a finite number >= 0; given {max_extra_s}")
    with sides(base, head) as pair, tempfile.TemporaryDirectory(prefix="nlpbench-ab-logs-") as logs:
        suite, specs = _grid(suite_arg, overrides, data_dir, models, tasks, quality)
        pairs = [[Worker(s.root, Path(logs) / f"{s.name}{j or ''}.log") for s in pair]
                 for j in range(PAIRS)] if specs else []  # fmt: skip  (--quality alone: no perf workers)
        workers = [w for p in pairs for w in p]
        for w in workers:
            w.spawn()  # all of them import torch at once
        run_dir = None
        try:
            run_dir = new_run_dir(f"ab-{suite.name}", out)
            rows = compare_sides(run_dir, pair, pairs, specs, suite, tolerance, argv, max_extra_s)
        finally:
            for w in workers:
                w.stop()
            if run_dir is not None:
                shutil.copytree(logs, run_dir / "logs")
        if not rows and not quality:
            raise BadInput("ab: nothing compared (the suite's perf grid is empty)")
        verdict = _quality(run_dir, pair, suite, (suite_arg, overrides, data_dir, models, tasks),
                           quality_tolerances or {}) if quality else None  # fmt: skip
    write_outputs(run_dir, rows, tolerance, json_path, verdict, fail_on_inconclusive)
    loud = loud_line(rows, tolerance, fail_on_inconclusive)
    print(f"{summary(rows)}\n{loud + chr(10) if loud else ''}run folder: {run_dir}")
    return exit_code(rows, fail_on_inconclusive, verdict is None or verdict[0]["ok"])


def _quality(run_dir: Path, pair, suite, args: tuple, tolerances: dict) -> tuple[dict, str]:
    """ab --quality: both sides' quality runs and the gate's verdict on them, printed; (JSON, Markdown)."""
    from nlpbench.ab.quality import compare_runs, run_sides

    runs = run_sides(run_dir, pair, suite, *args)
    verdict, md, text = compare_runs(runs, tolerances)
    print(text, flush=True)
    return verdict, md


def _grid(suite_arg: str, overrides, data_dir, models, tasks, quality: bool = False) -> tuple:
    from nlpbench.data import load_all_data
    from nlpbench.suite.selection import load_selected

    _, suite = load_selected(suite_arg, list(overrides), data_dir, tasks=tasks, models=models)
    return suite, ab_specs(suite, load_all_data(suite, data_dir) if suite.tasks else [], quality)


def compare_sides(run_dir: Path, pair: tuple[Side, Side], pairs: list[list[Worker]], specs, suite,
                  tolerance: float, argv, max_extra_s: float = MAX_EXTRA_S) -> list[dict]:  # fmt: skip
    info = {"command": "ab", "suite": suite.name, "argv": argv, "tolerance": tolerance, "max_extra_s": max_extra_s,
            "started_at": utc_now(),
            "machine": machine(resolve_device(suite.device)), "status": "running"}  # fmt: skip
    stores = {s.name: RecordStore(_mkdir(run_dir / s.name)) for s in pair}
    rows: list[dict] = []
    try:
        info["threads"] = suite.threads or torch.get_num_threads()  # the suite's, as its perf cells run
        info.update({s.name: s.as_json() for s in pair})  # also with no perf workers (--quality alone)
        for workers in pairs:
            for s, w in zip(pair, workers):
                w.threads = info["threads"]  # kept: a worker that dies starts again with it
                info[s.name]["nlpbench"] = _hello(s, w)["nlpbench"]  # which code it imported
        write_json(run_dir / "run.json", info)
        for spec in specs:
            recs = alternate(spec, pairs, decided=partial(_decided, spec.cell, tolerance=tolerance),
                             max_extra_s=max_extra_s)  # fmt: skip
            for rec in recs:
                stores[rec["side"]].append({**{k: v for k, v in rec.items() if k[0] != "_"}, "suite": suite.name})
            rows.append({**judge(spec.cell, *recs, tolerance), "legs": recs[0]["_legs"],
                         "seconds": recs[0]["wall_s"], "extra_seconds": recs[0]["_extra_s"]})  # fmt: skip
            print(_line(rows[-1]), flush=True)
        info["status"] = "finished"
    except BaseException as e:
        info["status"] = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        raise
    finally:
        info["ended_at"] = utc_now()
        write_json(run_dir / "run.json", info)
        if info["status"] != "finished" and rows:
            write_outputs(run_dir, rows, tolerance)  # what finished is kept
    return rows


def _decided(cell: str, recs: list[dict], tolerance: float) -> bool:
    """Whether extra sampling may stop: the verdict on fewer resamples (a judge of a fast cell's tens of
    thousands of samples at 2000 resamples takes seconds, which the cap would spend on judging); the row
    written is judged in full, so a cell decided here by a hair can still read inconclusive there."""
    return judge(cell, *recs, tolerance, n_boot=INTERIM_BOOT)["verdict"] != INCONCLUSIVE


def _hello(side: Side, worker: Worker) -> dict:
    try:
        return worker.start()
    except WorkerError as e:  # e.g. a revision older than the `nlpbench` import name: nothing to compare
        raise BadInput(f"ab: the {side.name} worker ({side.rev or 'working tree'}) could not start: {e}") from None


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _line(row: dict) -> str:
    if row["ratio"] is None:
        return f"{row['cell']}: {row['verdict']} ({row.get('error')})"
    lo, hi = row["ci99"]
    extra = f", {row['extra_seconds']:.1f} s of it extra" if row.get("extra_seconds") else ""
    return (f"{row['cell']}: base {row['base_p50_ms']:.3g} ms, head {row['head_p50_ms']:.3g} ms, "
            f"ratio {row['ratio']:.3f} [{lo:.3f}, {hi:.3f}] {row['verdict']} "
            f"({row['seconds']:.1f} s, {row['legs']} legs{extra})")  # fmt: skip

