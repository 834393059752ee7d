"""The runner's hook: after a model trains, build, score and time each deployment variant.

The run's variants stage (`run_stage`, after training), with the trained adapter in
`ctx.trained[(task label, model label)]` (best weights restored). For each
variant: build it (`nlpbench.variants.build`), score every evaluation split
through `predict_all` and the adapter's own `predict` inside the variant's
context, compare with fp32 on the same examples (`nlpbench.variants.paired`),
and time it at the reference shape (`nlpbench.variants.cost`). fp32 is re-scored
here (same code path, deterministic) only to pair with; its quality records are
the usual ones. A variant that cannot run gets records with status
`unsupported` and the reason; one that crashes, status `error`.
"""
from __future__ import annotations

import dataclasses
import gc
import time
import traceback
from functools import partial

import psutil

from nlpbench import variants as V
from nlpbench.adapter import checkpoint_fields
from nlpbench.errors import is_oom
from nlpbench.perf.trackers import release_cpu_memory
from nlpbench.quality.score import eval_splits, references, score
from nlpbench.quality.train import predict_all
from nlpbench.quality.trained import trained_adapter
from nlpbench.registry import get_adapter
from nlpbench.store.records import failed_record, perf_record, quality_record, utc_now
from nlpbench.suite.schema import train_config
from nlpbench.tasks import get_task
from nlpbench.variants.build import Unsupported, build_variant
from nlpbench.variants.cost import reference_batch, reference_mode, time_variant
from nlpbench.variants.paired import paired

MB = 2**20


def log(msg: str) -> None:
    from nlpbench.context import log as context_log  # one logger (console level, run.log)

    context_log(msg)


@dataclasses.dataclass
class Unit:
    """One trained model and what its variants are scored on."""

    ctx: object
    task: object
    model: object
    data: object
    adapter: object
    splits: list
    encoded: dict
    refs: dict
    fp32: dict  # split -> fp32 predictions
    batch_size: int

    def ids(self, variant: str) -> list[str]:
        quality = [] if variant == "fp32" else [V.variant_cell(self.task.label, self.model.label, variant, s)
                                                for s in self.splits]
        return quality + [self.perf_id(variant)]

    def perf_id(self, variant: str) -> str:
        vp = self.ctx.suite.variant_perf
        return V.variant_perf_cell(self.task.label, self.model.label, variant, reference_mode(self.task.task),
                                   vp.batch_size, vp.seq_len)

    def base(self, variant: str, split, kind: str) -> dict:
        rec = self.ctx.common(self.task.task, self.data.dataset if kind == "quality" else "synthetic-ids",
                              self.model, split, kind)
        rec.update(name=f"{self.model.label}@{variant}" if variant != "fp32" or kind == "perf" else self.model.label,
                   base_name=self.model.label, variant=variant, params=dataclasses.asdict(self.adapter.cfg),
                   **checkpoint_fields(self.adapter))  # the pretrained checkpoint the variant was built from
        return rec


def run_stage(ctx, data) -> list[str]:
    """The variants stage: one job per trained model (nlpbench.launch.jobs), run inline — it needs the
    model in memory — after every unit trained; each job appends its records as its variants finish."""
    from nlpbench.launch.jobs import Job, execute, inline

    c = ctx.with_seed((ctx.suite.seeds or [ctx.suite.seed])[0])  # the first seed's model is the one measured
    jobs = []
    for task, td in zip(ctx.suite.tasks, data):
        for model in task.models:
            ids = tuple(i for v in ctx.suite.variants for i in _ids(c, task, model, td, v))
            run = partial(_run_job, c, task, model, td)
            jobs.append(Job(key=f"variants/{task.label}/{model.label}", cells=ids, run=run, lost=_nothing_lost))
    execute(jobs, inline, lambda job, records: None, done=ctx.store.done())
    return []


def _run_job(ctx, task, model, data) -> list[dict]:
    run_variants(ctx, task, model, data)
    return []  # appended as each finished


def _nothing_lost(status: str, why: str, started: str, wall_s: float) -> list[dict]:
    return []  # inline only: a variant that fails writes its own `error`/`unsupported` records


def run_variants(ctx, task, model, data) -> None:
    """Every variant of the suite for this trained model, records appended as they finish."""
    done = ctx.store.done()
    todo = [v for v in ctx.suite.variants if any(i not in done for i in _ids(ctx, task, model, data, v))]
    if not todo:
        return
    adapter = trained_adapter(ctx, task, model, data)  # in memory, or rebuilt from its checkpoint after --resume
    if adapter is None:
        log(f"[{task.label}] variants of {model.label} skipped: no trained model (its training failed)")
        return
    unit = _unit(ctx, task, model, data, adapter)
    _import_backends(todo)  # before any RSS is read, so a library's import never counts as a model's memory
    ref_batch = reference_batch(adapter, ctx.suite.variant_perf, ctx.seed)
    for name in todo:
        log(f"[{task.label}] variant {model.label}@{name}")
        _one(unit, name, ref_batch)
        gc.collect()


def _import_backends(names: list[str]) -> None:
    if "onnx" in names:
        import onnxruntime  # noqa: F401
        import torch.onnx  # noqa: F401
    if "int8-dynamic" in names:
        import torchao.quantization  # noqa: F401


