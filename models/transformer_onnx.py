"""`transformer`'s `export_onnx` hook: a classifier's forward, or a translator's encoder and one-token step.

Classification mode: the harness's default one-graph `forward` export
(`nlpbench.export.export_forward`). Translation mode, two graphs:
encoder graph `src -> (mask, k_0, v_0, ..., k_{L-1}, v_{L-1})` (the
cross-attention keys/values each decoder layer reads, computed once per
source, as `Translator.encode` does); step graph `(token [N,1], pos, mask,
cross k/v per layer, cached self-attention k/v per layer) -> (logits [N,1,V],
new k/v per layer)`. The step wrapper feeds the position as a tensor (the
PyTorch model takes it as a Python int, which tracing would freeze), otherwise
it runs the model's own embedding, decoder layers, final norm and tied
projection. The variant's model is a stand-in with `encode`/`decode`, so the
adapter's own `decoder_fns` and search (greedy or beam, cache reordered by
`take`) run unchanged. Needs `kv_cache: true` (the default).
The export-and-check steps shared with seq2seq are `nlpbench.export.export_encoder_step`.
Imported only when the onnx variant is built (it needs the `variants` extra).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from nlpbench.adapter import OnnxExport
from nlpbench.export import OrtModule, Unsupported, export_encoder_step, export_forward, export_graph
from nlpbench.models.transformer import BOS, sinusoid


class _Encode(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, src):
        enc = self.model.encode(src)
        return (enc["mask"], *[t for kv in enc["cross"] for t in kv])


class _Step(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model, self.layers = model, len(model.decoder)

    def forward(self, tokens, pos, mask, *kv):
        m, L = self.model, self.layers
        cross = [(kv[2 * i], kv[2 * i + 1]) for i in range(L)]
        past = [(kv[2 * L + 2 * i], kv[2 * L + 2 * i + 1]) for i in range(L)]
        positions = pos.reshape(1)  # a tensor, so the graph takes any position
        emb = m.embed
        p = emb.pos(positions) if emb.pos is not None else sinusoid(positions, emb.d)
        x = emb.tok(tokens) * math.sqrt(emb.d) + p  # dropout: identity in eval
        cache = []
        for i, layer in enumerate(m.decoder):
            x, new = layer(x, cross[i], mask, past[i])
            cache += list(new)
        return (F.linear(m.norm(x), emb.tok.weight), *cache)


def _names(prefix: str, layers: int) -> list[str]:
    return [f"{prefix}_{kind}{i}" for i in range(layers) for kind in ("k", "v")]


def export_translator(model, src: torch.Tensor) -> tuple[bytes, bytes]:
    """(encoder graph, step graph) as ONNX bytes, traced on `src`; run it through `nlpbench.export.traced`
    (no gradients, a failure said as `Unsupported`)."""
    L = len(model.decoder)
    cross, past, new = _names("cross", L), _names("past", L), _names("new", L)
    rows = {0: "rows"}
    enc_graph = export_graph(_Encode(model), (src,), ["src"], ["mask", *cross],
                             {"src": {0: "rows", 1: "src"}, "mask": {0: "rows", 3: "src"},
                              **{n: {0: "rows", 2: "src"} for n in cross}})
    enc = model.encode(src)
    kv = [t for pair in enc["cross"] for t in pair]
    # a non-empty example cache (3 positions) so its length axis is traced as dynamic
    cache = [t[:, :, :1].expand(-1, -1, 3, -1).contiguous() for t in kv]
    tokens = torch.full((src.size(0), 1), BOS, dtype=torch.long, device=src.device)
    step_graph = export_graph(
        _Step(model), (tokens, torch.tensor(3), enc["mask"], *kv, *cache),
        ["tokens", "pos", "mask", *cross, *past], ["logits", *new],
        {"tokens": rows, "mask": {0: "rows", 3: "src"}, "logits": rows,
         **{n: {0: "rows", 2: "src"} for n in cross}, **{n: {0: "rows", 2: "past"} for n in past},
         **{n: {0: "rows", 2: "past1"} for n in new}})
    return enc_graph, step_graph


class OrtTranslator(OrtModule):
    """Stands in for `Translator`: `encode`/`decode` (with a cache) run ONNX Runtime."""

    def __init__(self, enc_session, step_session, layers: int, device: torch.device):
        super().__init__(device)
        self.enc, self.stp = enc_session, step_session
        self.decoder = [None] * layers  # decoder_fns reads len(model.decoder)

    def encode(self, src):
        mask, *kv = self.run(self.enc, {"src": src})
        return {"cross": [(kv[2 * i], kv[2 * i + 1]) for i in range(len(self.decoder))], "mask": mask}

    def decode(self, tgt, enc, past=None, start: int = 0):
        if past is None or tgt.size(1) != 1:
            raise RuntimeError("onnx variant: only the cached one-token decoder step is exported")
        L = len(self.decoder)
        feed = {"tokens": tgt, "pos": torch.tensor(start), "mask": enc["mask"]}
        feed |= dict(zip(_names("cross", L), [t for kv in enc["cross"] for t in kv]))
        feed |= dict(zip(_names("past", L), [t for kv in past for t in kv]))
        logits, *kv = self.run(self.stp, feed)
        return logits, [(kv[2 * i], kv[2 * i + 1]) for i in range(L)]


def _max_step_diff(adapter, variant, src: torch.Tensor) -> float:
    """Two decoder steps of the variant against PyTorch (empty, then one-entry cache)."""
    with torch.inference_mode():
        ref_state, ref_step, _ = adapter.decoder_fns(src)
        got_state, got_step, _ = variant.decoder_fns(src)
        last = torch.full((src.size(0),), BOS, dtype=torch.long, device=src.device)
        diffs = []
        for _ in range(2):
            (a, ref_state), (b, got_state) = ref_step(ref_state, last), got_step(got_state, last)
            finite = torch.isfinite(a)
            diffs.append((a[finite] - b[finite]).abs().max().item())
            last = a.argmax(-1)
    return max(diffs)


def export_onnx(adapter, example: dict, session) -> OnnxExport:
    """The hook: a classifier's default forward export, or a translator's two graphs checked over two steps."""
    if not adapter.translate:
        return export_forward(adapter, example, session)
    if not adapter.cfg.kv_cache:
        raise Unsupported("onnx: the exported decoder step uses the key/value cache; this model has kv_cache: false")
    device, src, layers = next(adapter.model.parameters()).device, example["src"], len(adapter.model.decoder)
    return export_encoder_step(adapter, session, "translator", lambda: export_translator(adapter.model, src),
                               lambda enc, step: OrtTranslator(enc, step, layers, device),
                               lambda variant: _max_step_diff(adapter, variant, src))
