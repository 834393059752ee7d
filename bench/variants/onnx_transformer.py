"""The `onnx` variant of the Transformer translator: an encoder graph and a one-token decoder step graph.

Encoder graph: `src -> (mask, k_0, v_0, ..., k_{L-1}, v_{L-1})` (the
cross-attention keys/values each decoder layer reads, computed once per
source, as `Translator.encode` does). Step graph: `(token [N,1], pos, mask,
cross k/v per layer, cached self-attention k/v per layer) -> (logits [N,1,V],
new k/v per layer)`. The step wrapper feeds the position as a tensor (the
PyTorch model takes it as a Python int, which tracing would freeze), otherwise
it runs the model's own embedding, decoder layers, final norm and tied
projection. The variant's model is a stand-in with `encode`/`decode`, so the
adapter's own `decoder_fns` and search (greedy or beam, cache reordered by
`take`) run unchanged. Needs `kv_cache: true` (the default).
"""
from __future__ import annotations

import io
import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from nlpbench.variants.base import Unsupported


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
        from nlpbench.models.transformer import sinusoid

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


def _export(module, args, inputs, outputs, axes) -> bytes:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, f, dynamo=False, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=17)
    return f.getvalue()


def export_translator(model, src: torch.Tensor) -> tuple[bytes, bytes]:
    L = len(model.decoder)
    cross, past, new = _names("cross", L), _names("past", L), _names("new", L)
    rows = {0: "rows"}
    try:
        with torch.no_grad():
            enc_graph = _export(_Encode(model), (src,), ["src"], ["mask", *cross],
                                {"src": {0: "rows", 1: "src"}, "mask": {0: "rows", 3: "src"},
                                 **{n: {0: "rows", 2: "src"} for n in cross}})
            enc = model.encode(src)
            kv = [t for pair in enc["cross"] for t in pair]
            # a non-empty example cache (3 positions) so its length axis is traced as dynamic
            cache = [t[:, :, :1].expand(-1, -1, 3, -1).contiguous() for t in kv]
            tokens = torch.full((src.size(0), 1), 2, dtype=torch.long, device=src.device)
            step_graph = _export(
                _Step(model), (tokens, torch.tensor(3), enc["mask"], *kv, *cache),
                ["tokens", "pos", "mask", *cross, *past], ["logits", *new],
                {"tokens": rows, "mask": {0: "rows", 3: "src"}, "logits": rows,
                 **{n: {0: "rows", 2: "src"} for n in cross}, **{n: {0: "rows", 2: "past"} for n in past},
                 **{n: {0: "rows", 2: "past1"} for n in new}})
    except Exception as e:  # noqa: BLE001
        raise Unsupported(f"onnx: translator export failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}") from e
    finally:
        model.eval()
    return enc_graph, step_graph


class OrtTranslator(nn.Module):
    """Stands in for `Translator`: `encode`/`decode` (with a cache) run ONNX Runtime."""

    def __init__(self, enc_session, step_session, layers: int, device: torch.device):
        super().__init__()
        self.enc, self.stp, self.device = enc_session, step_session, device
        self.decoder = [None] * layers  # decoder_fns reads len(model.decoder)
        self.anchor = nn.Parameter(torch.empty(0, device=device), requires_grad=False)  # predict_all's device

    def _run(self, session, arrays: dict) -> list[torch.Tensor]:
        feed = {k: v.detach().cpu().numpy() for k, v in arrays.items()}
        return [torch.from_numpy(x).to(self.device) for x in session.run(None, feed)]

    def encode(self, src):
        mask, *kv = self._run(self.enc, {"src": src})
        return {"cross": [(kv[2 * i], kv[2 * i + 1]) for i in range(len(self.decoder))], "mask": mask}

    def decode(self, tgt, enc, past=None, start: int = 0):
        if past is None or tgt.size(1) != 1:
            raise RuntimeError("onnx variant: only the cached one-token decoder step is exported")
        L = len(self.decoder)
        feed = {"tokens": tgt, "pos": torch.tensor(start), "mask": enc["mask"]}
        feed |= dict(zip(_names("cross", L), [t for kv in enc["cross"] for t in kv]))
        feed |= dict(zip(_names("past", L), [t for kv in past for t in kv]))
        logits, *kv = self._run(self.stp, feed)
        return logits, [(kv[2 * i], kv[2 * i + 1]) for i in range(L)]

    def forward(self, *args, **kwargs):
        raise RuntimeError("onnx variant: teacher-forced forward is not exported; decoding uses encode/decode")
