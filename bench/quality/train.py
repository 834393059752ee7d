"""The training and evaluation loop every adapter shares.

Seeded; AdamW with gradient clipping and a schedule from `transformers`'
`get_scheduler`; length-bucketed batches (sort by length inside shuffled pools
of `pool` batches) so a batch holds sentences of similar length and CPU time
isn't spent on padding; validation every `eval_every` steps and at each epoch
end, keeping the best checkpoint on disk (re-loaded with `weights_only=True`);
a wall-clock budget `max_minutes`, a step budget `max_steps` or a FLOP budget `max_flops`
(the schedule then runs over the FLOPs spent); autocast on CUDA. Every step's training FLOPs are counted
(nlpbench.tune.budget.StepFlops: once per batch shape, on a copy of the model, RNG untouched) into
`FitResult.flops`. A loss that is not finite
stops training at once (`Diverged`): weights that took a NaN step are noise, and a
unit that scored them would be recorded `ok` at chance accuracy.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from nlpbench.context import log
from nlpbench.precision import autocast
from nlpbench.store import unit_status
from nlpbench.tune.budget import StepFlops


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_autocast(device: torch.device, dtype: str):
    """Training and evaluation autocast on CUDA only: the suite's `dtype` is a GPU setting, CPU numbers stay fp32
    (perf cells and deployment variants choose their precision per cell instead)."""
    return autocast(device, dtype if device.type == "cuda" else "fp32")


def bucketed_batches(lengths: list[int], batch_size: int, rng: np.random.Generator, pool: int) -> list[list[int]]:
    """Index batches: shuffle, sort by length within pools of `pool` batches, shuffle batch order."""
    order = rng.permutation(len(lengths))
    span = batch_size * pool
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def predict_all(adapter, examples: list[dict], batch_size: int, dtype: str = "fp32") -> list:
    """Predictions for `examples` in their original order (batched by sorted length)."""
    order = sorted(range(len(examples)), key=lambda i: examples[i]["length"])
    preds: list = [None] * len(examples)
    adapter.model.eval()
    device = next(adapter.model.parameters()).device
    with torch.inference_mode(), train_autocast(device, dtype):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            for i, p in zip(idx, adapter.predict(adapter.collate([examples[j] for j in idx]))):
                preds[i] = p
    return preds


def make_optimizer(model: torch.nn.Module, cfg, total_steps: int, elapsed: Callable[[], float] | None = None,
                   spent: Callable[[], float] | None = None):
    """AdamW and the learning-rate schedule `cfg` (lr, weight_decay, adam_beta2, schedule, warmup) asks for.

    With `cfg.clock_schedule` and `cfg.max_minutes`, the schedule advances by whichever is further, steps or
    the clock (`elapsed()` seconds), so a run the clock cuts short still ends its decay near lr 0. With
    `cfg.max_flops`, the schedule advances by the fraction of the FLOP budget `spent()`, over `total_steps`
    (the steps the budget is estimated to buy), so every trial's decay ends where its budget does."""
    from transformers import get_scheduler

    betas = (0.9, getattr(cfg, "adam_beta2", 0.999))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=betas)
    warm = cfg.warmup if cfg.warmup >= 1 else cfg.warmup * total_steps
    name = {"constant": "constant_with_warmup"}.get(cfg.schedule, cfg.schedule)
    sched = get_scheduler(name, opt, num_warmup_steps=int(warm), num_training_steps=total_steps)
    if getattr(cfg, "clock_schedule", False) and cfg.max_minutes and elapsed is not None:
        by_step, budget = sched.lr_lambdas[0], 60 * cfg.max_minutes
        sched.lr_lambdas[0] = lambda step: by_step(max(step, int(elapsed() / budget * total_steps)))
    if getattr(cfg, "max_flops", None) and spent is not None:
        by_step, flops = sched.lr_lambdas[0], cfg.max_flops
        sched.lr_lambdas[0] = lambda step: by_step(min(total_steps, int(spent() / flops * total_steps)))
    return opt, sched


