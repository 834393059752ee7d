"""`nlpbench eval RUN_DIR [KEY=VALUE ...]`: score a finished run's trained models again, no training.

The run's resolved suite (run.json `config`) is the starting point; overrides
may change the data (`tasks.0.dataset.files.test=new.tsv`, columns, metrics,
eval_splits, seed of the intervals) but not the tasks or models, whose trained
weights are in `RUN_DIR/checkpoints/`. Each model is rebuilt by
`nlpbench.quality.trained.load_trained` (vocabulary from the run's cache, no pretraining,
no training) and scored as a run scores it: same metrics, intervals, samples
and cell ids. The result is a new run folder `<suite>-eval-<stamp>-<sha>`
whose run.json and records name the source run (`source_run`); an eval that
fails removes it (an interrupted one keeps it, run.json `interrupted`). Records carry
the source record's training figures (`train_s`, `train_examples_per_s`,
`init`, ...) since they describe the model scored; `eval_only: true` says no
training happened here.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import shutil
import time
from pathlib import Path

import torch

from nlpbench import env
from nlpbench.adapter import n_params
from nlpbench.errors import BadInput, clip, missing, shown
from nlpbench.registry import get_adapter
from nlpbench.store.copy import is_regular
from nlpbench.store.lock import as_read, status_note
from nlpbench.store.records import quality_record, utc_now
from nlpbench.store.results import RecordStore, new_run_dir, read_records
from nlpbench.suite.overrides import apply_overrides
from nlpbench.suite.schema import adapter_config, train_config, validate
from nlpbench.tasks import get_task

FROM_SOURCE = ("init", "checkpoint_sha256", "train_s", "train_examples_per_s", "setup_s")


def open_source(run_dir: Path) -> dict:
    """run.json of a run folder that has checkpoints; BadInput otherwise."""
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        if "symlink loop" in missing(run_dir):
            raise BadInput(f"eval: {missing(run_dir)}")
        raise BadInput(f"eval: {run_dir} is not a run folder (no run.json)")
    if not is_regular(run_dir / "run.json"):  # a folder from elsewhere is data: no link in it is followed
        raise BadInput(f"eval: {run_dir}/run.json is a link, not a file; a run folder is read as regular files only")
    if not any((run_dir / "checkpoints").glob("*.pt")):
        raise BadInput(f"eval: {run_dir} has no checkpoints/*.pt (a run saves them when it trains with a validation split)")
    try:
        meta = json.loads((run_dir / "run.json").read_bytes())
    except (ValueError, RecursionError) as e:  # not JSON, not UTF-8, or nested past the parser's stack
        raise BadInput(f"eval: {run_dir}/run.json is not a run.json ({type(e).__name__}: {clip(str(e), 100)})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise BadInput(f"eval: {run_dir}/run.json holds no resolved suite ('config')")
    from nlpbench.context import log

    meta = as_read(meta, run_dir)  # `running` with no live writer: interrupted, as report and --resume read it
    note = status_note(meta)
    if note:
        log(f"eval: source run {run_dir}: {note}")
    return meta


def model_key(m) -> tuple:
    return (m.get("adapter"), m.get("name"), json.dumps(m.get("params", {}), sort_keys=True)) if isinstance(m, dict) else (m,)


def mismatches(before: dict, after: dict) -> list[str]:
    """Overrides that would change what was trained: a task's kind or name, or its models."""
    problems = []
    old, new = before.get("tasks") or [], after.get("tasks") or []
    if len(old) != len(new):
        return [f"tasks: the run has {len(old)} task(s); eval can't add or remove tasks (use --tasks to pick)"]
    for i, (a, b) in enumerate(zip(old, new)):
        for key in ("task", "name"):
            if a.get(key) != b.get(key):
                problems.append(f"tasks.{i}.{key}: the run trained {shown(a.get(key))}; eval can't change it (given {shown(b.get(key))})")
        if [model_key(m) for m in a.get("models", [])] != [model_key(m) for m in b.get("models", [])]:
            problems.append(f"tasks.{i}.models: eval scores the models the run trained; their adapter, name and params "
                            f"can't change (use --models to pick)")  # fmt: skip
    return problems


def source_records(run_dir: Path) -> dict:
    """(task kind, model label) -> one ok quality record of the source run."""
    out = {}
    for r in read_records(run_dir):
        if r.get("kind") == "quality" and r.get("status") == "ok":
            out.setdefault((r.get("task"), r.get("name") or r.get("model")), r)
    return out


def eval_run(run_dir, overrides=(), **kw) -> int:
    """`nlpbench eval`: the exit code; see `eval_suite`."""
    return eval_suite(run_dir, overrides, **kw)[1]


