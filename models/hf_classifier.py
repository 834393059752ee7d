"""`hf-classifier`: any Hugging Face `AutoModelForSequenceClassification` checkpoint, fine-tuned or evaluated as is.

`checkpoint` is a local folder, `pkg:<package>/<folder>` or a hub name found in the local Hugging Face
cache (`nlpbench.pretrained.local_dir`: offline, nothing is downloaded under HF_HUB_OFFLINE); the
checkpoint's own tokenizer encodes the text. `train: null` in the suite scores the checkpoint as is
(a classifier head the checkpoint lacks, or one with another label count, is new and random: evaluate
as-is only a checkpoint fine-tuned for the task's labels).

The architecture decides the inputs: the model gets exactly the tokenizer's `model_input_names`
(DistilBERT takes no `token_type_ids`), and synthetic perf batches are built with the tokenizer's own
special tokens around ids drawn from the rest of its vocabulary (`synthetic_inputs`, shared with `bert`).
Records name the checkpoint (`checkpoint`) and the sha256 of its weight files (`checkpoint_sha256`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AutoModelForSequenceClassification

from nlpbench import pretrained
from nlpbench.adapter import TaskInfo, check_params
from nlpbench.errors import BadInput, shown
from nlpbench.registry import register_adapter


@dataclass
class HFClassifierConfig:
    checkpoint: str | None = None  # required: a folder, pkg:<package>/<folder>, or a hub name in the local HF cache
    trust_remote_code: bool = False  # the runner refuses True without the user's CLI flag
    max_len: int = 128  # tokens per input, special tokens included; longer inputs are truncated
    dropout: float | None = None  # None: the checkpoint's; else every dropout probability of its config

    def __post_init__(self):
        check_params([
            required_checkpoint(self.checkpoint),
            (self.max_len >= 2, f"max_len: allowed >= 2; given {self.max_len}"),
            (self.dropout is None or 0 <= self.dropout < 1, f"dropout: allowed 0 <= p < 1 or null; given {self.dropout}"),
        ])  # fmt: skip
        if problems := pretrained.checkpoint_problems(self.checkpoint):
            raise BadInput(problems)


def required_checkpoint(checkpoint) -> tuple[bool, str]:
    """The `check_params` pair both hf adapters' Configs start with: a checkpoint must be named."""
    given = "null" if checkpoint is None else shown(checkpoint)
    return (isinstance(checkpoint, str) and bool(checkpoint),
            f"checkpoint: required: a folder, pkg:<package>/<folder> or a Hugging Face model name in the local cache; "
            f"given {given}")


def dropout_overrides(checkpoint: str, p: float | None) -> dict:
    """Config kwargs setting every dropout probability the checkpoint's config has to `p` (none for None):
    architectures name them differently (hidden_dropout_prob, dropout, attention_dropout, seq_classif_dropout)."""
    if p is None:
        return {}
    config = pretrained.checkpoint_config(checkpoint)
    return {k: p for k, v in config.items() if "dropout" in k and isinstance(v, float)}


