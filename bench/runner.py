"""`nlpbench run`: expand a suite into cells, run the missing ones, keep every finished one.

Order: validate the suite and load every task's data first (so bad input
fails before anything is measured), then quality cells (train + score), then
serve cells (bench/serve: the trained models under MLPerf LoadGen), then the
perf sweep, then the report. Each finished cell is appended to
`records.jsonl` at once; `--resume RUN_DIR` skips cells already there;
Ctrl-C keeps what finished and exits 130.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench import env
from bench.config import Suite, load_suite
from bench.data import TaskData, load_task_data
from bench.errors import BadInput, is_oom
from bench.quality import cell_id, eval_splits, run_quality_unit, seed_tag
from bench.records import failed_record, quality_record, utc_now
from bench.results import RecordStore, new_run_dir, read_records, write_json


@dataclass
class Context:
    suite: Suite
    run_dir: Path
    device: torch.device
    dtype: str
    seed: int
    progress: bool
    store: RecordStore
    peak_gflops: float | None = None  # matmul probe, for perf cells' fraction of peak
    # (task label, model label) -> the adapter trained in this process (best weights restored), for the
    # work that follows training and must measure the same model: perf pairing, variants, serving.
    # Cells skipped by --resume are absent here (reload them from the run folder).
    trained: dict = field(default_factory=dict)

    def common(self, task: str, dataset: str, model, split: str | None, kind: str) -> dict:
        return {
            "kind": kind, "suite": self.suite.name, "task": task, "dataset": dataset, "split": split,
            "model": model.adapter, "name": model.label, "device": self.device.type,
            "device_name": env.device_name(self.device), "dtype": self.dtype, "seed": self.seed,
        }  # fmt: skip


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_all_data(suite: Suite, data_dir: str | None) -> list[TaskData]:
    problems, out = [], []
    for i, task in enumerate(suite.tasks):
        try:
            out.append(load_task_data(task, data_dir, suite.seed, at=f"tasks.{i}.dataset"))
        except BadInput as e:
            problems += e.problems
    if problems:
        raise BadInput(problems)
    return out


def open_run(suite: Suite, out: Path | None, resume: Path | None) -> Path:
    if resume is None:
        return new_run_dir(suite.name, out)
    resume = Path(resume)
    meta = resume / "run.json"
    if not meta.is_file():
        raise BadInput(f"--resume: {resume} is not a run folder (no run.json)")
    before, now = json.loads(meta.read_text()).get("config") or {}, suite.model_dump(mode="json")
    if before != now:
        keys = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        raise BadInput(f"--resume: the suite and overrides differ from the run being resumed in: {', '.join(keys)}")
    return resume


def write_run_json(ctx: Context, argv: list[str], extra: dict) -> None:
    path = ctx.run_dir / "run.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    sha, dirty = env.git_state()
    meta = {
        "suite": ctx.suite.name, "config": ctx.suite.model_dump(mode="json"), "seed": ctx.seed,
        "git_sha": sha, "git_dirty": dirty, "versions": env.versions(), "device": ctx.device.type,
        "machine": env.machine(ctx.device), "argv": argv,
        "started_at": old.get("started_at", utc_now()), "resumed_at": old.get("resumed_at", []),
        "ended_at": None, "status": "running",
    }  # fmt: skip
    if old:
        meta["resumed_at"] = [*meta["resumed_at"], utc_now()]
    meta.update(extra)
    write_json(path, meta)


def finish_run_json(ctx: Context, status: str) -> None:
    path = ctx.run_dir / "run.json"
    meta = json.loads(path.read_text())
    meta.update(ended_at=utc_now(), status=status)
    write_json(path, meta)


def run_quality(ctx: Context, data: list[TaskData]) -> list[str]:
    """Runs missing quality units (once per seed when the suite lists `seeds`); returns failed required models."""
    failed = []
    for seed in ctx.suite.seeds or [ctx.seed]:
        failed += run_quality_seed(dataclasses.replace(ctx, seed=seed), data)
    return list(dict.fromkeys(failed))


def run_quality_seed(ctx: Context, data: list[TaskData]) -> list[str]:
    failed = []
    done = ctx.store.done()
    for task, td in zip(ctx.suite.tasks, data):
        for model in task.models:
            ids = [cell_id(task.label, model.label, s, seed_tag(ctx)) for s in eval_splits(task, td)]
            if all(i in done for i in ids):
                continue
            at_seed = "" if seed_tag(ctx) is None else f", seed {ctx.seed}"
            log(f"[{task.label}] training {model.label} ({model.adapter}) on {td.dataset}{at_seed}")
            started, t0 = utc_now(), time.perf_counter()
            try:
                records = run_quality_unit(task, model, td, ctx)
            except (BadInput, KeyboardInterrupt):
                raise
            except Exception as e:  # one failed cell must not stop the suite
                status = "oom" if is_oom(e) else "error"  # the perf cells' rule
                log(f"[{task.label}] {model.label} failed: {type(e).__name__}: {e}")
                (ctx.run_dir / "errors.log").open("a").write(traceback.format_exc())
                msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                records = [{"cell": i, "split": s, "status": status, "error": msg} for i, s in zip(ids, eval_splits(task, td))]
                if model.required:
                    failed.append(model.label)
            wall = round(time.perf_counter() - t0, 3)
            for rec in records:
                base = ctx.common(task.task, td.dataset, model, rec["split"], "quality")
                fields = {**base, "started_at": started, "wall_s": wall, **rec}
                if fields.get("status", "ok") == "ok":
                    ctx.store.append(quality_record(**fields))
                else:
                    ctx.store.append(failed_record(**fields))
            if ctx.suite.variants != ["fp32"]:  # deployment variants of the model just trained
                from bench.variants.run import run_variants

                run_variants(ctx, task, model, td)
    return failed


def run(
    suite_arg: str,
    overrides: list[str] = (),
    *,
    out: Path | None = None,
    resume: Path | None = None,
    data_dir: str | None = None,
    progress: bool = True,
    argv: list[str] = (),
    tasks: list[str] | None = None,
    models: list[str] | None = None,
) -> int:
    from bench.select import load_selected, selection

    full, suite = load_selected(suite_arg, overrides, data_dir, tasks, models)  # run.json, --resume: the whole suite
    data = load_all_data(suite, data_dir)
    if suite.perf is not None:
        from bench.perf_plan import check_perf

        check_perf(suite, data)  # cells that can't be measured as labelled: exit 2 before training
    device = env.resolve_device(suite.device)
    if suite.threads:
        torch.set_num_threads(suite.threads)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BadInput("device: 'cuda' asked for but no CUDA device is available; allowed here: auto, cpu")
    run_dir = open_run(full, out, resume)
    ctx = Context(suite, run_dir, device, suite.dtype, suite.seed, progress, RecordStore(run_dir))
    write_run_json(ctx, list(argv), {"config": full.model_dump(mode="json"), "selection": selection(tasks, models)})
    log(f"run folder: {run_dir}")
    try:
        failed = run_quality(ctx, data)
        if suite.serve is not None:
            from bench.serve.cells import run_serve

            failed += run_serve(ctx, data)
        if suite.perf is not None:
            failed += run_perf(ctx, data)
    except KeyboardInterrupt:
        finish_run_json(ctx, "interrupted")
        log(f"interrupted: {len(read_records(run_dir))} finished cells kept in {run_dir}; "
            f"continue with: nlpbench run {suite_arg} --resume {run_dir}")  # fmt: skip
        return 130
    finish_run_json(ctx, "failed" if failed else "ok")
    report_and_summary(run_dir)
    if failed:
        log(f"required model(s) failed: {', '.join(failed)}")
        return 1
    return 0


def run_perf(ctx: Context, data: list[TaskData]) -> list[str]:
    from bench.perf import probe_peak_gflops
    from bench.perf_plan import run_perf_cells

    probe = probe_peak_gflops(ctx.device.type)
    ctx.peak_gflops = probe.get("gflops")
    meta = json.loads((ctx.run_dir / "run.json").read_text())
    write_json(ctx.run_dir / "run.json", {**meta, "matmul_probe": probe})
    log(f"matmul probe: {probe.get('gflops', 0):.1f} GFLOP/s peak ({probe.get('dtype')}, n={probe.get('n')})")
    return run_perf_cells(ctx, data)


def report_and_summary(run_dir: Path) -> None:
    from bench.report import summary_table, write_report

    path = write_report([run_dir])
    print(summary_table(read_records(run_dir)))
    log(f"report: {path}")
