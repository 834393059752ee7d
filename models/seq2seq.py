"""`seq2seq`: RNN encoder-decoder with additive attention (Bahdanau, Cho & Bengio, 2015).

"Neural Machine Translation by Jointly Learning to Align and Translate":
- a bidirectional GRU encoder over packed sequences (padding never enters the
  recurrence); its final forward/backward states, through a tanh bridge, start
  the decoder;
- a GRU decoder that at each step scores every source position with additive
  attention e_j = v^T tanh(W s_{t-1} + U h_j) (padding masked to -inf), reads
  the context c_t, updates s_t = GRU([y_{t-1}; c_t], s_{t-1}) and predicts y_t
  from a deep output tanh(R [s_t; c_t; y_{t-1}]) (the paper's maxout readout,
  simplified) projected onto the vocabulary;
- teacher forcing with a ratio: during training each previous token is the
  reference with probability `teacher_forcing`, else the model's own argmax;
- one BPE vocabulary shared by both sides, trained on the train split; the
  output projection is tied to the decoder embedding (Press & Wolf, 2017).

Decoding (greedy or beam) goes through `nlpbench.decoding` via `_step`/`_reorder`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nlpbench.adapter import TaskInfo, check_params, pad, random_ids
from nlpbench.decoding import beam_search, greedy_decode
from nlpbench.errors import BadInput
from nlpbench.registry import register_adapter
from nlpbench.tokenize import encode_all, train_tokenizer

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # nlpbench.tokenize's bpe specials, in order


@dataclass
class Seq2SeqConfig:
    vocab_size: int = 8000  # BPE size (shared source+target)
    min_frequency: int = 2
    lowercase: bool = False
    max_len: int = 128  # tokens kept per side when encoding
    emb_size: int = 256
    hidden_size: int = 512  # per direction in the encoder; the decoder's state size
    attn_size: int = 256
    dropout: float = 0.3
    teacher_forcing: float = 1.0  # probability of feeding the reference token in training
    label_smoothing: float = 0.0
    beam_size: int = 1  # 1 = greedy
    length_penalty: float = 1.0  # beam score = log p / len ** length_penalty (nlpbench.decoding)
    max_decode_ratio: float = 1.5  # decode at most ratio * src_len + extra tokens
    max_decode_extra: int = 10

    def __post_init__(self):
        check_params([
            (self.vocab_size > 4, f"vocab_size: allowed > 4 (four specials); given {self.vocab_size}"),
            (self.max_len >= 2, f"max_len: allowed >= 2; given {self.max_len}"),
            (self.min_frequency >= 0, f"min_frequency: allowed >= 0; given {self.min_frequency}"),
            *[(getattr(self, k) >= 1, f"{k}: allowed >= 1; given {getattr(self, k)}")
              for k in ("emb_size", "hidden_size", "attn_size")],
            (0 <= self.dropout < 1, f"dropout: allowed 0 <= p < 1; given {self.dropout}"),
            (0 <= self.teacher_forcing <= 1, f"teacher_forcing: allowed 0..1; given {self.teacher_forcing}"),
            (0 <= self.label_smoothing < 1, f"label_smoothing: allowed 0 <= eps < 1; given {self.label_smoothing}"),
            (self.beam_size >= 1, f"beam_size: allowed >= 1; given {self.beam_size}"),
            (self.max_decode_ratio >= 0 and self.max_decode_extra >= 0,
             f"max_decode_ratio/max_decode_extra: allowed >= 0; given {self.max_decode_ratio}/{self.max_decode_extra}"),
        ])  # fmt: skip


class Memory(NamedTuple):
    """Decoder state: what one step needs. Rows are (sentence x beam)."""

    hidden: torch.Tensor  # [N, H] decoder state s_{t-1}
    values: torch.Tensor  # [N, S, 2H] encoder outputs h_j
    keys: torch.Tensor  # [N, S, A] U h_j, computed once per source
    mask: torch.Tensor  # [N, S] True on real source tokens


class Encoder(nn.Module):
    def __init__(self, vocab: int, emb: int, hidden: int, dropout: float):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.rnn = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)
        self.drop = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.drop(self.emb(src))
        # Packing (lengths live on the CPU) keeps padding out of both directions' recurrences.
        packed = pack_padded_sequence(x, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        return out, torch.tanh(self.bridge(torch.cat([h[0], h[1]], -1)))


class AdditiveAttention(nn.Module):
    def __init__(self, query: int, key: int, attn: int):
        super().__init__()
        self.w = nn.Linear(query, attn, bias=False)
        self.u = nn.Linear(key, attn)
        self.v = nn.Linear(attn, 1, bias=False)

    def forward(self, query: torch.Tensor, mem: Memory) -> torch.Tensor:
        scores = self.v(torch.tanh(mem.keys + self.w(query).unsqueeze(1))).squeeze(-1)  # [N, S]
        weights = scores.masked_fill(~mem.mask, float("-inf")).softmax(-1)
        return torch.bmm(weights.unsqueeze(1), mem.values).squeeze(1)  # [N, 2H]


class Seq2Seq(nn.Module):
    def __init__(self, vocab: int, cfg: Seq2SeqConfig):
        super().__init__()
        E, H = cfg.emb_size, cfg.hidden_size
        self.encoder = Encoder(vocab, E, H, cfg.dropout)
        self.attn = AdditiveAttention(H, 2 * H, cfg.attn_size)
        self.emb = nn.Embedding(vocab, E, padding_idx=PAD)
        self.cell = nn.GRUCell(E + 2 * H, H)
        self.readout = nn.Linear(H + 2 * H + E, E)
        self.out = nn.Linear(E, vocab)
        self.out.weight = self.emb.weight  # tied: shared vocab, fewer parameters
        # N(0, 1) rows would make the tied output's initial logits huge (std ~ sqrt(E)).
        nn.init.normal_(self.emb.weight, std=E**-0.5)
        self.drop = nn.Dropout(cfg.dropout)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Memory:
        values, hidden = self.encoder(src, src_len)
        mask = torch.arange(src.size(1), device=src.device) < src_len.unsqueeze(1)
        return Memory(hidden, values, self.attn.u(values), mask)

    def step(self, mem: Memory, prev: torch.Tensor) -> tuple[torch.Tensor, Memory]:
        """One decoder step: returns the readout features [N, E] and the new memory."""
        e = self.drop(self.emb(prev))
        ctx = self.attn(mem.hidden, mem)  # attends with s_{t-1}, as in the paper
        hidden = self.cell(torch.cat([e, ctx], -1), mem.hidden)
        feats = torch.tanh(self.readout(self.drop(torch.cat([hidden, ctx, e], -1))))
        return feats, mem._replace(hidden=hidden)

    def forward(self, src, src_len, tgt_in, teacher_forcing: float = 1.0) -> torch.Tensor:
        """Logits [B, T, V] for every target position (teacher-forced with the given ratio)."""
        mem = self.encode(src, src_len)
        feats, prev = [], tgt_in[:, 0]
        for t in range(tgt_in.size(1)):
            f, mem = self.step(mem, prev)
            feats.append(f)
            if t + 1 < tgt_in.size(1):
                prev = tgt_in[:, t + 1]
                if teacher_forcing < 1:  # feed back the model's own guess with prob 1 - ratio
                    own = self.out(f).argmax(-1)
                    prev = torch.where(torch.rand(prev.shape, device=prev.device) < teacher_forcing, prev, own)
        # One projection for all steps: much cheaper than per-step matmuls.
        return self.out(torch.stack(feats, 1))


def _reorder(mem: Memory, index: torch.Tensor) -> Memory:
    return Memory(*(x.index_select(0, index) for x in mem))


@register_adapter("seq2seq")
class Seq2SeqAdapter:
    Config = Seq2SeqConfig
    tasks = ("translation",)
    train_defaults = {"lr": 1e-3, "batch_size": 64, "clip_norm": 1.0, "weight_decay": 0.0}
    # the tune stage's default space (nlpbench.tune.space)
    search_space = {
        "train.lr": {"log_uniform": [3e-4, 3e-3]},
        "train.batch_size": {"choice": [32, 64, 128]},
        "train.schedule": {"choice": ["constant", "linear", "cosine"]},
        "train.warmup": {"uniform": [0.0, 0.1]},
        "train.weight_decay": {"uniform": [0.0, 0.05]},
        "params.dropout": {"uniform": [0.1, 0.5]},
        "params.label_smoothing": {"uniform": [0.0, 0.2]},
        "params.hidden_size": {"choice": [128, 256, 512]},
        "params.emb_size": {"choice": [128, 256]},
    }
    decoding_methods = ("encode", "step")  # what decoding calls on the model (perf compile: nlpbench.perf.compiling)

    def __init__(self, config: Seq2SeqConfig, info: TaskInfo):
        if info.task not in self.tasks:
            raise BadInput(f"task: allowed {', '.join(self.tasks)}; given '{info.task}'")
        self.cfg, self.info = config, info
        self.tokenizer = None
        self.init = "random"

    def setup(self, train=None) -> None:
        vocab = self.cfg.vocab_size
        if train is not None:
            texts = list(train["src"]) + list(train["tgt"])  # one vocabulary for both sides
            self.tokenizer = train_tokenizer("bpe", texts, self.cfg.vocab_size, min_frequency=self.cfg.min_frequency,
                                             lowercase=self.cfg.lowercase, cache_dir=self.info.cache_dir)
            vocab = self.tokenizer.get_vocab_size()
        self.model = Seq2Seq(vocab, self.cfg).to(self.info.device)

    def encode(self, ds) -> list[dict]:
        n = self.cfg.max_len - 1  # room for EOS
        src = encode_all(self.tokenizer, ds["src"], n)
        tgt = encode_all(self.tokenizer, ds["tgt"], n) if "tgt" in ds.column_names else [[] for _ in src]
        # EOS closes the source too, so an empty source still has one token to attend to.
        return [{"src": s + [EOS], "tgt": t, "length": max(len(s), len(t)) + 1} for s, t in zip(src, tgt)]

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        dev = self.info.device
        return {
            "src": pad([e["src"] for e in examples], PAD, dev),
            "src_len": torch.tensor([len(e["src"]) for e in examples], device=dev),
            "tgt_in": pad([[BOS] + e["tgt"] for e in examples], PAD, dev),
            "tgt_out": pad([e["tgt"] + [EOS] for e in examples], PAD, dev),
        }

    def forward(self, batch: dict) -> torch.Tensor:
        return self.model(batch["src"], batch["src_len"], batch["tgt_in"])

    def loss(self, batch: dict) -> torch.Tensor:
        ratio = self.cfg.teacher_forcing if self.model.training else 1.0
        logits = self.model(batch["src"], batch["src_len"], batch["tgt_in"], ratio)
        return F.cross_entropy(logits.flatten(0, 1).float(), batch["tgt_out"].flatten(),
                               ignore_index=PAD, label_smoothing=self.cfg.label_smoothing)

    def _step(self, mem: Memory, prev: torch.Tensor) -> tuple[torch.Tensor, Memory]:
        feats, mem = self.model.step(mem, prev)
        return F.log_softmax(self.model.out(feats).float(), -1), mem

    def decode(self, batch: dict, max_len, beam_size: int = 1, fixed_length: bool = False) -> list[list[int]]:
        """Token ids (no BOS/EOS) per row: greedy when beam_size == 1, else beam search."""
        mem = self.model.encode(batch["src"], batch["src_len"])
        B = batch["src"].size(0)
        if beam_size == 1:
            return greedy_decode(self._step, mem, B, BOS, EOS, max_len, fixed_length)
        step = self._step if not fixed_length else self._step_without_eos
        return beam_search(step, _reorder, mem, B, BOS, EOS, beam_size, max_len, self.cfg.length_penalty)

    def _step_without_eos(self, mem: Memory, prev: torch.Tensor) -> tuple[torch.Tensor, Memory]:
        """A step that never ends a hypothesis: fixed-length beam search (perf cells) runs every step."""
        log_probs, mem = self._step(mem, prev)
        log_probs[:, EOS] = float("-inf")
        return log_probs, mem

    def predict(self, batch: dict) -> list[str]:
        limit = (batch["src_len"].float() * self.cfg.max_decode_ratio).long() + self.cfg.max_decode_extra
        ids = self.decode(batch, limit, self.cfg.beam_size)
        return self.tokenizer.decode_batch(ids, skip_special_tokens=True)

    def generate(self, batch: dict, max_new_tokens: int, fixed_length: bool = False) -> torch.Tensor:
        """Greedy or beam search as `beam_size` says (as predict decodes), padded to LongTensor [B, T]."""
        ids = self.decode(batch, max_new_tokens, self.cfg.beam_size, fixed_length)
        return pad(ids, PAD, self.info.device, length=max_new_tokens if fixed_length else None)

    def export_onnx(self, example: dict, session):
        """The onnx variant: encoder and one-step decoder graphs (nlpbench.models.seq2seq_onnx)."""
        from nlpbench.models.seq2seq_onnx import export_onnx

        return export_onnx(self, example, session)

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        """Source and target of exactly `seq_len` tokens each (the decoder runs seq_len steps)."""
        vocab, dev = self.model.emb.num_embeddings, self.info.device
        src = random_ids(batch_size, seq_len, vocab, generator)
        tgt = random_ids(batch_size, seq_len + 1, vocab, generator)
        tgt[:, 0] = BOS
        return {"src": src.to(dev), "src_len": torch.full((batch_size,), seq_len, device=dev),
                "tgt_in": tgt[:, :-1].to(dev), "tgt_out": tgt[:, 1:].to(dev)}
