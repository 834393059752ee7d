"""`transformer`: the Transformer of "Attention Is All You Need" (Vaswani et al., 2017).

Two modes, picked by the task:
- classification: an encoder-only stack over token + position embeddings, a
  padding mask, mean (over real tokens) or first-token pooling, a linear head;
- translation: the encoder-decoder with a causal decoder, label smoothing, a
  warm-up schedule, one shared BPE vocabulary for both sides with tied input
  and output embeddings (Press & Wolf, 2017), and incremental decoding: each
  step feeds one token and reuses cached self-attention keys/values; the
  cross-attention keys/values are computed once per source.

Every attention goes through `F.scaled_dot_product_attention`, so CUDA picks a
fused kernel. Pre-norm (`norm_first`, Xiong et al., 2020) is the default since
it trains stably without a long warm-up; post-norm is the paper's layout.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from nlpbench.adapter import TaskInfo, pad, random_ids
from nlpbench.errors import BadInput
from nlpbench.registry import register_adapter
from nlpbench.tasks import get_task
from nlpbench.tokenize import encode_all, train_tokenizer

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # the first four specials of every nlpbench.tokenize kind


@dataclass
class TransformerConfig:
    tokenizer: Literal["auto", "word", "bpe", "wordpiece"] = "auto"  # auto: word (classification), bpe (translation)
    vocab_size: int = 8000
    min_frequency: int = 2
    lowercase: bool = False
    max_len: int = 128  # tokens kept per text (per side in translation)
    d_model: int = 256
    n_heads: int = 4
    n_layers: int = 3  # encoder layers
    n_decoder_layers: int = 3  # translation only
    d_ff: int = 1024
    dropout: float = 0.1
    positional: Literal["sinusoidal", "learned"] = "sinusoidal"
    max_positions: int = 1024  # size of the learned position table
    pooling: Literal["mean", "first"] = "mean"  # classification only
    norm_first: bool = True  # pre-norm
    label_smoothing: float = 0.1  # translation loss
    beam_size: int = 1  # 1 = greedy
    length_penalty: float = 1.0
    max_decode_ratio: float = 1.5  # decode at most ratio * src_len + extra tokens
    max_decode_extra: int = 10
    kv_cache: bool = True  # false recomputes the whole prefix each step (for comparison only)

    def __post_init__(self):  # runs at `nlpbench validate` too, so bad sizes fail before any training
        checks = [
            (self.n_heads > 0 and self.d_model > 0 and self.d_model % self.n_heads == 0,
             f"d_model: allowed a positive multiple of n_heads={self.n_heads}; given {self.d_model}"),
            *[(getattr(self, k) >= 1, f"{k}: allowed >= 1; given {getattr(self, k)}")
              for k in ("n_layers", "n_decoder_layers", "d_ff", "beam_size", "max_positions")],
            (self.max_len >= 2, f"max_len: allowed >= 2; given {self.max_len}"),
            (self.vocab_size > 4, f"vocab_size: allowed > 4 (ids 0-3 are specials); given {self.vocab_size}"),
            (0 <= self.dropout < 1, f"dropout: allowed 0 <= p < 1; given {self.dropout}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing: allowed 0 <= eps < 1; given {self.label_smoothing}"),
            (self.min_frequency >= 0, f"min_frequency: allowed >= 0; given {self.min_frequency}"),
            (self.max_decode_ratio >= 0 and self.max_decode_extra >= 0,
             f"max_decode_ratio/max_decode_extra: allowed >= 0; given {self.max_decode_ratio}/{self.max_decode_extra}"),
        ]
        if problems := [msg for ok, msg in checks if not ok]:
            raise BadInput(problems)


def sinusoid(positions: torch.Tensor, d: int) -> torch.Tensor:
    """The paper's fixed encodings, computed for any positions (no length limit)."""
    freq = torch.exp(torch.arange(0, d, 2, device=positions.device) * (-math.log(10000.0) / d))
    angle = positions.float()[:, None] * freq
    return torch.stack([angle.sin(), angle.cos()], -1).flatten(1)[:, :d]


class Embed(nn.Module):
    def __init__(self, cfg: TransformerConfig, vocab: int):
        super().__init__()
        self.d = cfg.d_model
        self.tok = nn.Embedding(vocab, cfg.d_model, padding_idx=PAD)
        # std d^-1/2 times the sqrt(d) scale below gives unit-variance inputs and, tied
        # to the output, logits of unit scale.
        nn.init.normal_(self.tok.weight, std=cfg.d_model**-0.5)
        with torch.no_grad():
            self.tok.weight[PAD].zero_()  # as nn.Embedding leaves it (normal_ overwrote it)
        self.pos = nn.Embedding(cfg.max_positions, cfg.d_model) if cfg.positional == "learned" else None
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        positions = torch.arange(start, start + ids.size(1), device=ids.device)
        pos = self.pos(positions) if self.pos is not None else sinusoid(positions, self.d)
        return self.drop(self.tok(ids) * math.sqrt(self.d) + pos)


