"""`hf-translator`: any Hugging Face `AutoModelForSeq2SeqLM` checkpoint (BART, Marian, T5 families), fine-tuned
or evaluated as is.

`checkpoint` is found as `hf-classifier`'s is (a folder, `pkg:`, or a hub name in the local Hugging Face
cache; `nlpbench.pretrained.load`), and its own tokenizer encodes both sides (`text_target` for the
target; `source_prefix` for T5's task prefix, e.g. "translate English to German: "). `train: null` in the
suite scores it as is.

Decoding is transformers' own `generate` (its KV cache, its beam search) with `beam_size`,
`length_penalty` and `max_new_tokens` from the params, and nothing sampled; the checkpoint's
generation config supplies the rest (decoder start, forced BOS/EOS). `generate(batch, n,
fixed_length=True)` (perf cells) decodes exactly n tokens: EOS is held back until then
(`min_new_tokens`). `decoding_methods = ("forward",)`: a compiled perf cell compiles the model's
forward, which `generate` calls each step. There is no `export_onnx` hook: the `onnx` variant is
recorded `unsupported` (decoding with a cache of past keys/values is more than the one-graph export).
Synthetic perf batches use the tokenizer's own special tokens (`nlpbench.models.hf_classifier.framed_ids`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AutoModelForSeq2SeqLM

from nlpbench import pretrained
from nlpbench.adapter import TaskInfo, check_params, pad
from nlpbench.errors import BadInput
from nlpbench.models.hf_classifier import HFClassifierAdapter, dropout_overrides, framed_ids, required_checkpoint
from nlpbench.registry import register_adapter

IGNORE = -100  # label positions the loss skips (transformers' convention)


@dataclass
class HFTranslatorConfig:
    checkpoint: str | None = None  # required: a folder, pkg:<package>/<folder>, or a hub name in the local HF cache
    trust_remote_code: bool = False  # the runner refuses True without the user's CLI flag
    max_len: int = 128  # tokens kept per side (source, target), special tokens included
    source_prefix: str = ""  # put before every source text (T5: "translate English to German: ")
    beam_size: int = 1  # 1 = greedy
    length_penalty: float = 1.0  # beam search: score = log p / len ** length_penalty
    max_new_tokens: int = 128  # predict's decoding limit
    dropout: float | None = None  # None: the checkpoint's; else every dropout probability of its config

    def __post_init__(self):
        check_params([
            required_checkpoint(self.checkpoint),
            (self.max_len >= 2, f"max_len: allowed >= 2; given {self.max_len}"),
            (self.beam_size >= 1, f"beam_size: allowed >= 1; given {self.beam_size}"),
            (self.max_new_tokens >= 1, f"max_new_tokens: allowed >= 1; given {self.max_new_tokens}"),
            (self.dropout is None or 0 <= self.dropout < 1, f"dropout: allowed 0 <= p < 1 or null; given {self.dropout}"),
        ])  # fmt: skip
        if problems := pretrained.checkpoint_problems(self.checkpoint):
            raise BadInput(problems)


@register_adapter("hf-translator")
class HFTranslatorAdapter:
    Config = HFTranslatorConfig
    tasks = ("translation",)
    # Fine-tuning a pretrained seq2seq model: the classifier's recipe (warm-up, linear decay), a little higher lr.
    train_defaults = {**HFClassifierAdapter.train_defaults, "lr": 5e-5}
    search_space = {**HFClassifierAdapter.search_space, "train.lr": {"log_uniform": [1e-5, 3e-4]}}
    decoding_methods = ("forward",)  # what generate calls on the model each step (perf compile)

    def __init__(self, config: HFTranslatorConfig, info: TaskInfo):
        if info.task not in self.tasks:
            raise BadInput(f"task: allowed {', '.join(self.tasks)}; given '{info.task}'")
        self.cfg, self.info = config, info
        self.tokenizer = None
        self.init = f"pretrained:{config.checkpoint}"
        self.checkpoint = config.checkpoint
        self.checkpoint_sha256 = None

    def setup(self, train=None) -> None:
        """The checkpoint's tokenizer and model, whether for training (`train`), perf (`None`) or a restore."""
        cfg = self.cfg
        loaded = pretrained.load(
            cfg.checkpoint, AutoModelForSeq2SeqLM, config=dropout_overrides(cfg.checkpoint, cfg.dropout),
            tokenizer_kwargs={"model_max_length": cfg.max_len}, restore=self.info.restore,
            trust_remote_code=cfg.trust_remote_code, cache_dir=self.info.cache_dir,
        )  # fmt: skip
        self.tokenizer, self.model, self.checkpoint_sha256 = loaded.tokenizer, loaded.model, loaded.sha256
        self.model.to(self.info.device).eval()

    def encode(self, ds) -> list[dict]:
        src = [self.cfg.source_prefix + s for s in ds["src"]]
        tgt = list(ds["tgt"]) if "tgt" in ds.column_names else None
        enc = self.tokenizer(src, text_target=tgt, truncation=True, max_length=self.cfg.max_len)
        keys = [k for k in self.tokenizer.model_input_names if k in enc]
        labels = enc["labels"] if tgt is not None else [[] for _ in src]
        return [{**{k: enc[k][i] for k in keys}, "labels": labels[i],
                 "length": max(len(enc["input_ids"][i]), len(labels[i]))} for i in range(len(src))]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        features = [{k: v for k, v in e.items() if k not in ("labels", "length")} for e in examples]
        batch = {k: v.to(self.info.device) for k, v in self.tokenizer.pad(features, return_tensors="pt").items()}
        batch["labels"] = pad([e["labels"] for e in examples], IGNORE, self.info.device)
        return batch

    def _decoder_inputs(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels shifted right behind the decoder start token, as the model's own loss does."""
        return self.model.prepare_decoder_input_ids_from_labels(labels=labels)

    def forward(self, batch: dict) -> torch.Tensor:
        """Teacher-forced logits [B, T, V] (no loss computed)."""
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        return self.model(**inputs, decoder_input_ids=self._decoder_inputs(batch["labels"])).logits

    def loss(self, batch: dict) -> torch.Tensor:
        return self.model(**batch).loss

    def generate(self, batch: dict, max_new_tokens: int, fixed_length: bool = False) -> torch.Tensor:
        """Token ids [B, T] after the decoder start token: greedy or beam search as `beam_size` says."""
        search = {"num_beams": self.cfg.beam_size, "do_sample": False, "max_new_tokens": max_new_tokens}
        if self.cfg.beam_size > 1:
            search["length_penalty"] = self.cfg.length_penalty
        if fixed_length:
            search["min_new_tokens"] = max_new_tokens
        inputs = {k: v for k, v in batch.items() if k in self.tokenizer.model_input_names}
        out = self.model.generate(**inputs, **search)[:, 1:]
        if fixed_length and out.size(1) != max_new_tokens:  # every row ended early: pad to the promised width
            out = pad(out.tolist(), self.tokenizer.pad_token_id, self.info.device, length=max_new_tokens)
        return out

    def predict(self, batch: dict) -> list[str]:
        ids = self.generate(batch, self.cfg.max_new_tokens)
        return [s.strip() for s in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        """Source and target of exactly `seq_len` tokens each, framed by the tokenizer's special tokens."""
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", None)
        if limit and seq_len > limit:
            raise BadInput(f"seq_len: allowed at most {limit} (the model's max_position_embeddings); given {seq_len}")
        vocab = min(len(self.tokenizer), config.vocab_size)
        src = framed_ids(self.tokenizer, vocab, batch_size, seq_len, generator)
        batch = {"input_ids": src, "attention_mask": torch.ones_like(src)}
        batch = {k: v for k, v in batch.items() if k in self.tokenizer.model_input_names}
        batch["labels"] = framed_ids(self.tokenizer, vocab, batch_size, seq_len, generator)
        return {k: v.to(self.info.device) for k, v in batch.items()}
