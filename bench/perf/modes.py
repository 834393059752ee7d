"""What one iteration of a perf cell does, per mode.

- `forward`: `adapter.forward(batch)` with `model.eval()` under `torch.inference_mode()`;
- `train_step`: `adapter.loss(batch)`, then the trainer's own update (nlpbench.quality.train.update:
  scaled backward, gradient clipping, AdamW step, zero_grad, scheduler step) with the
  model's resolved training settings (clip_norm, weight_decay, schedule), `model.train()`;
- `generate`: `adapter.generate(batch, max_new_tokens, fixed_length=True)` with `model.eval()`
  (output length fixed, no early stop, so every cell does the same work); a second
  step generating one token gives the time to the first token.

Reduced precision is `torch.autocast` on the cell's device (adapters never
autocast themselves); fp16 training uses a `GradScaler` as real fp16 training would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from nlpbench.adapter import hook
from nlpbench.errors import BadInput
from nlpbench.precision import TORCH_DTYPES, autocast

MODES = ("forward", "train_step", "generate")
DTYPES = TORCH_DTYPES
TRAIN_LR = 1e-5  # tiny, so thousands of timed steps never push weights to inf/NaN (slow paths on CPU)


def check_dtype(dtype: str, device: torch.device) -> None:
    if dtype not in DTYPES:
        raise BadInput(f"perf.dtype: allowed {', '.join(DTYPES)}; given '{dtype}'")
    if dtype == "fp16" and device.type == "cpu":
        raise BadInput(
            "perf.dtype: fp16 autocast is not supported on cpu (use bf16 or fp32); given 'fp16' with device cpu"
        )


def autocast_factory(device: torch.device, dtype: str):
    """A context factory (each pass enters a fresh one): nlpbench.precision's autocast."""
    return lambda: autocast(device, dtype)


@dataclass
class Workload:
    """One iteration (`step`), the context every pass runs it in, and for generate the 1-token step."""

    step: Callable[[], object]
    context: Callable[[], contextlib.AbstractContextManager]
    first_token: Callable[[], object] | None = None
    state_bytes: Callable[[], int] = lambda: 0  # memory the step keeps between iterations (optimizer state)
    optimizer: torch.optim.Optimizer | None = None  # train_step: the optimizer it updates with


def make_workload(
    adapter, batch: dict, mode: str, dtype: str, max_new_tokens: int = 32, train: dict | None = None
) -> Workload:
    device = torch.device(adapter.info.device)
    check_dtype(dtype, device)
    amp = autocast_factory(device, dtype)
    if mode == "forward":
        return _forward(adapter, batch, amp)
    if mode == "train_step":
        return _train_step(adapter, batch, amp, dtype, device, train)
    if mode == "generate":
        return _generate(adapter, batch, amp, max_new_tokens)
    raise BadInput(f"perf.modes: allowed {', '.join(MODES)}; given '{mode}'")


def _forward(adapter, batch, amp) -> Workload:
    adapter.model.eval()

    def step():
        with amp():
            return adapter.forward(batch)

    return Workload(step, torch.inference_mode)


@dataclass
class TrainSettings:
    """The trainer's update settings a `train_step` cell mirrors (the model's resolved `train:`); lr stays tiny."""

    weight_decay: float = 0.01
    clip_norm: float | None = 1.0
    schedule: str = "constant"
    warmup: float = 0.0
    lr: float = TRAIN_LR


SCHEDULE_STEPS = 1_000_000  # the schedule's planned length: a cell's steps stay far inside it


def _train_step(adapter, batch, amp, dtype: str, device: torch.device, train: dict | None = None) -> Workload:
    from nlpbench.quality.train import make_optimizer, update  # the trainer's own update: clip, scaler, scheduler

    settings = TrainSettings(**{k: v for k, v in (train or {}).items() if k in TrainSettings.__dataclass_fields__})
    settings.lr = TRAIN_LR
    adapter.model.train()
    opt, sched = make_optimizer(adapter.model, settings, SCHEDULE_STEPS)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == "fp16")  # as the trainer: disabled is a no-op

    def step():
        with amp():  # backward runs outside autocast, as the autocast docs advise
            loss = adapter.loss(batch)
        update(adapter.model, loss, opt, sched, scaler, settings.clip_norm)

    def state_bytes() -> int:
        from nlpbench.perf.footprint import tensor_bytes

        return tensor_bytes(v for st in opt.state.values() for v in st.values())

    return Workload(step, contextlib.nullcontext, state_bytes=state_bytes, optimizer=opt)


def _generate(adapter, batch, amp, max_new_tokens: int) -> Workload:
    if hook(adapter, "generate") is None:
        raise BadInput(f"perf.modes: 'generate' needs a translation adapter with generate(); '{adapter.name}' has none")
    if max_new_tokens < 2:
        raise BadInput(f"perf.max_new_tokens: allowed >= 2 (per-token time needs two lengths); given {max_new_tokens}")
    adapter.model.eval()

    def run(n: int):
        with amp():
            return adapter.generate(batch, n, fixed_length=True)

    return Workload(lambda: run(max_new_tokens), torch.inference_mode, lambda: run(1))
