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
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpbench.adapter import check_params
from nlpbench.classifier import TextClassifier
from nlpbench.errors import shown
from nlpbench.registry import register_adapter

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
class LSTMAdapter(TextClassifier):
    Config = LSTMConfig
    train_defaults = {"lr": 2e-3, "batch_size": 64, "epochs": 3, "weight_decay": 0.0}
    # the tune stage's default space (nlpbench.tune.space; a suite's `tune.space` overrides it key by key)
    search_space = {
        "train.lr": {"log_uniform": [3e-4, 1e-2]},
        "train.batch_size": {"choice": [16, 32, 64]},
        "train.schedule": {"choice": ["constant", "linear", "cosine"]},
        "train.warmup": {"uniform": [0.0, 0.2]},
        "train.weight_decay": {"uniform": [0.0, 0.1]},
        "params.dropout": {"uniform": [0.0, 0.5]},
        "params.hidden_size": {"choice": [64, 128, 256]},
        "params.num_layers": {"int": [1, 2]},
    }
    inputs = ("ids", "lengths")  # lengths: the packed recurrence never runs over padding
    tokenizer_params = ("min_frequency", "lowercase")
    unk_for_empty = True  # an empty text becomes one <unk>, so packing has a step

    def build(self, vocab_size: int, num_labels: int) -> nn.Module:
        return LSTMClassifier(self.cfg, vocab_size, num_labels)
