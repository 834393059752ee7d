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

from nlpbench.adapter import check_params
from nlpbench.classifier import TextClassifier
from nlpbench.registry import register_adapter


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
class DummyAdapter(TextClassifier):
    Config = DummyConfig
    train_defaults = {"lr": 5e-2, "epochs": 2, "batch_size": 32}
    search_space = {  # the tune stage's default space: small, for the tests
        "train.lr": {"log_uniform": [1e-3, 1e-1]},
        "train.batch_size": {"choice": [16, 32]},
        "params.dim": {"choice": [8, 16, 32]},
    }

    def build(self, vocab_size: int, num_labels: int) -> nn.Module:
        return BagClassifier(vocab_size, self.cfg.dim, num_labels)

    def _check_size(self, ids: torch.Tensor) -> None:
        if self.cfg.fail_above is not None and ids.numel() > self.cfg.fail_above:
            raise torch.OutOfMemoryError(f"dummy: {ids.numel()} tokens > fail_above={self.cfg.fail_above}")

    def forward(self, batch: dict) -> torch.Tensor:
        self._check_size(batch["ids"])
        return super().forward(batch)
