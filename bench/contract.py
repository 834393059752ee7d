"""The adapter contract, checked: what every adapter must provide, and a smoke run through what the harness calls.

`static_problems(cls)` is cheap (no model is built): the registry runs it on every adapter it registers,
built-in or from an entry point, so a plugin that breaks the contract fails with one clear line at load.
`exercise(cls, task)` builds the adapter as a perf cell does (`setup(None)`) and runs `synthetic_batch`,
`forward`, `loss` (with a backward pass) and, for a task that generates, `generate` — with
`adapter.model` swapped for a watching proxy first, since the harness replaces `adapter.model` (compiled
perf cells, DDP) and the adapter must reach its model through that attribute.

The optional hooks (`nlpbench.adapter.Hooks`, `HOOKS`) are checked where they can be: their kind on the
class (`hook_problems`: a method is callable, `decoding_methods` a tuple of names, `train_defaults` a
dict) and their values after `setup(None)` (`hook_value_problems`: `cfg` is the Config, `tokenizer` has a
size, `checkpoint` a name, `checkpoint_sha256` a digest, each of `decoding_methods` is a method of the model,
`predict_proba` gives one probability row per example). `export_onnx` needs the `variants` extra and is
exercised by tests/bench/variants.
"""
from __future__ import annotations

import dataclasses
import re

import torch

from nlpbench.adapter import HOOKS, METHOD_HOOKS, vocab_size
from nlpbench.tune.space import problems as space_problems
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
    return problems + hook_problems(cls)


def _bad(name: str, given) -> str:
    return f"{name}: {HOOKS[name]}; given {given!r}"


def hook_problems(cls: type) -> list[str]:
    """Optional hooks the class defines with the wrong kind, one line each (read straight from the class:
    `nlpbench.adapter.hook` would hide a non-callable method hook as absent)."""
    problems = [_bad(m, getattr(cls, m)) for m in METHOD_HOOKS
                if getattr(cls, m, None) is not None and not callable(getattr(cls, m))]
    if not isinstance(getattr(cls, "train_defaults", {}), dict):
        problems.append(_bad("train_defaults", cls.train_defaults))
    space = getattr(cls, "search_space", {})
    if not isinstance(space, dict) or space_problems(space, "search_space"):
        problems.append(_bad("search_space", space))
    methods = getattr(cls, "decoding_methods", None)
    if methods is not None and not (isinstance(methods, tuple) and all(isinstance(m, str) and m for m in methods)):
        problems.append(_bad("decoding_methods", methods))
    return problems


def hook_value_problems(adapter) -> list[str]:
    """The instance hooks' values after setup."""
    problems = []
    cfg, config_cls = getattr(adapter, "cfg", None), type(adapter).Config
    if cfg is not None and not isinstance(cfg, config_cls):
        problems.append(_bad("cfg", type(cfg).__name__))
    try:
        size = vocab_size(adapter)
        if size is not None and not (isinstance(size, int) and size > 0):
            problems.append(_bad("tokenizer", size))
    except Exception as e:  # noqa: BLE001  (a tokenizer that can't say its size is the problem reported)
        problems.append(_bad("tokenizer", f"{type(e).__name__}: {e}"))
    name = getattr(adapter, "checkpoint", None)
    if name is not None and not (isinstance(name, str) and name):
        problems.append(_bad("checkpoint", name))
    sha = getattr(adapter, "checkpoint_sha256", None)
    if sha is not None and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        problems.append(_bad("checkpoint_sha256", sha))
    decodes = TASKS[adapter.info.task].generates  # a two-task adapter's classifier model has no decoding methods
    for name in (getattr(type(adapter), "decoding_methods", None) or ()) if decodes else ():
        if not callable(getattr(adapter.model, name, None)):
            problems.append(f"decoding_methods: '{name}' is not a method of the model ({type(adapter.model).__name__})")
    return problems


def proba_problems(adapter, batch: dict, rows: int) -> list[str]:
    """predict_proba, where a classifier has it: `rows` rows of num_labels probabilities summing to 1."""
    proba, problems = getattr(adapter, "predict_proba", None), []
    if not callable(proba) or TASKS[adapter.info.task].generates:
        return problems
    with torch.no_grad():
        got = _step("predict_proba", lambda: [list(map(float, p)) for p in proba(batch)], problems)
    labels = adapter.info.num_labels
    if got is not None and not (len(got) == rows and all(len(p) == labels and abs(sum(p) - 1) < 1e-3 for p in got)):
        problems.append(f"predict_proba: allowed {rows} rows of {labels} probabilities summing to 1; "
                        f"given {len(got)} rows of sizes {sorted({len(p) for p in got})}")
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
    problems += hook_value_problems(adapter)
    watch = ModelWatch(adapter.model)
    adapter.model = watch
    batch = _step("synthetic_batch", lambda: adapter.synthetic_batch(batch_size, seq_len, torch.Generator().manual_seed(0)), problems)
    if batch is None:
        return problems
    problems += proba_problems(adapter, batch, batch_size)
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