class Attention(nn.Module):
    """Multi-head attention; keys/values are projected separately so they can be cached."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.h, self.p = cfg.n_heads, cfg.dropout
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.kv = nn.Linear(cfg.d_model, 2 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)

    def split(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, d] -> [B, h, T, d/h]
        return x.unflatten(-1, (self.h, -1)).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(x).chunk(2, -1)
        return self.split(k), self.split(v)

    def forward(self, x, k, v, mask=None, causal=False) -> torch.Tensor:
        y = F.scaled_dot_product_attention(
            self.split(self.q(x)), k, v, attn_mask=mask, is_causal=causal, dropout_p=self.p if self.training else 0.0
        )
        return self.out(y.transpose(1, 2).flatten(2))


class Sublayer(nn.Module):
    """Residual around `fn`, normalised before (pre-norm) or after (post-norm)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.norm, self.drop, self.pre = nn.LayerNorm(cfg.d_model), nn.Dropout(cfg.dropout), cfg.norm_first

    def forward(self, x: torch.Tensor, fn) -> torch.Tensor:
        return x + self.drop(fn(self.norm(x))) if self.pre else self.norm(x + self.drop(fn(x)))


def feed_forward(cfg: TransformerConfig) -> nn.Module:
    d, ff = cfg.d_model, cfg.d_ff
    return nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(ff, d))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.attn, self.ff = Attention(cfg), feed_forward(cfg)
        self.s1, self.s2 = Sublayer(cfg), Sublayer(cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.s1(x, lambda h: self.attn(h, *self.attn.keys_values(h), mask=mask))
        return self.s2(x, self.ff)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.self_attn, self.cross, self.ff = Attention(cfg), Attention(cfg), feed_forward(cfg)
        self.s1, self.s2, self.s3 = Sublayer(cfg), Sublayer(cfg), Sublayer(cfg)

    def forward(self, x, cross_kv, src_mask, past=None):
        """past=None: whole target at once under a causal mask. past=(k, v): x is the
        next single token and attends to every cached position, so no mask is needed.
        Returns x and this layer's self-attention (k, v) for the cache."""
        kv = None

        def self_attn(h):
            nonlocal kv
            k, v = self.self_attn.keys_values(h)
            if past is not None:
                k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
            kv = (k, v)
            return self.self_attn(h, k, v, causal=past is None)

        x = self.s1(x, self_attn)
        x = self.s2(x, lambda h: self.cross(h, *cross_kv, mask=src_mask))
        return self.s3(x, self.ff), kv


class Encoder(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model) if cfg.norm_first else nn.Identity()  # pre-norm leaves x unnormalised

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


def _init_linears(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def key_mask(ids: torch.Tensor) -> torch.Tensor:
    """[B, 1, 1, S] boolean, True where a key is a real token (SDPA's convention)."""
    return (ids != PAD)[:, None, None, :]


class Classifier(nn.Module):
    def __init__(self, cfg: TransformerConfig, vocab: int, num_labels: int):
        super().__init__()
        self.pooling = cfg.pooling
        self.embed, self.encoder = Embed(cfg, vocab), Encoder(cfg)
        self.drop, self.head = nn.Dropout(cfg.dropout), nn.Linear(cfg.d_model, num_labels)
        _init_linears(self)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(ids), key_mask(ids))
        if self.pooling == "first":  # the <bos> every example starts with, as BERT's [CLS]
            pooled = h[:, 0]
        else:
            keep = (ids != PAD).unsqueeze(-1).to(h.dtype)
            pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return self.head(self.drop(pooled))


class Translator(nn.Module):
    def __init__(self, cfg: TransformerConfig, vocab: int):
        super().__init__()
        self.embed, self.encoder = Embed(cfg, vocab), Encoder(cfg)  # one embedding for both sides
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_decoder_layers))
        self.norm = nn.LayerNorm(cfg.d_model) if cfg.norm_first else nn.Identity()
        _init_linears(self)

    def encode(self, src: torch.Tensor) -> dict:
        """Decoder state for a source: cross-attention keys/values per layer, computed once."""
        mask = key_mask(src)
        memory = self.encoder(self.embed(src), mask)
        return {"cross": [layer.cross.keys_values(memory) for layer in self.decoder], "mask": mask}

    def decode(self, tgt: torch.Tensor, enc: dict, past: list | None = None, start: int = 0):
        x, cache = self.embed(tgt, start), []
        for i, layer in enumerate(self.decoder):
            x, kv = layer(x, enc["cross"][i], enc["mask"], None if past is None else past[i])
            cache.append(kv)
        return F.linear(self.norm(x), self.embed.tok.weight), cache  # tied output projection

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(tgt_in, self.encode(src))[0]


