"""`dummy`: a tiny bag-of-embeddings classifier for fast tests of the harness.

Not an architecture to benchmark: it exists so tests of the CLI, runner,
results store and perf launchers run in milliseconds. `fail_above` makes
cells with batch_size * seq_len above it raise `torch.OutOfMemoryError`, to test
how sweeps record and skip out-of-memory cells.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from nlpbench.adapter import TaskInfo, check_params, pad, random_ids
from nlpbench.registry import register_adapter
from nlpbench.tokenize import encode_all, train_tokenizer


@dataclass
class DummyConfig:
    vocab_size: int = 1000
    dim: int = 16
    max_len: int = 64
    fail_above: int | None = None  # batch*seq above this raises OutOfMemoryError

    def __post_init__(self):  # runs at `nlpbench validate`: a zero or negative size fails before any training
        check_params([
            (self.vocab_size > 4, f"vocab_size: allowed > 4 (ids 0-3 are specials); given {self.vocab_size}"),
            *[(getattr(self, k) >= 1, f"{k}: allowed >= 1; given {getattr(self, k)}") for k in ("dim", "max_len")],
            (self.fail_above is None or self.fail_above >= 0, f"fail_above: allowed >= 0 or null; given {self.fail_above}"),
        ])  # fmt: skip


class BagClassifier(nn.Module):
    def __init__(self, vocab_size: int, dim: int, num_labels: int):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.head = nn.Linear(dim, num_labels)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).unsqueeze(-1).float()
        pooled = (self.emb(ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled)


@register_adapter("dummy")
class DummyAdapter:
    Config = DummyConfig
    tasks = ("classification",)
    train_defaults = {"lr": 5e-2, "epochs": 2, "batch_size": 32}

    def __init__(self, config: DummyConfig, info: TaskInfo):
        self.cfg, self.info = config, info
        self.tokenizer = None
        self.init = "random"

    def setup(self, train=None) -> None:
        vocab = self.cfg.vocab_size
        if train is not None:
            self.tokenizer = train_tokenizer("word", train["text"], self.cfg.vocab_size, cache_dir=self.info.cache_dir)
            vocab = self.tokenizer.get_vocab_size()
        self.model = BagClassifier(vocab, self.cfg.dim, self.info.num_labels or 2).to(self.info.device)

    def encode(self, ds) -> list[dict]:
        ids = encode_all(self.tokenizer, ds["text"], self.cfg.max_len)
        labels = ds["label"] if "label" in ds.column_names else [0] * len(ids)
        return [{"ids": i, "label": y, "length": len(i)} for i, y in zip(ids, labels)]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        ids = pad([e["ids"] for e in examples], 0, self.info.device)
        labels = torch.tensor([e["label"] for e in examples], device=self.info.device)
        return {"ids": ids, "label": labels}

    def _check_size(self, ids: torch.Tensor) -> None:
        if self.cfg.fail_above is not None and ids.numel() > self.cfg.fail_above:
            raise torch.OutOfMemoryError(f"dummy: {ids.numel()} tokens > fail_above={self.cfg.fail_above}")

    def forward(self, batch: dict) -> torch.Tensor:
        self._check_size(batch["ids"])
        return self.model(batch["ids"])

    def loss(self, batch: dict) -> torch.Tensor:
        return F.cross_entropy(self.forward(batch), batch["label"])

    def predict(self, batch: dict) -> list[int]:
        return self.forward(batch).argmax(-1).tolist()

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        ids = random_ids(batch_size, seq_len, self.model.emb.num_embeddings, generator)
        labels = torch.randint(0, self.info.num_labels or 2, (batch_size,), generator=generator)
        return {"ids": ids.to(self.info.device), "label": labels.to(self.info.device)}
