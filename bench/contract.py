"""The adapter contract, checked: what every adapter must provide, and a smoke run through what the harness calls.

`static_problems(cls)` is cheap (no model is built): the registry runs it on every adapter it registers,
built-in or from an entry point, so a plugin that breaks the contract fails with one clear line at load.
`exercise(cls, task)` builds the adapter as a perf cell does (`setup(None)`) and runs `synthetic_batch`,
`forward`, `loss` (with a backward pass) and, for a task that generates, `generate` — with
`adapter.model` swapped for a watching proxy first, since the harness replaces `adapter.model` (compiled
perf cells, DDP) and the adapter must reach its model through that attribute.
"""
from __future__ import annotations

import dataclasses

import torch

from nlpbench.tasks import TASKS

REQUIRED = ("setup", "encode", "collate", "loss", "predict", "synthetic_batch", "forward")


def static_problems(cls: type) -> list[str]:
    """What an adapter class lacks, one line each ([] when it meets the contract)."""
    problems = []
    config = getattr(cls, "Config", None)
    if not (isinstance(config, type) and dataclasses.is_dataclass(config)):
        problems.append("Config: a dataclass of params is required")
    else:
        no_default = [f.name for f in dataclasses.fields(config)
                      if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if no_default:
            problems.append(f"Config: every param needs a default; missing for {', '.join(no_default)}")
    tasks = getattr(cls, "tasks", None)
    if not (isinstance(tasks, tuple) and tasks and all(t in TASKS for t in tasks)):
        problems.append(f"tasks: a non-empty tuple of {', '.join(TASKS)}; given {tasks!r}")
    problems += [f"{m}: method missing" for m in REQUIRED if not callable(getattr(cls, m, None))]
    if isinstance(tasks, tuple) and any(TASKS[t].generates for t in tasks if t in TASKS) \
            and not callable(getattr(cls, "generate", None)):
        problems.append("generate: required for a task that generates (translation)")
    if not isinstance(getattr(cls, "train_defaults", {}), dict):
        problems.append("train_defaults: a dict of TrainConfig values")
    return problems


class ModelWatch(torch.nn.Module):
    """Stands in for `adapter.model` as the harness's replacements do; counts every use."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.inner = model
        self.uses = 0

    def forward(self, *args, **kwargs):
        self.uses += 1
        return self.inner(*args, **kwargs)

    def __getattr__(self, name):
        if name in ("inner", "uses") or name.startswith("_"):
            return super().__getattr__(name)
        object.__setattr__(self, "uses", self.__dict__.get("uses", 0) + 1)
        return getattr(self.inner, name)


def _step(what: str, fn, problems: list[str]):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001  (every failure is a contract problem to report)
        problems.append(f"{what}: raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return None


def exercise(cls: type, task: str, params: dict | None = None, batch_size: int = 2, seq_len: int = 8) -> list[str]:
    """Runs the calls a perf cell makes; returns what broke, one line each ([] when all is well)."""
    from nlpbench.adapter import TaskInfo, adapter_config

    problems: list[str] = []
    info = TaskInfo(task=task, num_labels=None if TASKS[task].generates else 2, progress=False)
    torch.manual_seed(0)
    adapter = _step("__init__", lambda: cls(adapter_config(cls, params or {}), info), problems)
    if adapter is None or _step("setup(None)", lambda: adapter.setup(None), problems) is None and problems:
        return problems
    if not isinstance(getattr(adapter, "model", None), torch.nn.Module):
        return problems + ["setup: must set `model` to an nn.Module"]
    if not isinstance(getattr(adapter, "init", None), str):
        problems.append("setup: must set `init` (random, mlm:<steps> or pretrained:<checkpoint>)")
    if getattr(adapter, "info", None) is not info:
        problems.append("__init__: must keep the TaskInfo it is given as `info`")
    watch = ModelWatch(adapter.model)
    adapter.model = watch
    batch = _step("synthetic_batch", lambda: adapter.synthetic_batch(batch_size, seq_len, torch.Generator().manual_seed(0)), problems)
    if batch is None:
        return problems
    watch.uses = 0  # from here on: forward and loss must reach the model through `adapter.model`
    with torch.no_grad():
        _step("forward", lambda: adapter.forward(batch), problems)
    loss = _step("loss", lambda: adapter.loss(batch), problems)
    if loss is not None:
        if not (isinstance(loss, torch.Tensor) and loss.dim() == 0 and loss.requires_grad):
            problems.append("loss: must return a scalar tensor that requires grad")
        else:
            _step("loss.backward", loss.backward, problems)
    if watch.uses == 0:
        problems.append("model: forward/loss never used `adapter.model` (the harness replaces it; don't keep another reference)")
    if TASKS[task].generates:
        with torch.no_grad():
            _step("generate", lambda: adapter.generate(batch, 3, fixed_length=True), problems)
    return problems