def take(state, index: torch.Tensor):
    """Rows `index` of every tensor in a nested state (expands to beams, follows beams)."""
    if torch.is_tensor(state):
        return state.index_select(0, index)
    if isinstance(state, dict):
        return {k: take(v, index) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(take(v, index) for v in state)
    return state


@register_adapter("transformer")
class TransformerAdapter:
    Config = TransformerConfig
    tasks = ("classification", "translation")
    # Warm-up then 1/sqrt(step) decay, as the paper (fraction of the planned steps).
    train_defaults = {"lr": 5e-4, "schedule": "inverse_sqrt", "warmup": 0.1, "clip_norm": 1.0, "batch_size": 64}
    # the tune stage's default space, for both roles (classifier and translator: only keys that act in both;
    # a translation suite adds e.g. params.label_smoothing and params.n_decoder_layers in its tune.space)
    search_space = {
        "train.lr": {"log_uniform": [1e-4, 3e-3]},
        "train.batch_size": {"choice": [16, 32, 64]},
        "train.schedule": {"choice": ["linear", "cosine", "inverse_sqrt"]},
        "train.warmup": {"uniform": [0.0, 0.2]},
        "train.weight_decay": {"uniform": [0.0, 0.1]},
        "params.dropout": {"uniform": [0.0, 0.3]},
        "params.d_model": {"choice": [64, 128, 256]},
        "params.n_layers": {"int": [1, 4]},
    }
    decoding_methods = ("encode", "decode")  # what decoding calls on the model (perf compile: nlpbench.perf.compiling)

    def __init__(self, config: TransformerConfig, info: TaskInfo):
        if info.task not in self.tasks:
            raise BadInput(f"task: allowed {', '.join(self.tasks)}; given '{info.task}'")
        self.cfg, self.info = config, info
        self.translate = get_task(info.task).generates
        self.tokenizer = None
        self.init = "random"

    def setup(self, train=None) -> None:
        vocab = self.cfg.vocab_size
        if train is not None:
            kind = self.cfg.tokenizer if self.cfg.tokenizer != "auto" else ("bpe" if self.translate else "word")
            texts = list(train["src"]) + list(train["tgt"]) if self.translate else train["text"]
            self.tokenizer = train_tokenizer(kind, texts, self.cfg.vocab_size, min_frequency=self.cfg.min_frequency,
                                             lowercase=self.cfg.lowercase, cache_dir=self.info.cache_dir)
            vocab = self.tokenizer.get_vocab_size()
        torch.manual_seed(self.info.seed)
        if self.translate:
            self.model = Translator(self.cfg, vocab).to(self.info.device)
        else:
            self.model = Classifier(self.cfg, vocab, self.info.num_labels or 2).to(self.info.device)

    # -- data ---------------------------------------------------------------

    def encode(self, ds) -> list[dict]:
        n = self.cfg.max_len - 1  # room for one special
        if not self.translate:
            ids = encode_all(self.tokenizer, ds["text"], n)
            labels = ds["label"] if "label" in ds.column_names else [0] * len(ids)
            return [{"ids": [BOS] + i, "label": y, "length": len(i) + 1} for i, y in zip(ids, labels)]
        src = encode_all(self.tokenizer, ds["src"], n)
        tgt = encode_all(self.tokenizer, ds["tgt"], n) if "tgt" in ds.column_names else [[] for _ in src]
        return [{"src": s + [EOS], "tgt": t, "length": len(s) + 1} for s, t in zip(src, tgt)]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        dev = self.info.device
        if not self.translate:
            return {"ids": pad([e["ids"] for e in examples], PAD, dev),
                    "label": torch.tensor([e["label"] for e in examples], device=dev)}
        return {"src": pad([e["src"] for e in examples], PAD, dev),
                "tgt_in": pad([[BOS] + e["tgt"] for e in examples], PAD, dev),
                "tgt_out": pad([e["tgt"] + [EOS] for e in examples], PAD, dev)}

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        vocab, dev = self.model.embed.tok.num_embeddings, self.info.device
        if not self.translate:
            labels = torch.randint(0, self.info.num_labels or 2, (batch_size,), generator=generator)
            return {"ids": random_ids(batch_size, seq_len, vocab, generator).to(dev), "label": labels.to(dev)}
        src, tgt = (random_ids(batch_size, seq_len, vocab, generator) for _ in range(2))
        tgt_in = torch.cat([torch.full((batch_size, 1), BOS), tgt[:, :-1]], 1)
        return {"src": src.to(dev), "tgt_in": tgt_in.to(dev), "tgt_out": tgt.to(dev)}

    # -- model --------------------------------------------------------------

    def forward(self, batch: dict) -> torch.Tensor:
        if self.translate:
            return self.model(batch["src"], batch["tgt_in"])
        return self.model(batch["ids"])

    def loss(self, batch: dict) -> torch.Tensor:
        logits = self.forward(batch).float()
        if not self.translate:
            return F.cross_entropy(logits, batch["label"])
        return F.cross_entropy(logits.flatten(0, 1), batch["tgt_out"].flatten(), ignore_index=PAD,
                               label_smoothing=self.cfg.label_smoothing)

    def predict(self, batch: dict) -> list:
        if not self.translate:
            return self.forward(batch).argmax(-1).tolist()
        src_len = (batch["src"] != PAD).sum(1)
        max_len = (self.cfg.max_decode_ratio * src_len + self.cfg.max_decode_extra).long()
        return [self.tokenizer.decode(ids) for ids in self.search(batch["src"], max_len.clamp(max=self._len_cap()))]

    def generate(self, batch: dict, max_new_tokens: int, fixed_length: bool = False) -> torch.Tensor:
        if max_new_tokens > self._len_cap():
            raise BadInput(f"max_new_tokens: allowed <= {self._len_cap()} (max_positions - 1); given {max_new_tokens}")
        out = self.search(batch["src"], max_new_tokens, fixed_length)
        return pad(out, PAD, self.info.device, length=max(1, max(map(len, out))))

    def export_onnx(self, example: dict, session):
        """The onnx variant: forward, or encoder and cached one-token step (nlpbench.models.transformer_onnx)."""
        from nlpbench.models.transformer_onnx import export_onnx

        return export_onnx(self, example, session)

    # -- decoding -----------------------------------------------------------

    @staticmethod
    def max_positions(cfg: TransformerConfig) -> int | None:
        """A learned position table holds cfg.max_positions positions; sinusoidal ones have no limit."""
        return cfg.max_positions if cfg.positional == "learned" else None

    def _len_cap(self) -> int:
        return self.cfg.max_positions - 1 if self.cfg.positional == "learned" else 1 << 20

    def search(self, src: torch.Tensor, max_len, fixed_length: bool = False) -> list[list[int]]:
        """Greedy (beam_size 1) or beam search through the shared nlpbench.decoding."""
        from nlpbench.decoding import beam_search, greedy_decode

        state, step, reorder = self.decoder_fns(src, fixed_length)
        common = dict(batch_size=src.size(0), bos_id=BOS, eos_id=EOS, max_len=max_len)
        if self.cfg.beam_size == 1:
            return greedy_decode(step, state, fixed_length=fixed_length, **common)
        return beam_search(step, reorder, state, beam_size=self.cfg.beam_size,
                           length_penalty=self.cfg.length_penalty, **common)

    def decoder_fns(self, src: torch.Tensor, fixed_length: bool = False, kv_cache: bool | None = None):
        """(state, step, reorder) for nlpbench.decoding. With the cache a step runs the
        decoder on one new token; without it, on the whole prefix (same result, O(t) more work)."""
        model, cached = self.model, self.cfg.kv_cache if kv_cache is None else kv_cache
        enc = model.encode(src)
        if cached:  # an empty cache shaped (and typed, under autocast) like the keys the model makes
            empty = enc["cross"][0][0][:, :, :0]
            state = {"enc": enc, "past": [(empty, empty)] * len(model.decoder), "pos": 0}
        else:
            state = {"enc": enc, "prefix": src.new_zeros((src.size(0), 0))}

        def step(st: dict, last: torch.Tensor):
            if cached:
                logits, past = model.decode(last[:, None], st["enc"], st["past"], start=st["pos"])
                new = {"enc": st["enc"], "past": past, "pos": st["pos"] + 1}
            else:
                prefix = torch.cat([st["prefix"], last[:, None]], 1)
                logits, _ = model.decode(prefix, st["enc"])
                new = {"enc": st["enc"], "prefix": prefix}
            logp = F.log_softmax(logits[:, -1].float(), -1)
            banned = [PAD, BOS] + ([EOS] if fixed_length else [])  # never generated; EOS masked for fixed length
            logp[:, banned] = -math.inf
            return logp, new

        return state, step, take
