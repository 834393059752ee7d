"""`TextClassifier`: the adapter protocol written once for a text classifier over a trained word vocabulary.

A subclass gives its `Config` (a dataclass with at least `vocab_size` and
`max_len`) and `build(vocab_size, num_labels) -> nn.Module`; the model is
called as `model(*(batch[k] for k in inputs))` and returns logits [B, labels].
Everything else is here: the word tokenizer trained on the train split (Config
fields named in `tokenizer_params` are passed on, e.g. `min_frequency`), encoding,
padding, cross-entropy loss, argmax prediction and seeded synthetic batches.

    @register_adapter("bow")
    class BowAdapter(TextClassifier):
        Config = BowConfig
        def build(self, vocab_size, num_labels):
            return nn.Sequential(nn.EmbeddingBag(vocab_size, self.cfg.dim), nn.Linear(self.cfg.dim, num_labels))
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from nlpbench.adapter import TaskInfo, pad, random_ids
from nlpbench.tokenize import encode_all, train_tokenizer

UNK = 1  # nlpbench.tokenize's word specials: <pad> 0, <unk> 1


class TextClassifier:
    """Base class of a classification adapter; see the module docstring."""

    tasks = ("classification",)
    inputs: tuple[str, ...] = ("ids",)  # model inputs: "ids" [B, S] padded with 0; "lengths" [B] on the CPU
    tokenizer_params: tuple[str, ...] = ()  # Config fields passed to train_tokenizer (min_frequency, lowercase)
    unk_for_empty = False  # True: an empty text encodes as one <unk> (a recurrence needs at least one step)

    def __init__(self, config, info: TaskInfo):
        self.cfg, self.info = config, info
        self.tokenizer = None
        self.init = "random"
        self.vocab = config.vocab_size  # the model's vocabulary, set again by setup

    def build(self, vocab_size: int, num_labels: int) -> nn.Module:
        raise NotImplementedError(f"{type(self).__name__}.build(vocab_size, num_labels) must return the model")

    def setup(self, train=None) -> None:
        self.vocab = self.cfg.vocab_size  # perf cells (train=None): the config's size
        if train is not None:
            options = {k: getattr(self.cfg, k) for k in self.tokenizer_params}
            self.tokenizer = train_tokenizer("word", train["text"], self.cfg.vocab_size,
                                             cache_dir=self.info.cache_dir, **options)
            self.vocab = self.tokenizer.get_vocab_size()
        self.model = self.build(self.vocab, self.info.num_labels or 2).to(self.info.device)

    def encode(self, ds) -> list[dict]:
        ids = encode_all(self.tokenizer, ds["text"], self.cfg.max_len)
        if self.unk_for_empty:
            ids = [i or [UNK] for i in ids]
        labels = ds["label"] if "label" in ds.column_names else [0] * len(ids)  # unlabelled data still predicts
        return [{"ids": i, "label": y, "length": len(i)} for i, y in zip(ids, labels)]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        dev = self.info.device
        batch = {"ids": pad([e["ids"] for e in examples], 0, dev)}
        if "lengths" in self.inputs:  # packing takes lengths on the CPU (a torch requirement)
            batch["lengths"] = torch.tensor([len(e["ids"]) for e in examples])
        batch["label"] = torch.tensor([e["label"] for e in examples], device=dev)
        return batch

    def forward(self, batch: dict) -> torch.Tensor:
        return self.model(*(batch[k] for k in self.inputs))

    def loss(self, batch: dict) -> torch.Tensor:
        return F.cross_entropy(self.forward(batch), batch["label"])

    def predict(self, batch: dict) -> list[int]:
        return self.forward(batch).argmax(-1).tolist()

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        dev = self.info.device
        batch = {"ids": random_ids(batch_size, seq_len, self.vocab, generator).to(dev)}
        labels = torch.randint(0, self.info.num_labels or 2, (batch_size,), generator=generator)
        if "lengths" in self.inputs:
            batch["lengths"] = torch.full((batch_size,), seq_len)
        batch["label"] = labels.to(dev)
        return batch
