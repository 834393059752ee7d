"""A quality cell: train one model on one task, then score it on each evaluation split.

One training produces one record per evaluated split (cell ids
`quality/<task>/<model>/<split>`, plus `/seed<k>` when the suite lists `seeds`: `nlpbench.quality.ids`),
all written when the training unit ends. Each split's per-example predictions go
to `RUN_DIR/predictions/` (see `nlpbench.quality.predictions`); every metric gets a 95%
interval `<metric>_ci95` (see `score`).
"""
from __future__ import annotations

import dataclasses
import time

import torch

from nlpbench import metrics
from nlpbench.adapter import TaskInfo, checkpoint_fields, n_params
from nlpbench.data.identity import data_sha256
from nlpbench.perf.pairing import trained_vocab_size
from nlpbench.quality import predictions, targets
from nlpbench.quality.ids import cell_id
from nlpbench.quality.train import FitResult, fit, predict_all, seed_everything
from nlpbench.quality.trained import checkpoint_path
from nlpbench.registry import get_adapter
from nlpbench.suite.schema import adapter_config, train_config
from nlpbench.tasks import get_task
from nlpbench.tune.budget import train_cost
from nlpbench.tune.prune import watch


def seed_tag(ctx) -> int | None:
    """The seed that goes into cell ids and file names: only when the suite lists `seeds`."""
    return ctx.seed if ctx.suite.seeds else None


def eval_splits(task, data) -> list[str]:
    wanted = task.eval_splits or ["validation", "test"]
    return [s for s in wanted if s in data.splits] or ["train"]  # train alone: score on train


def references(task: str, ds) -> list:
    return get_task(task).references(ds)


def score(task: str, names: list[str], preds: list, refs: list, seed: int) -> dict:
    """Metric values for one split, each with the 95% interval its entry declares (`<metric>_ci95`:
    Wilson for accuracy, sacreBLEU's own bootstrap for BLEU/chrF with its signature, a seeded bootstrap
    over examples for macro-F1; see `nlpbench.metrics`)."""
    out: dict = {}
    for name in names:
        out.update(metrics.compute(name, preds, refs))
        entry = metrics.get(name)
        if entry.interval:
            out.update(entry.interval(preds, refs, seed))
    return out


def run_quality_unit(task, model, data, ctx) -> list[dict]:
    """Trains `model` on `data` and returns one record per evaluation split (common keys added by the runner)."""
    cls = get_adapter(model.adapter)
    cfg, tcfg = adapter_config(cls, model.params), train_config(cls, model.train)
    info = TaskInfo(
        task=task.task, num_labels=data.num_labels, device=ctx.device, dtype=ctx.dtype,
        seed=ctx.seed, cache_dir=ctx.run_dir / "cache", progress=ctx.progress, trainer=fit,
    )  # fmt: skip
    seed_everything(ctx.seed)
    adapter = cls(cfg, info)
    t0 = time.perf_counter()
    adapter.setup(data.train)
    setup_s = time.perf_counter() - t0
    needed = {"train", *eval_splits(task, data)} | ({"validation"} & set(data.splits))  # validation picks the checkpoint
    if model.train is None:  # nothing trains: train is encoded only where it is scored
        needed = set(eval_splits(task, data))
    encoded = {s: adapter.encode(data.splits[s]) for s in needed}
    select = task.select_metric or get_task(task.task).select_metric
    val = encoded.get("validation")

    def score_fn() -> float:
        preds = predict_all(adapter, val, tcfg.eval_batch_size, ctx.dtype)
        refs = references(task.task, data.splits["validation"])
        return metrics.compute(select, preds, refs)[select]

    tag = seed_tag(ctx)
    ckpt = checkpoint_path(ctx.run_dir, task.label, model.label, tag)
    if model.train is None:  # `train: null`: the model is scored as set up (a checkpoint as published)
        result = FitResult(stopped="not trained")
    else:
        result = fit(
            adapter, encoded["train"], tcfg, score_fn=watch(score_fn if val else None, model, ctx.run_dir),
            ckpt=ckpt, seed=ctx.seed, dtype=ctx.dtype, progress=ctx.progress,
        )  # fmt: skip
    if not ckpt.exists():  # no validation split: keep the final weights, for the work that rebuilds this model
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        torch.save(adapter.model.state_dict(), ckpt)
    common = {
        "params": dataclasses.asdict(cfg),
        "train": tcfg.model_dump(),
        **({"eval_only": True} if model.train is None else {}),  # train: null: no step taken, the weights as loaded
        "n_params": n_params(adapter.model),
        "vocab_size": trained_vocab_size(adapter),  # the trained tokenizer's size: perf cells build with it
        "init": getattr(adapter, "init", "random"),
        **checkpoint_fields(adapter),  # checkpoint, checkpoint_sha256: the pretrained weights it started from
        "setup_s": round(setup_s, 3),
        "train_s": round(result.train_s, 3),
        "train_examples_per_s": round(result.examples_per_s, 2),
        "fit": {k: v for k, v in dataclasses.asdict(result).items() if k not in ("train_s",)},
        "stopped_by_clock": result.stopped == "time",
        **train_cost(result, ctx.device, ctx.dtype),  # FLOPs spent, GFLOP/s and its fraction of the probed peak
    }
    if task.targets:
        common["time_to_target"] = targets.time_to_target(result.history, task.targets, select)
    names = task.metrics or list(get_task(task.task).default_metrics)
    if tag is None or tag == ctx.suite.seeds[0]:  # with seeds: the first seed's model is the one later work measures
        ctx.trained[(task.label, model.label)] = adapter
    out = []
    for s in eval_splits(task, data):
        cell = cell_id(task.label, model.label, s, tag)
        rec = {"cell": cell, **evaluate_split(adapter, task, data, encoded, s, names, tcfg, ctx, cell), **common}
        rec["picks_checkpoint"] = rec["picks_checkpoint"] and model.train is not None  # eval-only: nothing was picked
        out.append(rec)
    return out


def evaluate_split(adapter, task, data, encoded: dict, split: str, names: list[str], tcfg, ctx, cell: str) -> dict:
    """Predictions on one split (kept in the run folder), its metrics, and how fast they came."""
    t0 = time.perf_counter()
    preds = predict_all(adapter, encoded[split], tcfg.eval_batch_size, ctx.dtype)
    eval_s = time.perf_counter() - t0
    refs = references(task.task, data.splits[split])
    probs = None
    if get_task(task.task).predicts_classes:  # a second, untimed pass: eval_examples_per_s stays predict's speed
        probs = predictions.probabilities(adapter, encoded[split], tcfg.eval_batch_size, data.num_labels, ctx.dtype)
    lines = predictions.rows(task.task, data.splits[split], preds, refs, probs)
    return {
        "split": split,
        "picks_checkpoint": split == "validation",  # the split that chose the weights: optimistic for this split
        "predictions": predictions.write(ctx.run_dir, cell, lines),
        "labels": data.label_names or None,
        "metrics": score(task.task, names, preds, refs, ctx.seed),
        "eval_examples_per_s": round(len(preds) / eval_s, 2) if eval_s else None,
        "n_eval": len(preds),
        "data_sha256": data_sha256(data.splits[split]),  # what was measured: the gate compares only equal data
        "samples": [{"pred": p, "ref": r} for p, r in list(zip(preds, refs))[:3]],
    }