def body_ids(tokenizer, vocab_size: int, shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """Seeded ids drawn from the tokenizer's vocabulary without its special tokens (pad, cls, eos, ...)."""
    special = set(tokenizer.all_special_ids)
    pool = torch.tensor([i for i in range(vocab_size) if i not in special])
    return pool[torch.randint(0, len(pool), shape, generator=generator)]


def special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special ids the tokenizer puts before and after a text's tokens ([CLS] | [SEP], <s> | </s>, | </s>),
    read from its own encodings of an empty and a one-word text (so any post-processor is followed)."""
    empty = tokenizer("")["input_ids"]
    word = tokenizer("a")["input_ids"]
    i = 0
    while i < min(len(empty), len(word)) and empty[i] == word[i]:
        i += 1
    return empty[:i], empty[i:]


def framed_ids(tokenizer, vocab_size: int, batch_size: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
    """[batch_size, seq_len] ids: the tokenizer's special frame around ids from the rest of its vocabulary."""
    before, after = special_frame(tokenizer)
    body = seq_len - len(before) - len(after)
    if body < 1:
        raise BadInput(f"seq_len: allowed > {seq_len - body} (the tokenizer adds {seq_len - body} special tokens); "
                       f"given {seq_len}")
    ids = body_ids(tokenizer, vocab_size, (batch_size, body), generator)
    return torch.cat([torch.tensor([before] * batch_size, dtype=torch.long).view(batch_size, -1), ids,
                      torch.tensor([after] * batch_size, dtype=torch.long).view(batch_size, -1)], 1)


def synthetic_inputs(tokenizer, model_config, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
    """A batch of exactly `seq_len` tokens per row, keyed by the tokenizer's `model_input_names`."""
    limit = getattr(model_config, "max_position_embeddings", None)
    if limit and seq_len > limit:
        raise BadInput(f"seq_len: allowed at most {limit} (the model's max_position_embeddings); given {seq_len}")
    ids = framed_ids(tokenizer, min(len(tokenizer), model_config.vocab_size), batch_size, seq_len, generator)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    return {k: batch[k] for k in tokenizer.model_input_names if k in batch}


class SequenceClassifierIO:
    """Tokenize, pad and score for a transformers sequence classifier (`self.tokenizer`, `self.model`,
    `self.cfg.max_len`, `self.info`): shared by `hf-classifier` and `bert`. `input_names`: what the model takes
    (None: the tokenizer's `model_input_names`)."""

    input_names: tuple[str, ...] | None = None

    def encode(self, ds) -> list[dict]:
        enc = self.tokenizer(list(ds["text"]), truncation=True, max_length=self.cfg.max_len)
        keys = [k for k in self.input_names or self.tokenizer.model_input_names if k in enc]
        labels = ds["label"] if "label" in ds.column_names else [0] * len(ds)
        return [
            {**{k: enc[k][i] for k in keys}, "label": int(y), "length": len(enc["input_ids"][i])}
            for i, y in enumerate(labels)
        ]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        features = [{k: v for k, v in e.items() if k not in ("label", "length")} for e in examples]
        batch = dict(self.tokenizer.pad(features, return_tensors="pt"))
        batch["labels"] = torch.tensor([e["label"] for e in examples])
        return {k: v.to(self.info.device) for k, v in batch.items()}

    def forward(self, batch: dict) -> torch.Tensor:
        return self.model(**{k: v for k, v in batch.items() if k != "labels"}).logits

    def loss(self, batch: dict) -> torch.Tensor:
        return self.model(**batch).loss

    def predict(self, batch: dict) -> list[int]:
        return self.forward(batch).argmax(-1).tolist()


@register_adapter("hf-classifier")
class HFClassifierAdapter(SequenceClassifierIO):
    Config = HFClassifierConfig
    tasks = ("classification",)
    # Devlin et al.'s fine-tuning recipe for a pretrained encoder (lr in their 2e-5..5e-5).
    train_defaults = {
        "lr": 3e-5, "weight_decay": 0.01, "schedule": "linear", "warmup": 0.1,
        "clip_norm": 1.0, "batch_size": 32, "epochs": 3,
    }
    search_space = {
        "train.lr": {"log_uniform": [1e-5, 1e-4]},
        "train.warmup": {"uniform": [0.0, 0.2]},
        "train.batch_size": {"choice": [16, 32, 64]},
        "train.weight_decay": {"uniform": [0.0, 0.1]},
        "train.epochs": {"int": [1, 5]},
        "params.dropout": {"uniform": [0.0, 0.3]},
    }

    def __init__(self, config: HFClassifierConfig, info: TaskInfo):
        self.cfg, self.info = config, info
        self.tokenizer = None
        self.init = f"pretrained:{config.checkpoint}"
        self.checkpoint = config.checkpoint
        self.checkpoint_sha256 = None

    def setup(self, train=None) -> None:
        """The checkpoint's tokenizer and model, whether for training (`train`), perf (`None`) or a restore."""
        cfg = self.cfg
        overrides = dropout_overrides(cfg.checkpoint, cfg.dropout)
        config = {"num_labels": self.info.num_labels or 2, **overrides}
        loaded = pretrained.load(
            cfg.checkpoint, AutoModelForSequenceClassification, config=config,
            # a checkpoint saved with another label count (or none) gets a new head
            model_kwargs={} if self.info.restore else {"ignore_mismatched_sizes": True},
            tokenizer_kwargs={"model_max_length": cfg.max_len}, restore=self.info.restore,
            trust_remote_code=cfg.trust_remote_code, cache_dir=self.info.cache_dir,
        )  # fmt: skip
        self.tokenizer, self.model, self.checkpoint_sha256 = loaded.tokenizer, loaded.model, loaded.sha256
        self.model.to(self.info.device).eval()

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        batch = synthetic_inputs(self.tokenizer, self.model.config, batch_size, seq_len, generator)
        batch["labels"] = torch.randint(0, self.model.config.num_labels, (batch_size,), generator=generator)
        return {k: v.to(self.info.device) for k, v in batch.items()}