def update(model: torch.nn.Module, loss: torch.Tensor, opt, sched, scaler, clip_norm: float | None) -> None:
    """One optimizer update after a forward pass: backward (scaled), clip, step, zero, schedule.
    The trainer and the perf `train_step` cell share it, so a timed step is a training step."""
    scaler.scale(loss).backward()
    if clip_norm:
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    scaler.step(opt)
    scaler.update()
    opt.zero_grad(set_to_none=True)
    sched.step()


class Diverged(ArithmeticError):
    """Training produced a non-finite loss at `step` (1-based); the unit ends with status `diverged`."""

    def __init__(self, step: int, loss: float):
        self.step, self.loss = step, loss
        super().__init__(f"training diverged: loss {loss} at step {step}")


@dataclass
class FitResult:
    train_s: float = 0.0  # wall time of fit, validation passes included
    eval_s: float = 0.0  # of which spent in validation passes
    examples: int = 0
    steps: int = 0
    epochs: float = 0.0
    best_score: float | None = None
    best_step: int = 0
    stopped: str = "epochs"  # epochs | time | patience | flops | pruned
    flops: int = 0  # training FLOPs spent (forward + backward of every step, as perf's train_step counts them)
    flops_complete: bool = True  # no matmul-like op went uncounted
    history: list[dict] = field(default_factory=list)  # one entry per validation pass

    @property
    def examples_per_s(self) -> float:
        """Training throughput, validation time excluded."""
        busy = self.train_s - self.eval_s
        return self.examples / busy if busy > 0 else 0.0


