"""Building a deployment variant from a trained adapter.

A variant is a shallow copy of the trained adapter (tokenizer and methods
shared) whose model, or whose `forward`, is replaced, plus a context that every
scoring and timing pass runs inside (autocast for bf16/fp16). Scoring then goes
through the adapter's own `predict`, via `nlpbench.quality.train.predict_all`.

- `fp32`: the trained model itself.
- `bf16` / `fp16`: `torch.autocast` around every pass, weights untouched
  (fp16 autocast needs CUDA).
- `int8-dynamic`: a copy of the model with int8 weights and activations
  quantised on the fly: `torchao.quantization.quantize_` with
  `Int8DynamicActivationInt8WeightConfig` for `nn.Linear`, and
  `torch.ao.quantization.quantize_dynamic` for `nn.LSTM`/`nn.GRU`/`nn.GRUCell`
  (torchao has no recurrent-module support; the eager `torch.ao` path still
  runs in torch 2.x, CPU only). Embeddings stay fp32.
- `onnx`: see `nlpbench.variants.onnx_rt`.
- `compile`: `torch.compile(model)`; only `forward` is compiled (a translator's
  `encode`/`step` calls, used in decoding, run eager).
"""
from __future__ import annotations

import copy
import time

import torch
import torch.nn as nn

from nlpbench.export import Unsupported, copy_with_model
from nlpbench.variants.base import Variant, state_dict_bytes

RECURRENT = (nn.LSTM, nn.GRU, nn.GRUCell, nn.LSTMCell)


def _autocast(adapter, dtype: torch.dtype, name: str) -> Variant:
    device = next(adapter.model.parameters()).device
    if name == "fp16" and device.type != "cuda":
        raise Unsupported(f"fp16 autocast needs a CUDA device; this run is on {device.type} (use bf16 on CPU)")
    return Variant(name, adapter, lambda: torch.autocast(device.type, dtype=dtype),
                   state_dict_bytes(adapter.model), info={"autocast": str(dtype).removeprefix("torch.")})


def quantize_int8(model: nn.Module) -> dict:
    """Quantises `model` in place (recurrent modules replaced); returns what was quantised."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    kinds = {type(m) for m in model.modules() if isinstance(m, RECURRENT)}
    linears = sum(isinstance(m, nn.Linear) for m in model.modules())
    if not kinds and not linears:
        raise Unsupported("int8-dynamic: the model has no Linear, LSTM or GRU layer to quantise")
    if kinds:
        # torch.ao's eager dynamic quantisation, the only one for LSTM/GRU (CPU kernels only)
        model = torch.ao.quantization.quantize_dynamic(model, kinds, dtype=torch.qint8, inplace=True)
    if linears:
        quantize_(model, Int8DynamicActivationInt8WeightConfig())
    return {"torchao_linear": linears, "torch_ao_recurrent": sorted(k.__name__ for k in kinds)}


def _int8(adapter) -> Variant:
    device = next(adapter.model.parameters()).device
    model = copy.deepcopy(adapter.model).eval()
    if device.type != "cpu" and any(isinstance(m, RECURRENT) for m in model.modules()):
        raise Unsupported(f"int8-dynamic: torch.ao dynamic quantisation of LSTM/GRU runs on CPU only; device {device.type}")
    try:
        info = quantize_int8(model)
    except Unsupported:
        raise
    except Exception as e:  # a library refusing this model is a property of the variant, not a crash
        raise Unsupported(f"int8-dynamic: quantisation failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}") from e
    return Variant("int8-dynamic", copy_with_model(adapter, model), size_bytes=state_dict_bytes(model), info=info)


def _compile(adapter) -> Variant:
    compiled = torch.compile(adapter.model, dynamic=None)
    return Variant("compile", copy_with_model(adapter, compiled), size_bytes=state_dict_bytes(adapter.model),
                   info={"compiled": "forward"})


def build_variant(name: str, adapter, artifact=None, example: dict | None = None) -> Variant:
    """The variant `name` of the trained `adapter`; raises Unsupported with the reason.
    `artifact`: where the onnx variant writes its .onnx file (None: not written);
    `example`: a collated batch of real examples (the onnx export's inputs; default synthetic)."""
    t0 = time.perf_counter()
    if name == "fp32":
        v = Variant("fp32", adapter, size_bytes=state_dict_bytes(adapter.model))
    elif name in ("bf16", "fp16"):
        v = _autocast(adapter, {"bf16": torch.bfloat16, "fp16": torch.float16}[name], name)
    elif name == "int8-dynamic":
        v = _int8(adapter)
    elif name == "onnx":
        from nlpbench.variants.onnx_rt import onnx_variant

        v = onnx_variant(adapter, artifact, example)
    elif name == "compile":
        v = _compile(adapter)
    else:
        raise Unsupported(f"unknown variant '{name}'")
    v.build_s = time.perf_counter() - t0
    return v
