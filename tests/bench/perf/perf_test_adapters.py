"""Tiny adapters for the perf tests (imported by tests, and by `process` launcher children via spec.imports).

- `perf_crash`: its model build calls `os._exit(3)`, the way a segfaulting extension would end a process;
- `perf_tiny_gen`: a one-layer "translator" whose generate() sleeps a fixed time per token, so
  time-to-first-token and per-token latency have known values.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nlpbench.adapter import TaskInfo, random_ids
from nlpbench.registry import register_adapter

TOKEN_SLEEP_S = 0.002


@dataclass
class TinyConfig:
    vocab_size: int = 50
    dim: int = 8


class _Base:
    Config = TinyConfig

    def __init__(self, config: TinyConfig, info: TaskInfo):
        self.cfg, self.info, self.init = config, info, "random"

    def setup(self, train=None) -> None:
        self.model = nn.Sequential(
            nn.Embedding(self.cfg.vocab_size, self.cfg.dim), nn.Linear(self.cfg.dim, self.cfg.vocab_size)
        )

    def synthetic_batch(self, batch_size, seq_len, generator) -> dict:
        return {"src": random_ids(batch_size, seq_len, self.cfg.vocab_size, generator)}

    # Perf cells never call these; the contract asks every adapter for them (quality cells do).
    def encode(self, ds) -> list[dict]:
        return [{"ids": [4 + len(t) % 40], "length": 1} for t in ds["text"]]

    def collate(self, examples) -> dict:
        return {"src": torch.tensor([e["ids"] for e in examples])}

    def predict(self, batch) -> list:
        return self.forward(batch)[:, 0].argmax(-1).tolist()

    def forward(self, batch):
        return self.model(batch["src"])

    def loss(self, batch):
        logits = self.forward(batch)
        return F.cross_entropy(logits.flatten(0, 1), batch["src"].flatten())


@register_adapter("perf_crash")
class CrashAdapter(_Base):
    tasks = ("classification",)

    def setup(self, train=None) -> None:
        os._exit(3)


@register_adapter("perf_tiny_gen")
class TinyGenAdapter(_Base):
    tasks = ("translation",)

    def generate(self, batch, max_new_tokens: int, fixed_length: bool = False) -> torch.Tensor:
        last, out = batch["src"][:, -1:], []
        for _ in range(max_new_tokens):  # fixed length: no early stop
            last = self.model(last)[:, -1].argmax(-1, keepdim=True)
            out.append(last)
            time.sleep(TOKEN_SLEEP_S)
        return torch.cat(out, 1)