class _Fit:
    """State of one `fit` call; split in short methods so each step reads plainly."""

    def __init__(self, adapter, cfg, score_fn, ckpt: Path | None, dtype: str, progress: bool):
        self.adapter, self.cfg, self.score_fn, self.ckpt = adapter, cfg, score_fn, ckpt
        self.dtype, self.progress = dtype, progress
        self.device = next(adapter.model.parameters()).device
        self.result = FitResult()
        self.start = time.perf_counter()
        self.bad_evals = 0
        self.best_state = None
        self.total, self.per_epoch = 0, 1
        self.flops = StepFlops(adapter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def out_of_time(self) -> bool:
        return self.cfg.max_minutes is not None and self.elapsed() > 60 * self.cfg.max_minutes

    def optimizer(self, total_steps: int):
        return make_optimizer(self.adapter.model, self.cfg, total_steps, elapsed=self.elapsed,
                              spent=lambda: self.result.flops)

    def spent_budget(self, total: int) -> bool:
        """The step or FLOP budget is used up."""
        if self.cfg.max_flops:
            return self.result.flops >= self.cfg.max_flops
        return self.result.steps >= total

    def budget_steps(self, train: list[dict], lengths: list[int], seed: int) -> int:
        """The steps a FLOP budget buys, estimated from the first batch a fresh generator of the same seed
        draws (the trainer's own generator is not touched), so the schedule's warmup and decay span the budget."""
        first = bucketed_batches(lengths, self.cfg.batch_size, np.random.default_rng(seed), self.cfg.pool)[0]
        per_step = self.flops(self.adapter.collate([train[i] for i in first]))
        if not per_step:  # nothing counted: the budget would never run out
            raise ValueError("max_flops: this model's training step counts 0 FLOPs; use a steps or minutes budget")
        return max(1, math.ceil(self.cfg.max_flops / per_step))

    def evaluate(self, epoch: float) -> None:
        if self.score_fn is None:
            return
        t0 = time.perf_counter()
        score = float(self.score_fn())
        self.result.eval_s += time.perf_counter() - t0
        self.adapter.model.train()
        r = self.result
        r.history.append({"step": r.steps, "examples": r.examples, "epoch": round(epoch, 3),
                          "minutes": round(self.elapsed() / 60, 3), "score": score, "flops": r.flops})
        best = r.best_score is None or score > r.best_score
        if getattr(self.score_fn, "stop", False):  # a tune trial's pruner (nlpbench.tune.prune) says stop
            r.stopped = "pruned"
        if best:
            r.best_score, r.best_step, self.bad_evals = score, r.steps, 0
            self.save()
        else:
            self.bad_evals += 1
        h = r.history[-1]
        self.report(force=True)
        log(f"  step {h['step']} (epoch {h['epoch']:.2f}, {h['minutes']:.1f} min): validation {score:.4f}{'  best' if best else ''}")

    def report(self, force: bool = False) -> None:
        """The live status a parallel run's driver shows (nlpbench.store.unit_status; a no-op inline)."""
        r, elapsed = self.result, self.elapsed()
        unit_status.report(
            force, stage=self.adapter.name, step=r.steps, total=self.total, epoch=r.steps / self.per_epoch,
            score=r.history[-1]["score"] if r.history else None, elapsed_s=elapsed,
            eta_s=unit_status.eta_s(r.steps, self.total, elapsed, self.cfg.max_minutes),
        )  # fmt: skip

    def save(self) -> None:
        state = self.adapter.model.state_dict()
        if self.ckpt is None:
            self.best_state = {k: v.detach().clone() for k, v in state.items()}
            return
        self.ckpt.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.ckpt.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(self.ckpt)

    def restore_best(self) -> None:
        if self.result.best_score is None:
            return
        if self.ckpt is not None:
            state = torch.load(self.ckpt, map_location=self.device, weights_only=True)
        else:
            state = self.best_state
        self.adapter.model.load_state_dict(state)

    def step(self, batch_examples: list[dict], opt, sched, scaler) -> float:
        batch = self.adapter.collate(batch_examples)
        self.result.flops += self.flops(batch)
        with train_autocast(self.device, self.dtype):
            loss = self.adapter.loss(batch)
        update(self.adapter.model, loss, opt, sched, scaler, self.cfg.clip_norm)
        self.result.steps += 1
        self.result.examples += len(batch_examples)
        value = float(loss.detach())  # the step's one host sync, where it always was (timed throughput unchanged)
        if not math.isfinite(value):
            raise Diverged(self.result.steps, value)
        return value


def fit(
    adapter,
    train: list[dict],
    cfg,
    *,
    score_fn: Callable[[], float] | None = None,
    ckpt: Path | None = None,
    seed: int = 0,
    dtype: str = "fp32",
    progress: bool = True,
) -> FitResult:
    """Trains `adapter.model` on encoded `train` examples; returns timing and the validation curve.

    `score_fn()` scores the current model on validation (higher is better); the
    best-scoring weights are restored at the end. `adapter` needs only `model`, `collate`, `loss` and
    `name`: a pretraining objective runs through here as well (models/bert.py's MLM stage).
    """
    seed_everything(seed)
    f = _Fit(adapter, cfg, score_fn, ckpt, dtype, progress)
    rng = np.random.default_rng(seed)
    lengths = [e["length"] for e in train]
    per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = cfg.max_steps or max(1, math.ceil(per_epoch * cfg.epochs))
    if cfg.max_flops:
        total = f.budget_steps(train, lengths, seed)
    f.total, f.per_epoch = total, per_epoch
    opt, sched = f.optimizer(total)
    scaler = torch.amp.GradScaler(enabled=f.device.type == "cuda" and dtype == "fp16")
    adapter.model.train()
    bar = tqdm(total=total, desc=f"train {adapter.name}", disable=not progress, leave=False, unit="step")
    epoch = 0
    while (cfg.max_flops or f.result.steps < total) and f.result.stopped == "epochs":
        for batch in bucketed_batches(lengths, cfg.batch_size, rng, cfg.pool):
            loss = f.step([train[i] for i in batch], opt, sched, scaler)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            f.report()
            done = f.spent_budget(total)
            if f.out_of_time():
                f.result.stopped = "time"
            if f.result.stopped == "time" or done or (cfg.eval_every and f.result.steps % cfg.eval_every == 0):
                f.evaluate(f.result.steps / per_epoch)
            if cfg.patience and f.bad_evals >= cfg.patience:
                f.result.stopped = "patience"
            if done and cfg.max_flops and f.result.stopped == "epochs":
                f.result.stopped = "flops"
            if done or f.result.stopped != "epochs":
                break
        else:
            if not cfg.eval_every or f.result.steps % cfg.eval_every:
                f.evaluate(f.result.steps / per_epoch)  # epoch end
        epoch += 1
    bar.close()
    f.result.flops_complete = f.flops.complete
    f.result.train_s = f.elapsed()
    f.result.epochs = f.result.steps / per_epoch
    f.restore_best()
    return f.result
