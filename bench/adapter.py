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
Optional hooks (class `Hooks` below, listed in `HOOKS`) add what some adapters can do; the harness reads
each through `hook(adapter, name)` and `nlpbench.contract` checks them. A classifier over a word
vocabulary can subclass `nlpbench.classifier.TextClassifier` instead of writing the protocol out.
`setup(train)` with `info.restore` set rebuilds a trained model's vocabulary and
architecture without its pretraining stages; the weights are loaded next from
the run folder's checkpoint (bench/quality/trained.py).
Perf cells call `setup(None)` (no training data: build the tokenizer-free model
at `config.vocab_size`), then `synthetic_batch` and `forward` / `loss` / `generate`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, TypeAdapter, ValidationError

from nlpbench.errors import BadInput, format_errors, unknown_name


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
    # The harness's training loop (`nlpbench.quality.train.fit(stage, examples, TrainConfig, seed=, dtype=,
    # progress=)`), for an adapter with a training stage of its own (bert's masked-LM pretraining): handed
    # in by the quality cell, since the plugin API sits below the quality layer. None where nothing trains.
    trainer: Callable | None = None


class TrainConfig(BaseModel):
    """The shared training loop's settings; adapters may change the defaults (`train_defaults`);
    a suite's `train:` sets them (`nlpbench.suite.schema.train_config`). Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    epochs: PositiveFloat = 3
    max_steps: PositiveInt | None = None  # a step budget: when set, exactly this many optimiser steps (epochs ignored)
    # a FLOP budget (training FLOPs as perf cells count them, nlpbench.tune.budget): training stops at the first
    # step that reaches it (epochs and max_steps ignored) and the schedule is laid out over it
    max_flops: PositiveFloat | None = None
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 1e-3
    weight_decay: float = Field(0.01, ge=0)
    adam_beta2: float = Field(0.999, gt=0, lt=1)
    clip_norm: PositiveFloat | None = 1.0
    schedule: Literal["constant", "linear", "cosine", "inverse_sqrt"] = "constant"
    warmup: float = Field(0.0, ge=0)  # < 1: fraction of planned steps; >= 1: steps
    max_minutes: PositiveFloat | None = None  # wall-clock budget for training, evaluations included
    # with max_minutes: the schedule advances by whichever is further, steps or the clock, so a run the
    # clock cuts short still ends its decay near lr 0 instead of stopping at a high lr
    clock_schedule: bool = False
    eval_every: PositiveInt | None = None  # steps between validation passes (also at each epoch end)
    patience: PositiveInt | None = None  # stop after this many evaluations without improvement
    pool: PositiveInt = 50  # batches per length-sorted pool
    eval_batch_size: PositiveInt = 256


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


class Hooks(Protocol):
    """Optional hooks: an adapter may define any of these (none is required, except `generate` for a task
    that generates); the harness reads them only through `hook()`, and `nlpbench.contract` checks their kind
    at registration and their values in the smoke run. `HOOKS` lists them with what each must be."""

    train_defaults: dict  # class attribute: TrainConfig values the suite's `train:` overrides
    search_space: dict  # class attribute: the tune stage's default space, dotted key -> dimension (nlpbench.tune.space)
    decoding_methods: tuple[str, ...]  # class attribute: model methods decoding calls (perf compile of generate)
    cfg: Any  # set by __init__: the Config instance (serve records its params)
    tokenizer: Any  # set by setup(train): tokenizers.Tokenizer or a transformers tokenizer (the trained vocabulary size)
    checkpoint: str | None  # set by __init__/setup: the pretrained checkpoint loaded, as the suite named it (records)
    checkpoint_sha256: str | None  # set by setup: sha256 of the pretrained weights loaded (quality records)

    def generate(self, batch: dict, max_new_tokens: int, fixed_length: bool = False) -> torch.Tensor:
        """Token ids LongTensor [B, T]; `fixed_length` decodes exactly max_new_tokens (perf cells)."""

    def predict_proba(self, batch: dict) -> list[list[float]]:
        """Class probabilities per row (predictions files); without it: softmax of forward's logits."""

    def max_positions(self, cfg: Any) -> int | None:
        """The longest sequence (tokens) a model built from `cfg` can take, e.g. a learned position table's
        size; None: no limit. Read on the class (a staticmethod) at validate time, so a perf `seq_len` beyond
        it is refused before anything runs. Without it: no limit."""

    def export_onnx(self, example: dict, session: Callable[[bytes], Any]) -> OnnxExport:
        """The `onnx` deployment variant (nlpbench.variants.onnx_rt): graphs traced on `example` and a copy of
        the adapter running them through `session(graph_bytes)` (an ONNX Runtime session). Without it a
        classifier's `forward` is exported as one graph; any other adapter's variant is `unsupported`.
        `nlpbench.export` holds what a hook builds with (graph export, stand-in model, the check)."""


