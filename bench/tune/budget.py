"""Training budgets: FLOPs spent by a training loop, counted as the perf cells count them, and a trial's budget.

`StepFlops` counts one training step (forward, loss, backward; the optimizer's elementwise update is not
counted, as in perf's `train_step` cells) with `nlpbench.perf.flops.track_flops` on a private copy of the
model, once per batch shape (the tensors' shapes decide every matmul's size), under `torch.random.fork_rng`:
the real model, its gradients and every RNG stream are untouched, so counting never changes what a run
trains — the quick suite stays bit-identical — and the count is exact and machine-independent.

A trial's budget (`tune.budget`) is one of `{flops: X}` (the default kind), `{steps: N}` or
`{minutes: M}`; `train_overrides` turns it into the `train:` keys the shared trainer reads
(`max_flops`, `max_steps`, `max_minutes` + `clock_schedule`), with `epochs` lifted so the budget, not the
epoch count, ends training and the learning-rate schedule is laid out over the budget.
"""
from __future__ import annotations

import copy

import torch

from nlpbench.perf.flops import track_flops

BUDGET_KINDS = ("flops", "steps", "minutes")
OPEN_EPOCHS = 100000  # epochs a budgeted trial may run: the budget ends it long before


def _shape_key(batch) -> tuple:
    """The shapes (and dtypes) of a collated batch's tensors: what its FLOPs depend on."""
    if isinstance(batch, torch.Tensor):
        return (tuple(batch.shape), str(batch.dtype))
    if isinstance(batch, dict):
        return tuple((k, _shape_key(v)) for k, v in sorted(batch.items()))
    if isinstance(batch, (list, tuple)):
        return tuple(_shape_key(v) for v in batch)
    return (type(batch).__name__,)


class StepFlops:
    """Training FLOPs of a batch for `adapter` (its `loss` and `model`), cached by the batch's shapes."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.cache: dict[tuple, int] = {}
        self.uncounted: set[str] = set()
        self._twin = None  # a copy of the model: FLOPs don't depend on weight values, only on shapes

    def __call__(self, batch) -> int:
        key = _shape_key(batch)
        if key not in self.cache:
            self.cache[key] = self._count(batch)
        return self.cache[key]

    def _count(self, batch) -> int:
        real = self.adapter.model
        if self._twin is None:
            self._twin = copy.deepcopy(real)
        dev = _device(real)
        devices = [dev.index or 0] if dev.type == "cuda" else []
        self._twin.train()
        with torch.random.fork_rng(devices=devices):  # dropout draws on the copy leave the run's RNG as it was
            self.adapter.model = self._twin
            try:
                with track_flops() as work:
                    loss = type(self.adapter).loss(self.adapter, batch)  # the class's: an instance's wrapper is the run's
                    loss.backward()
            finally:
                self.adapter.model = real
        self._twin.zero_grad(set_to_none=True)
        self.uncounted.update(work.result.uncounted)
        return work.result.flops

    @property
    def complete(self) -> bool:
        return not self.uncounted


def _device(model) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def normalized(budget: dict) -> dict:
    """{kind: number}: a YAML string such as '2.0e12' as the float it spells."""
    (kind, value), = budget.items()
    return {kind: int(value) if kind == "steps" else float(value)}


def train_overrides(budget: dict) -> dict:
    """The `train:` keys that make `budget` ({flops: X} | {steps: N} | {minutes: M}) end a training unit."""
    (kind, value), = budget.items()
    if kind == "flops":
        return {"max_flops": float(value), "epochs": OPEN_EPOCHS, "max_steps": None}
    if kind == "steps":
        return {"max_steps": int(value)}
    return {"max_minutes": float(value), "clock_schedule": True, "epochs": OPEN_EPOCHS, "max_steps": None}


def budget_problems(budget, at: str) -> list[str]:
    if not isinstance(budget, dict) or len(budget) != 1 or next(iter(budget)) not in BUDGET_KINDS:
        return [f"{at}: one of {{flops: X}}, {{steps: N}}, {{minutes: M}}; given {budget!r}"[:200]]
    value = next(iter(budget.values()))
    try:  # YAML reads 2.0e12 (no exponent sign) as a string: taken as the number it spells
        ok = not isinstance(value, bool) and float(value) > 0 and float(value) != float("inf")
    except (TypeError, ValueError):
        ok = False
    return [] if ok else [f"{at}.{next(iter(budget))}: a positive number; given {value!r}"[:160]]


def train_cost(result, device: torch.device, dtype: str) -> dict:
    """A training unit's spent FLOPs and achieved rate beside the machine's measured peak (record fields).

    The rate leaves validation passes out (as `train_examples_per_s` does); the peak is this process's matmul
    probe (nlpbench.perf.probe.worker_peak) at the unit's thread count and training precision, run after
    training so it costs the unit's timings nothing."""
    from nlpbench.perf.probe import worker_peak

    busy = result.train_s - result.eval_s
    rate = result.flops / busy / 1e9 if busy > 0 and result.flops else None
    out = {"train_flops": float(result.flops), "train_flops_complete": result.flops_complete,
           "train_gflops_per_s": _sig(rate) if rate else None}
    if rate:
        peak = worker_peak(device.type, dtype if device.type == "cuda" else "fp32")["gflops"]
        out.update(peak_gflops=_sig(peak), peak_fraction=_sig(rate / peak) if peak else None)
    return out


def _sig(x: float) -> float:
    return float(f"{x:.4g}")  # four significant digits: a tiny model's fraction of peak is not rounded to 0
