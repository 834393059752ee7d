"""The small protocol every model adapter follows, and the context it is given.

An adapter is one plain class in `models/`, registered with
`@register_adapter("name")`, with a `Config` dataclass beside it (its params and
their defaults). The harness owns data loading, the training loop, metrics,
timing and the results store; the adapter owns tokenisation and the model.

    @register_adapter("lstm")
    class LSTMAdapter:
        Config = LSTMConfig                  # dataclass: params and defaults
        tasks = ("classification",)
        train_defaults = {"lr": 2e-3}        # optional: overrides TrainConfig defaults

        def __init__(self, config: LSTMConfig, info: TaskInfo): ...
        def setup(self, train: datasets.Dataset | None) -> None: ...
        def encode(self, ds: datasets.Dataset) -> list[dict]: ...
        def collate(self, examples: list[dict]) -> dict[str, Tensor]: ...
        def loss(self, batch) -> Tensor: ...
        def predict(self, batch) -> list: ...
        def synthetic_batch(self, batch_size, seq_len, generator) -> dict: ...
        def forward(self, batch): ...

Attributes set by `setup`: `model` (an `nn.Module` on `info.device`) and `init`
(`random`, `mlm:<steps>` or `pretrained:<checkpoint>`).

Data a split holds (a `datasets.Dataset`): classification -> columns `text`
(str) and `label` (int in 0..num_labels-1); translation -> `src` and `tgt` (str).

`encode` turns a split into examples (dicts of python lists/ints) that each
carry `length` (tokens) so the trainer can bucket by length; `collate` pads a
list of them into tensors on `info.device`. `predict` returns class ids
(classification) or detokenised strings (translation), in batch order.

Translation adapters add `generate(batch, max_new_tokens, fixed_length=False)`.
`setup(train)` with `info.restore` set rebuilds a trained model's vocabulary and
architecture without its pretraining stages; the weights are loaded next from
the run folder's checkpoint (bench/quality/trained.py).
Perf cells call `setup(None)` (no training data: build the tokenizer-free model
at `config.vocab_size`), then `synthetic_batch` and `forward` / `loss` / `generate`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from pydantic import TypeAdapter, ValidationError

from nlpbench.errors import BadInput, unknown_name
from nlpbench.suite.errors import format_errors


@dataclass
class TaskInfo:
    """What the harness tells an adapter about the cell it runs in."""

    task: str = "classification"  # a name in nlpbench.tasks.TASKS
    num_labels: int | None = 2  # classification only
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: str = "fp32"  # autocast dtype on CUDA: fp32 | bf16 | fp16
    seed: int = 0
    cache_dir: Path | None = None  # run-folder cache for tokenizers; None = no cache
    progress: bool = True  # adapters may show their own bars (e.g. pretraining)
    # True when `setup(train)` builds a model only to receive saved weights (bench/quality/trained.py):
    # build the same vocabulary and architecture, but skip stages that only produce initial
    # weights (bert's masked-LM pretraining). Adapters without such stages ignore it.
    restore: bool = False


@runtime_checkable
class Adapter(Protocol):
    """What the harness reads from an adapter, checked by `nlpbench.contract` (at registration: the class;
    in tests: a smoke run of every registered adapter).

    Class attributes: `name` (set by `@register_adapter`), `Config` (a dataclass, every param with a
    default; its `__post_init__` checks values with `check_params`, so `nlpbench validate` catches them),
    `tasks` (names in `nlpbench.tasks.TASKS`), optional `train_defaults` (TrainConfig values).
    Set by `__init__`: `info` (the TaskInfo given). Set by `setup`: `model` and `init`.

    What the harness may replace: `adapter.model` (a compiled module in perf cells; a DDP-wrapped one
    under torchrun; a quantised or exported variant), so `forward`, `loss`, `predict` and `generate`
    must reach the model through `self.model` on every call, never through a reference kept earlier.
    `generate(batch, max_new_tokens, fixed_length=False)` is required for tasks that generate.
    """

    name: str
    Config: type
    tasks: tuple[str, ...]
    train_defaults: dict
    info: TaskInfo
    model: torch.nn.Module
    init: str

    def setup(self, train: Any) -> None: ...

    def encode(self, ds: Any) -> list[dict]: ...

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]: ...

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    def predict(self, batch: dict[str, torch.Tensor]) -> list: ...

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict: ...

    def forward(self, batch: dict[str, torch.Tensor]) -> Any: ...


def check_params(checks: list[tuple[bool, str]]) -> None:
    """A Config's `__post_init__` check: every failed (ok, "name: allowed ...; given ...") pair, one line each.

    Raised while the suite is validated (`adapter_config`), so `nlpbench validate` catches a bad param
    before anything runs."""
    if problems := [msg for ok, msg in checks if not ok]:
        raise BadInput(problems)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pad(seqs: list[list[int]], pad_id: int, device: torch.device, length: int | None = None) -> torch.Tensor:
    """Right-pads token id lists into a LongTensor [B, max_len] (or [B, length])."""
    width = length or max(1, max(len(s) for s in seqs))
    out = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(s[:width], dtype=torch.long)
    return out.to(device)


def random_ids(batch_size: int, seq_len: int, vocab_size: int, generator: torch.Generator, low: int = 4) -> torch.Tensor:
    """Seeded token ids of an exact shape for perf cells (ids below `low` are kept for specials)."""
    return torch.randint(low, vocab_size, (batch_size, seq_len), generator=generator)


def adapter_config(cls: type, params: dict):
    """The adapter's Config dataclass from suite params; BadInput lists each bad field."""
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    problems = [f"{k}: " + unknown_name(f"param of '{cls.name}'", k, fields) for k in params if k not in fields]
    if problems:
        raise BadInput(problems)
    try:
        return TypeAdapter(cls.Config).validate_python(dict(params))
    except ValidationError as e:
        raise BadInput(format_errors(e, None)) from None
