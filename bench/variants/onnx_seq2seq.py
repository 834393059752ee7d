"""The `onnx` variant of the GRU encoder-decoder (`seq2seq`): two graphs, one decoder step at a time.

Decoding is a Python loop (`nlpbench.decoding`) around a one-step function, so
what ONNX Runtime runs is that function's parts: the encoder graph
`(src, src_len) -> (hidden, values, keys, mask)` (the attention keys U·h_j
computed once per source, as the PyTorch model does) and the step graph
`(hidden, values, keys, mask, prev) -> (logits, hidden)` (attention, GRU cell,
deep output, tied projection). The variant's model is a stand-in whose
`encode`/`step` call the two sessions, so the adapter's own `decode`/`predict`
(greedy or beam, `_reorder` on the memory's tensors) run unchanged.
"""
from __future__ import annotations

import io
import warnings

import torch
import torch.nn as nn

from nlpbench.variants.base import Unsupported


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
        from nlpbench.models.seq2seq import Memory

        feats, mem = self.model.step(Memory(hidden, values, keys, mask), prev)
        return self.model.out(feats), mem.hidden


def _export(module: nn.Module, args: tuple, inputs: list[str], outputs: list[str], axes: dict) -> bytes:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notice and RNN shape-inference warnings
        torch.onnx.export(module.eval(), args, f, dynamo=False, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=17)
    return f.getvalue()


def export_seq2seq(model, example: dict) -> tuple[bytes, bytes]:
    """(encoder graph, step graph) as ONNX bytes, traced on `example` (a collated batch)."""
    N, S = "rows", "src_len"
    src, src_len = example["src"], example["src_len"]
    try:
        with torch.no_grad():
            enc = _export(_Encode(model), (src, src_len), ["src", "src_len"], ["hidden", "values", "keys", "mask"],
                          {"src": {0: N, 1: S}, "src_len": {0: N}, "hidden": {0: N}, "values": {0: N, 1: S},
                           "keys": {0: N, 1: S}, "mask": {0: N, 1: S}})
            mem = model.encode(src, src_len)
            prev = torch.full((src.size(0),), 2, dtype=torch.long, device=src.device)
            step = _export(_Step(model), (*mem, prev), ["hidden", "values", "keys", "mask", "prev"],
                           ["logits", "hidden_out"],
                           {"hidden": {0: N}, "values": {0: N, 1: S}, "keys": {0: N, 1: S}, "mask": {0: N, 1: S},
                            "prev": {0: N}, "logits": {0: N}, "hidden_out": {0: N}})
    except Exception as e:  # noqa: BLE001
        raise Unsupported(f"onnx: seq2seq export failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}") from e
    finally:
        model.eval()
    return enc, step


class OrtSeq2Seq(nn.Module):
    """Stands in for `Seq2Seq`: `encode` and `step` run ONNX Runtime; `out` is the identity
    because the step graph already ends in the output projection."""

    def __init__(self, enc_session, step_session, device: torch.device):
        super().__init__()
        self.enc, self.stp, self.device = enc_session, step_session, device
        self.anchor = nn.Parameter(torch.empty(0, device=device), requires_grad=False)  # predict_all's device

    def _run(self, session, feed: dict) -> list[torch.Tensor]:
        wanted = {i.name for i in session.get_inputs()}
        arrays = {k: v.detach().cpu().numpy() for k, v in feed.items() if k in wanted}
        return [torch.from_numpy(x).to(self.device) for x in session.run(None, arrays)]

    def encode(self, src, src_len):
        from nlpbench.models.seq2seq import Memory

        return Memory(*self._run(self.enc, {"src": src, "src_len": src_len}))

    def step(self, mem, prev):
        logits, hidden = self._run(self.stp, {**mem._asdict(), "prev": prev})
        return logits, mem._replace(hidden=hidden)

    def out(self, x):
        return x

    def forward(self, *args, **kwargs):
        raise RuntimeError("onnx variant: teacher-forced forward is not exported; decoding uses encode/step")