# Hook name -> what the contract allows, in its one-line error ("<name>: <allowed>; given ...").
HOOKS = {
    "train_defaults": "a dict of TrainConfig values",
    "search_space": "a dict of dotted keys (params.*, train.*) to {log_uniform|uniform|int|choice: ...}",
    "decoding_methods": "a tuple of model method names (str) that decoding calls",
    "cfg": "the Config instance the adapter was given",
    "tokenizer": "None or a tokenizer with get_vocab_size() or len()",
    "checkpoint": "None or the checkpoint name the suite gave (a folder, pkg: name or hub name)",
    "checkpoint_sha256": "None or a sha256 hex digest",
    "generate": "a method generate(batch, max_new_tokens, fixed_length=False)",
    "predict_proba": "a method predict_proba(batch) -> per-row class probabilities",
    "max_positions": "a staticmethod max_positions(cfg) -> int or None (the longest sequence)",
    "export_onnx": "a method export_onnx(example, session) -> OnnxExport",
}
METHOD_HOOKS = ("generate", "predict_proba", "export_onnx", "max_positions")
LEGACY_TOKENIZER = "tok"  # the attribute the README's adapter template used before `tokenizer`


@dataclass
class OnnxExport:
    """What `export_onnx` returns; the harness writes the graphs, times and scores `adapter`."""

    graphs: dict[str, bytes]  # name -> ONNX model; one graph is written to the artifact path, several beside it
    adapter: Any  # a copy of the adapter whose model (or forward) runs the sessions
    max_abs_diff: float  # the export checked against PyTorch on the example
    info: dict = field(default_factory=dict)  # e.g. exporter, inputs or graphs (goes into the record)


def hook(adapter: Any, name: str, default: Any = None) -> Any:
    """The optional hook `name` of an adapter (instance or class), or `default` when it has none.
    The one place the harness reads hooks, so a misspelt name fails here rather than reading None."""
    if name not in HOOKS:
        raise KeyError(f"'{name}' is not an optional adapter hook; hooks: {', '.join(HOOKS)}")
    value = getattr(adapter, name, None)
    if name in METHOD_HOOKS and not callable(value):
        return default
    return default if value is None else value


def checkpoint_fields(adapter: Any) -> dict:
    """Record fields naming the pretrained checkpoint an adapter loaded and its weights' sha256 (absent: none)."""
    fields = {"checkpoint": hook(adapter, "checkpoint"), "checkpoint_sha256": hook(adapter, "checkpoint_sha256")}
    return {k: v for k, v in fields.items() if v}


def vocab_size(adapter: Any) -> int | None:
    """The size of the vocabulary the adapter's trained tokenizer built (tokenizers or transformers), or None."""
    tok = hook(adapter, "tokenizer") or getattr(adapter, LEGACY_TOKENIZER, None)
    if tok is None:
        return None
    return tok.get_vocab_size() if callable(getattr(tok, "get_vocab_size", None)) else len(tok)


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