def _example(unit: "Unit") -> dict:
    """The 4 longest examples of the first evaluation split, collated: real input keys and lengths."""
    examples = sorted(unit.encoded[unit.splits[0]], key=lambda e: -e["length"])[:4]
    return unit.adapter.collate(examples)


def _ids(ctx, task, model, data, variant: str) -> list[str]:
    u = Unit(ctx, task, model, data, None, eval_splits(task, data), {}, {}, {}, 0)
    return u.ids(variant)


def _unit(ctx, task, model, data, adapter) -> Unit:
    splits = eval_splits(task, data)
    batch_size = train_config(get_adapter(model.adapter), model.train).eval_batch_size
    encoded = {s: adapter.encode(data.splits[s]) for s in splits}
    fp32 = {s: predict_all(adapter, encoded[s], batch_size, ctx.dtype) for s in splits}
    refs = {s: references(task.task, data.splits[s]) for s in splits}
    return Unit(ctx, task, model, data, adapter, splits, encoded, refs, fp32, batch_size)


def _rss() -> int:
    release_cpu_memory()
    return psutil.Process().memory_info().rss


def _one(unit: Unit, name: str, ref_batch: dict) -> None:
    started, t0 = utc_now(), time.perf_counter()
    artifact = unit.ctx.run_dir / "variants" / f"{unit.task.label}-{unit.model.label}.onnx"
    try:
        before = _rss()
        variant = build_variant(name, unit.adapter, artifact, _example(unit))
        built = {"size_mb": variant.size_bytes / MB if variant.size_bytes else None,
                 "model_rss_mb": max(0, _rss() - before) / MB, "build_s": round(variant.build_s, 3),
                 "variant_info": variant.info}
        if name != "fp32":
            _score(unit, variant, built, started)
        _time(unit, variant, built, ref_batch, started, t0)
    except Unsupported as e:
        _failed(unit, name, "unsupported", str(e), started, t0)
    except Exception as e:  # noqa: BLE001  (one variant failing must not stop the suite)
        (unit.ctx.run_dir / "errors.log").open("a").write(traceback.format_exc())
        status = "oom" if is_oom(e) else "error"
        _failed(unit, name, status, f"{type(e).__name__}: {' '.join(str(e).split())[:600]}", started, t0)


def _score(unit: Unit, variant, built: dict, started: str) -> None:
    names = unit.task.metrics or list(get_task(unit.task.task).default_metrics)
    records = []
    for split in unit.splits:
        t0 = time.perf_counter()
        with variant.context():
            preds = predict_all(variant.adapter, unit.encoded[split], unit.batch_size, unit.ctx.dtype)
        eval_s = time.perf_counter() - t0
        refs = unit.refs[split]
        rec = unit.base(variant.name, split, "quality")
        rec.update(
            cell=V.variant_cell(unit.task.label, unit.model.label, variant.name, split), status="ok",
            started_at=started, wall_s=round(eval_s, 3), metrics=score(unit.task.task, names, preds, refs, unit.ctx.seed),
            vs_fp32=paired(unit.task.task, unit.fp32[split], preds, refs, unit.ctx.seed),
            eval_examples_per_s=round(len(preds) / eval_s, 2) if eval_s else None, n_eval=len(preds),
            n_params=sum(p.numel() for p in unit.adapter.model.parameters()), init=getattr(unit.adapter, "init", "random"),
            samples=[{"pred": p, "ref": r} for p, r in list(zip(preds, refs))[:3]], **built,
        )  # fmt: skip
        records.append(rec)
    for rec in records:  # all splits scored before any is written, as the fp32 unit does
        unit.ctx.store.append(quality_record(**rec))


def _time(unit: Unit, variant, built: dict, ref_batch: dict, started: str, t0: float) -> None:
    rec = unit.base(variant.name, None, "perf")
    measured = time_variant(variant, ref_batch, unit.task.task, unit.ctx.suite.variant_perf)
    rec.update(cell=unit.perf_id(variant.name), status="ok", started_at=started,
               dtype=variant.name if variant.name in ("bf16", "fp16") else unit.ctx.dtype,
               compile=variant.name == "compile", quality_cells=_quality_cells(unit, variant.name),
               quality_cell=_quality_cells(unit, variant.name)[-1], **measured, **built,
               wall_s=round(time.perf_counter() - t0, 3))
    unit.ctx.store.append(perf_record(**rec))


def _quality_cells(unit: Unit, name: str) -> list[str]:
    return [V.variant_cell(unit.task.label, unit.model.label, name, s) for s in unit.splits]


def _failed(unit: Unit, name: str, status: str, reason: str, started: str, t0: float) -> None:
    log(f"[{unit.task.label}] {unit.model.label}@{name}: {status}: {reason}")
    wall = round(time.perf_counter() - t0, 3)
    done = unit.ctx.store.done()
    for cell in unit.ids(name):
        if cell in done:
            continue
        kind = "perf" if cell.startswith("perf/") else "quality"
        rec = unit.base(name, None if kind == "perf" else cell.rsplit("/", 1)[1], kind)
        rec.update(cell=cell, status=status, error=reason, started_at=started, wall_s=wall)
        if kind == "perf":
            rec.update(mode=reference_mode(unit.task.task), batch_size=unit.ctx.suite.variant_perf.batch_size,
                       seq_len=unit.ctx.suite.variant_perf.seq_len, quality_cell=_quality_cells(unit, name)[-1])
        unit.ctx.store.append(failed_record(**rec))
