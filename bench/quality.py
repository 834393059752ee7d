"""A quality cell: train one model on one task, then score it on each evaluation split.

One training produces one record per evaluated split (cell ids
`quality/<task>/<model>/<split>`), all written when the training unit ends.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from bench import metrics
from bench.adapter import TaskInfo, n_params
from bench.config import adapter_config, train_config
from bench.perf_pairing import trained_vocab_size
from bench.registry import get_adapter
from bench.tasks import get_task
from bench.train import fit, predict_all, seed_everything

def cell_id(task_label: str, model_label: str, split: str) -> str:
    return f"quality/{task_label}/{model_label}/{split}"


def eval_splits(task, data) -> list[str]:
    wanted = task.eval_splits or ["validation", "test"]
    return [s for s in wanted if s in data.splits] or ["train"]  # train alone: score on train


def references(task: str, ds) -> list:
    return get_task(task).references(ds)


def score(task: str, names: list[str], preds: list, refs: list, seed: int) -> dict:
    """Metric values for one split; accuracy also gets a 95% bootstrap interval."""
    out: dict = {}
    for name in names:
        out.update(metrics.compute(name, preds, refs))
        if name == "accuracy":
            correct = np.asarray(preds) == np.asarray(refs)
            out["accuracy_ci95"] = metrics.bootstrap_ci(correct, seed=seed)
    return out


def run_quality_unit(task, model, data, ctx) -> list[dict]:
    """Trains `model` on `data` and returns one record per evaluation split (common keys added by the runner)."""
    cls = get_adapter(model.adapter)
    cfg, tcfg = adapter_config(cls, model.params), train_config(cls, model.train)
    info = TaskInfo(
        task=task.task, num_labels=data.num_labels, device=ctx.device, dtype=ctx.dtype,
        seed=ctx.seed, cache_dir=ctx.run_dir / "cache", progress=ctx.progress,
    )  # fmt: skip
    seed_everything(ctx.seed)
    adapter = cls(cfg, info)
    t0 = time.perf_counter()
    adapter.setup(data.train)
    setup_s = time.perf_counter() - t0
    needed = {"train", *eval_splits(task, data)} | ({"validation"} & set(data.splits))  # validation picks the checkpoint
    encoded = {s: adapter.encode(data.splits[s]) for s in needed}
    select = task.select_metric or get_task(task.task).select_metric
    val = encoded.get("validation")

    def score_fn() -> float:
        preds = predict_all(adapter, val, tcfg.eval_batch_size, ctx.dtype)
        refs = references(task.task, data.splits["validation"])
        return metrics.compute(select, preds, refs)[select]

    ckpt = ctx.run_dir / "checkpoints" / f"{task.label}-{model.label}.pt"
    result = fit(
        adapter, encoded["train"], tcfg, score_fn=score_fn if val else None,
        ckpt=ckpt, seed=ctx.seed, dtype=ctx.dtype, progress=ctx.progress,
    )  # fmt: skip
    common = {
        "params": dataclasses.asdict(cfg),
        "train": tcfg.model_dump(),
        "n_params": n_params(adapter.model),
        "vocab_size": trained_vocab_size(adapter),  # the trained tokenizer's size: perf cells build with it
        "init": getattr(adapter, "init", "random"),
        **({"checkpoint_sha256": adapter.checkpoint_sha256} if getattr(adapter, "checkpoint_sha256", None) else {}),
        "setup_s": round(setup_s, 3),
        "train_s": round(result.train_s, 3),
        "train_examples_per_s": round(result.examples_per_s, 2),
        "fit": {k: v for k, v in dataclasses.asdict(result).items() if k not in ("train_s",)},
    }
    names = task.metrics or list(get_task(task.task).default_metrics)
    ctx.trained[(task.label, model.label)] = adapter
    return [
        {"cell": cell_id(task.label, model.label, s), **evaluate_split(adapter, task, data, encoded, s, names, tcfg, ctx), **common}
        for s in eval_splits(task, data)
    ]


def evaluate_split(adapter, task, data, encoded: dict, split: str, names: list[str], tcfg, ctx) -> dict:
    """Predictions on one split, its metrics, and how fast they came."""
    t0 = time.perf_counter()
    preds = predict_all(adapter, encoded[split], tcfg.eval_batch_size, ctx.dtype)
    eval_s = time.perf_counter() - t0
    refs = references(task.task, data.splits[split])
    return {
        "split": split,
        "metrics": score(task.task, names, preds, refs, ctx.seed),
        "eval_examples_per_s": round(len(preds) / eval_s, 2) if eval_s else None,
        "n_eval": len(preds),
        "samples": [{"pred": p, "ref": r} for p, r in list(zip(preds, refs))[:3]],
    }
