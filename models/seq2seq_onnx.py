"""`seq2seq`'s `export_onnx` hook: the GRU encoder-decoder as two graphs, one decoder step at a time.

Decoding is a Python loop (`nlpbench.decoding`) around a one-step function, so
what ONNX Runtime runs is that function's parts: the encoder graph
`(src, src_len) -> (hidden, values, keys, mask)` (the attention keys U·h_j
computed once per source, as the PyTorch model does) and the step graph
`(hidden, values, keys, mask, prev) -> (logits, hidden)` (attention, GRU cell,
deep output, tied projection). The variant's model is a stand-in whose
`encode`/`step` call the two sessions, so the adapter's own `decode`/`predict`
(greedy or beam, `_reorder` on the memory's tensors) run unchanged.
The export-and-check steps shared with the Transformer are `nlpbench.export.export_encoder_step`.
Imported only when the onnx variant is built (it needs the `variants` extra).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from nlpbench.adapter import OnnxExport
from nlpbench.export import OrtModule, export_encoder_step, export_graph
from nlpbench.models.seq2seq import BOS, Memory


class _Encode(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, src, src_len):
        return tuple(self.model.encode(src, src_len))


class _Step(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, hidden, values, keys, mask, prev):
        feats, mem = self.model.step(Memory(hidden, values, keys, mask), prev)
        return self.model.out(feats), mem.hidden


def export_seq2seq(model, example: dict) -> tuple[bytes, bytes]:
    """(encoder graph, step graph) as ONNX bytes, traced on `example` (a collated batch); run it through
    `nlpbench.export.traced` (no gradients, a failure said as `Unsupported`)."""
    N, S = "rows", "src_len"
    src, src_len = example["src"], example["src_len"]
    enc = export_graph(_Encode(model), (src, src_len), ["src", "src_len"], ["hidden", "values", "keys", "mask"],
                       {"src": {0: N, 1: S}, "src_len": {0: N}, "hidden": {0: N}, "values": {0: N, 1: S},
                        "keys": {0: N, 1: S}, "mask": {0: N, 1: S}})
    mem = model.encode(src, src_len)
    prev = torch.full((src.size(0),), BOS, dtype=torch.long, device=src.device)
    step = export_graph(_Step(model), (*mem, prev), ["hidden", "values", "keys", "mask", "prev"],
                        ["logits", "hidden_out"],
                        {"hidden": {0: N}, "values": {0: N, 1: S}, "keys": {0: N, 1: S}, "mask": {0: N, 1: S},
                         "prev": {0: N}, "logits": {0: N}, "hidden_out": {0: N}})
    return enc, step


class OrtSeq2Seq(OrtModule):
    """Stands in for `Seq2Seq`: `encode` and `step` run ONNX Runtime; `out` is the identity
    because the step graph already ends in the output projection."""

    def __init__(self, enc_session, step_session, device: torch.device):
        super().__init__(device)
        self.enc, self.stp = enc_session, step_session

    def encode(self, src, src_len):
        return Memory(*self.run(self.enc, {"src": src, "src_len": src_len}))

    def step(self, mem, prev):
        logits, hidden = self.run(self.stp, {**mem._asdict(), "prev": prev})
        return logits, mem._replace(hidden=hidden)

    def out(self, x):
        return x


def _first_step_diff(adapter, variant, example: dict, device: torch.device) -> float:
    """The variant's first decoder step against PyTorch's on the example."""
    with torch.inference_mode():
        mem = adapter.model.encode(example["src"], example["src_len"])
        prev = torch.full((example["src"].size(0),), BOS, dtype=torch.long, device=device)
        ref = adapter.model.out(adapter.model.step(mem, prev)[0])
        got = variant.model.step(variant.model.encode(example["src"], example["src_len"]), prev)[0]
    return (got - ref).abs().max().item()


def export_onnx(adapter, example: dict, session) -> OnnxExport:
    """The hook: both graphs, and the step graph checked against PyTorch on the example's first step."""
    device = next(adapter.model.parameters()).device
    return export_encoder_step(adapter, session, "seq2seq", lambda: export_seq2seq(adapter.model, example),
                               lambda enc, step: OrtSeq2Seq(enc, step, device),
                               lambda variant: _first_step_diff(adapter, variant, example, device))