def eval_suite(run_dir, overrides=(), *, out=None, data_dir=None, progress=False, argv=(), tasks=None,
               models=None) -> tuple[Path, int]:  # fmt: skip
    """Scores a finished run's saved models again in a new run folder; (that folder, the exit code)."""
    from nlpbench.context import Context, log, run_log
    from nlpbench.data import load_all_data
    from nlpbench.report.write import report_and_summary
    from nlpbench.store.run_json import finish_run_json, write_run_json
    from nlpbench.suite.selection import select

    run_dir = Path(run_dir)
    meta = open_source(run_dir)
    before = meta["config"]
    raw = apply_overrides(copy.deepcopy(before), list(overrides))
    problems = mismatches(before, raw)
    if problems:
        raise BadInput(problems)
    raw = {**raw, "perf": None}  # eval scores quality only
    explicit = bool(models)
    ran = meta.get("selection") or {}  # default: what the source run was asked to run
    tasks, models = tasks or ran.get("tasks"), models or ran.get("models")
    suite = validate(select(raw, tasks, models), data_dir=data_dir)
    if suite.seeds:
        raise BadInput(f"eval: {run_dir} trained each model once per seed {suite.seeds}; eval re-scores single-seed "
                       "runs (rerun it with seeds=null, or score one seed's checkpoint with a single-seed run)")
    data = load_all_data(suite, data_dir)
    units = plan(run_dir, suite, explicit=explicit)
    device = env.resolve_device(suite.device)
    if suite.threads:
        torch.set_num_threads(suite.threads)
    new_dir = new_run_dir(f"{suite.name}-eval", out)
    ctx = Context(suite, new_dir, device, suite.dtype, suite.seed, progress, RecordStore(new_dir), data_dir=data_dir)
    try:
        write_run_json(ctx, list(argv), {"command": "eval", "source_run": str(run_dir.resolve())}, data)
        with run_log(new_dir):
            log(f"run folder: {new_dir} (eval of {run_dir}; no training)")
            sources = source_records(run_dir)
            by_label = {t.label: (t, td) for t, td in zip(suite.tasks, data)}
            for task_label, model in units:
                task, td = by_label[task_label]
                for rec in score_model(run_dir, task, model, td, ctx, sources.get((task.task, model.label), {})):
                    ctx.store.append(quality_record(**rec))
            finish_run_json(ctx, "ok")
            report_and_summary(new_dir)
            if suite.log_to:  # the source run's sinks (bench/sinks)
                from nlpbench.sinks import send

                send(new_dir, suite.log_to)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError, ValueError):  # interrupted before run.json was written: nothing to mark
            finish_run_json(ctx, "interrupted")  # what was scored stays, marked
        raise
    except Exception:  # a failed eval leaves no folder: it has nothing to resume, and rerunning is cheap
        shutil.rmtree(new_dir, ignore_errors=True)
        raise
    return new_dir, 0


def plan(run_dir: Path, suite, explicit: bool) -> list[tuple]:
    """(task label, model spec) of each selected model with a checkpoint; BadInput when none (or a named one) has one."""
    from nlpbench.context import log
    from nlpbench.quality.trained import checkpoint_path, first_seed

    units, missing = [], []
    for task in suite.tasks:
        for m in task.models:
            if checkpoint_path(run_dir, task.label, m.label, first_seed(suite)).is_file():
                units.append((task.label, m))
            else:
                missing.append(f"{task.label}/{m.label}")
    if missing and (explicit or not units):
        raise BadInput(f"eval: {run_dir} has no checkpoint for {', '.join(missing)}")
    for name in missing:
        log(f"eval: no checkpoint for {name} in {run_dir}; skipped")
    return units


def score_model(run_dir: Path, task, model, td, ctx, source: dict) -> list[dict]:
    """Records for one trained model: one per evaluation split, shaped as a run's."""
    from nlpbench.context import log
    from nlpbench.quality.ids import cell_id
    from nlpbench.quality.score import eval_splits, evaluate_split
    from nlpbench.quality.trained import first_seed, load_trained

    log(f"[{task.label}] scoring {model.label} ({model.adapter}) from {run_dir.name}, no training")
    started, t0 = utc_now(), time.perf_counter()
    adapter = load_trained(run_dir, task, model, td, ctx.device, dtype=ctx.dtype, seed=ctx.seed,
                           cache_dir=ctx.run_dir / "cache", progress=ctx.progress,
                           seed_tag=first_seed(ctx.suite))  # fmt: skip
    restore_s = time.perf_counter() - t0
    cls = get_adapter(model.adapter)
    tcfg = train_config(cls, model.train)
    splits = eval_splits(task, td)
    encoded = {s: adapter.encode(td.splits[s]) for s in splits}
    names = task.metrics or list(get_task(task.task).default_metrics)
    common = {
        "params": dataclasses.asdict(adapter_config(cls, model.params)),
        "train": tcfg.model_dump(), "n_params": n_params(adapter.model), "init": getattr(adapter, "init", "random"),
        **{k: source[k] for k in FROM_SOURCE if k in source},
        "restore_s": round(restore_s, 3), "eval_only": True, "source_run": str(run_dir.resolve()),
    }  # fmt: skip
    out = []
    for s in splits:
        cell = cell_id(task.label, model.label, s)
        rec = evaluate_split(adapter, task, td, encoded, s, names, tcfg, ctx, cell)
        base = ctx.common(task.task, td.dataset, model, s, "quality")
        out.append({**base, "status": "ok", "started_at": started, "wall_s": round(time.perf_counter() - t0, 3),
                    "cell": cell, **rec, **common})  # fmt: skip
    return out
