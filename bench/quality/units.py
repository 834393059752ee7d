"""Training units: one model trained on one task for one seed, then scored on each evaluation split.

A unit is what every quality launcher runs (inline in the driver, a process
pool, Ray tasks: nlpbench.launch.units); it ends as one record per
split (`nlpbench.quality.ids.cell_id`). `unit_records` is the one place a unit's
outcome becomes records, a failure included, so a cell's record has the same
shape whichever launcher ran it.

`plan` lists the units a run still needs, longest first by the suite's own
budgets: the clock caps (`train.max_minutes` plus a pretraining stage's
`max_minutes`), then the examples to process (epochs or steps times batch,
pretraining included). Starting the longest first keeps a pool's wall time
near its longest unit instead of ending on it.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

from nlpbench.errors import BadInput, is_oom
from nlpbench.quality.ids import cell_id, log_stem, unit_id
from nlpbench.quality.score import eval_splits, run_quality_unit
from nlpbench.quality.train import Diverged
from nlpbench.registry import get_adapter
from nlpbench.store.disk import is_disk_error
from nlpbench.store.records import failed_record, quality_record, utc_now
from nlpbench.suite.schema import train_config


@dataclass(frozen=True)
class Unit:
    task_index: int
    model_index: int
    seed: int
    seed_tag: int | None  # in cell ids and file names only when the suite lists `seeds`
    ids: tuple[str, ...]  # one cell per evaluation split
    splits: tuple[str, ...]
    label: str  # quality/<task>/<model>[/seed<k>]: progress lines, log file names

    @classmethod
    def from_json(cls, d: dict) -> Unit:
        """The unit from `dataclasses.asdict` after a JSON round trip (lists back to tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @property
    def file_stem(self) -> str:
        return log_stem(self.label)


def plan(suite, data, done: set[str]) -> list[Unit]:
    """Units with a cell not yet in `done`, longest first (ties keep the suite's order)."""
    units = []
    for seed in suite.seeds or [suite.seed]:
        tag = seed if suite.seeds else None
        for ti, (task, td) in enumerate(zip(suite.tasks, data)):
            for mi, model in enumerate(task.models):
                splits = tuple(eval_splits(task, td))
                ids = tuple(cell_id(task.label, model.label, s, tag) for s in splits)
                if all(i in done for i in ids):
                    continue
                units.append(Unit(ti, mi, seed, tag, ids, splits, unit_id(task.label, model.label, tag)))
    return sorted(units, key=lambda u: cost(suite, data, u), reverse=True)


def cost(suite, data, unit: Unit) -> tuple[float, float]:
    """(clock-cap minutes, examples processed) of a unit, from its budgets: what `plan` sorts by."""
    model = suite.tasks[unit.task_index].models[unit.model_index]
    tcfg = train_config(get_adapter(model.adapter), model.train)
    n_train = len(data[unit.task_index].train)
    examples = tcfg.max_steps * tcfg.batch_size if tcfg.max_steps else tcfg.epochs * n_train
    cap = tcfg.max_minutes or 0.0
    pre = model.params.get("pretrain") if isinstance(model.params.get("pretrain"), dict) else None
    if pre:
        cap += pre.get("max_minutes") or 0.0
        examples += (pre.get("steps") or 0) * (pre.get("batch_size") or 0)
    return float(cap), float(examples)


def unit_records(ctx, unit: Unit, data) -> tuple[list[dict], bool]:
    """Trains and scores one unit in this process: (its records, built through nlpbench.store.records; failed?).

    A failing unit becomes `error`/`oom` records (the traceback appended to `errors.log`); bad input, a full
    or read-only disk and Ctrl-C propagate."""
    task, td = ctx.suite.tasks[unit.task_index], data[unit.task_index]
    model = task.models[unit.model_index]
    started, t0 = utc_now(), time.perf_counter()
    failed = False
    try:
        results = run_quality_unit(task, model, td, ctx)
    except (BadInput, KeyboardInterrupt):
        raise
    except Diverged as e:  # not a crash: the suite's settings (lr, ...) make this model's loss blow up
        failed = True
        results = [{**r, "diverged_step": e.step, "diverged_loss": str(e.loss)} for r in failure(unit, "diverged", str(e))]
    except Exception as e:  # one failed cell must not stop the suite
        if is_disk_error(e):  # a full or read-only disk does: every later cell would fail the same way
            raise
        failed = True
        (ctx.run_dir / "errors.log").open("a").write(f"{unit.label}\n{traceback.format_exc()}")
        results = failure(unit, "oom" if is_oom(e) else "error", error_line(e))  # the perf cells' OOM rule
    wall_s = time.perf_counter() - t0
    return finish(ctx, unit, results, td.dataset, started, wall_s, **ctx.extra), failed


def error_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def failure(unit: Unit, status: str, message: str) -> list[dict]:
    """The partial records of a unit that ended without results (common keys added by `finish`)."""
    return [{"cell": i, "split": s, "status": status, "error": message} for i, s in zip(unit.ids, unit.splits)]


def finish(ctx, unit: Unit, results: list[dict], dataset: str, started: str, wall_s: float, **extra) -> list[dict]:
    """Complete, validated records: the run's common keys, timing and `extra` (launcher, node, log) added."""
    task = ctx.suite.tasks[unit.task_index]
    model = task.models[unit.model_index]
    out = []
    for rec in results:
        base = ctx.common(task.task, dataset, model, rec["split"], "quality")
        fields = {**base, "seed": unit.seed, "started_at": started, "wall_s": round(wall_s, 3), **extra, **rec}
        ok = fields.get("status", "ok") == "ok"
        out.append(quality_record(**fields) if ok else failed_record(**fields))
    return out
