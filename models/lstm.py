"""`lstm`: embedding -> (bi)LSTM over packed sequences -> pooled -> classifier head.

Hochreiter & Schmidhuber 1997, "Long Short-Term Memory"; bidirectional as in
Graves & Schmidhuber 2005. Sequences are packed (`pack_padded_sequence`) so the
recurrence never runs over padding: the pooled vector of a sentence is the same
whatever it is batched with. Vocabulary: word-level, trained on the train split.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpbench.adapter import TaskInfo, check_params, pad, random_ids
from nlpbench.errors import shown
from nlpbench.registry import register_adapter
from nlpbench.tokenize import encode_all, train_tokenizer

POOLING = ("max", "mean", "last")


@dataclass
class LSTMConfig:
    vocab_size: int = 30000  # upper bound; the trained vocabulary may be smaller
    min_frequency: int = 1
    lowercase: bool = True
    embed_dim: int = 300
    hidden_size: int = 256
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.5  # on embeddings, between layers and before the head
    pooling: str = "max"  # max | mean | last (final hidden states)
    max_len: int = 128

    def __post_init__(self):
        check_params([
            (self.pooling in POOLING, f"pooling: allowed {', '.join(POOLING)}; given {shown(self.pooling)}"),
            *[(getattr(self, k) >= 1, f"{k}: allowed >= 1; given {getattr(self, k)}")
              for k in ("vocab_size", "min_frequency", "embed_dim", "hidden_size", "num_layers", "max_len")],
            (0 <= self.dropout < 1, f"dropout: allowed 0 <= p < 1; given {self.dropout}"),
        ])  # fmt: skip


class LSTMClassifier(nn.Module):
    def __init__(self, cfg: LSTMConfig, vocab_size: int, num_labels: int):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.Embedding(vocab_size, cfg.embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(
            cfg.embed_dim, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
            bidirectional=cfg.bidirectional, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )  # fmt: skip
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size * (2 if cfg.bidirectional else 1), num_labels)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.emb(ids))
        # Lengths go to the CPU for packing (a torch requirement); sorting is done by torch.
        packed = pack_padded_sequence(x, lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        return self.head(self.drop(self._pool(out, h, ids.shape[1])))

    def _pool(self, packed_out, h: torch.Tensor, width: int) -> torch.Tensor:
        if self.cfg.pooling == "last":
            # h: [layers*dirs, B, H]; the top layer's forward and backward final states.
            dirs = 2 if self.cfg.bidirectional else 1
            return torch.cat(list(h[-dirs:]), dim=-1)
        out, lengths = pad_packed_sequence(packed_out, batch_first=True, total_length=width)
        mask = torch.arange(width, device=out.device)[None, :] < lengths.to(out.device)[:, None]
        mask = mask.unsqueeze(-1)
        if self.cfg.pooling == "max":
            return out.masked_fill(~mask, float("-inf")).max(dim=1).values
        return (out * mask).sum(1) / mask.sum(1).clamp(min=1)


@register_adapter("lstm")
class LSTMAdapter:
    Config = LSTMConfig
    tasks = ("classification",)
    train_defaults = {"lr": 2e-3, "batch_size": 64, "epochs": 3, "weight_decay": 0.0}

    def __init__(self, config: LSTMConfig, info: TaskInfo):
        self.cfg, self.info = config, info
        self.tokenizer = None
        self.init = "random"

    def setup(self, train=None) -> None:
        vocab = self.cfg.vocab_size
        if train is not None:
            self.tokenizer = train_tokenizer(
                "word", train["text"], self.cfg.vocab_size, min_frequency=self.cfg.min_frequency,
                lowercase=self.cfg.lowercase, cache_dir=self.info.cache_dir,
            )  # fmt: skip
            vocab = self.tokenizer.get_vocab_size()
        self.model = LSTMClassifier(self.cfg, vocab, self.info.num_labels or 2).to(self.info.device)

    def encode(self, ds) -> list[dict]:
        ids = encode_all(self.tokenizer, ds["text"], self.cfg.max_len)
        ids = [i or [1] for i in ids]  # an empty text becomes one <unk>, so packing has a step
        return [{"ids": i, "label": y, "length": len(i)} for i, y in zip(ids, ds["label"])]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        dev = self.info.device
        return {
            "ids": pad([e["ids"] for e in examples], 0, dev),
            "lengths": torch.tensor([len(e["ids"]) for e in examples]),
            "label": torch.tensor([e["label"] for e in examples], device=dev),
        }

    def forward(self, batch: dict) -> torch.Tensor:
        return self.model(batch["ids"], batch["lengths"])

    def loss(self, batch: dict) -> torch.Tensor:
        return F.cross_entropy(self.forward(batch), batch["label"])

    def predict(self, batch: dict) -> list[int]:
        return self.forward(batch).argmax(-1).tolist()

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        ids = random_ids(batch_size, seq_len, self.model.emb.num_embeddings, generator)
        labels = torch.randint(0, self.info.num_labels or 2, (batch_size,), generator=generator)
        dev = self.info.device
        return {"ids": ids.to(dev), "lengths": torch.full((batch_size,), seq_len), "label": labels.to(dev)}
