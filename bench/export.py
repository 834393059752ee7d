"""What an adapter's `export_onnx` hook uses (the plugin API's side of the `onnx` variant).

The harness (`nlpbench.variants.onnx_rt`) calls the hook with an example batch and a session factory,
writes the graphs it returns and records the check; everything a hook builds with lives here, below
the models, so an adapter's exporter (`models/seq2seq_onnx.py`, `models/transformer_onnx.py`) never
imports the harness:
- `export_graph`: the TorchScript exporter (opset 17, dynamic axes) with its warnings quiet;
- `traced`: an export run without gradients, any failure one `Unsupported` line, the model left in eval;
- `export_encoder_step`: a translator's two graphs (encoder, one decoder step), the copy of the adapter
  that runs them (`OrtModule`, a stand-in model calling sessions) and its check against PyTorch;
- `export_forward`: the default export of a classifier, its `forward` as one graph (TorchScript
  exporter, else the torch.export-based one), the logits checked on the example;
- `Unsupported`, `copy_with_model`: shared with the other variants.
"""
from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.nn as nn

from nlpbench.adapter import OnnxExport

SKIP_KEYS = ("label", "labels")  # targets: never model inputs
T = TypeVar("T")


class Unsupported(Exception):
    """This variant cannot be built or run for this model; the message says why."""


def copy_with_model(adapter, model: nn.Module):
    out = copy.copy(adapter)  # tokenizer, config and methods shared; only the model differs
    out.model = model
    return out


class OrtModule(nn.Module):
    """Base of a stand-in for `adapter.model` whose work runs in ONNX Runtime sessions: a zero-size
    parameter carries the device (`predict_all` finds it and calls eval()), `run` feeds a session tensors."""

    def __init__(self, device: torch.device):
        super().__init__()
        self.device = device
        self.anchor = nn.Parameter(torch.empty(0, device=device), requires_grad=False)

    def run(self, session, feed: dict) -> list[torch.Tensor]:
        """The session's outputs as tensors on the device; inputs an exporter dropped are not fed."""
        wanted = {i.name for i in session.get_inputs()}
        arrays = {k: v.detach().cpu().numpy() for k, v in feed.items() if k in wanted}
        return [torch.from_numpy(x).to(self.device) for x in session.run(None, arrays)]

    def forward(self, *args, **kwargs):
        raise RuntimeError("onnx variant: the PyTorch model is not part of this variant; call the adapter")


def export_graph(module: nn.Module, args: tuple, inputs: list[str], outputs: list[str], axes: dict) -> bytes:
    """`module` in eval mode traced by the TorchScript exporter (opset 17) with dynamic `axes`, as bytes."""
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and RNN shape-inference warnings
        torch.onnx.export(module.eval(), args, f, dynamo=False, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=17)
    return f.getvalue()


def traced(what: str, model: nn.Module, export: Callable[[], T]) -> T:
    """`export()` without gradients; a failure is `Unsupported` naming `what` (one line, the variant's
    record says why). `model` is put back in eval mode either way, whatever the exporter left it in."""
    try:
        with torch.no_grad():
            return export()
    except Exception as e:  # noqa: BLE001  (any exporter failure makes the variant unsupported, reason kept)
        raise Unsupported(f"onnx: {what} export failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}") from e
    finally:
        model.eval()


def export_encoder_step(adapter, session, what: str, trace: Callable[[], tuple[bytes, bytes]],
                        stand_in: Callable[[Any, Any], OrtModule], check: Callable[[Any], float]) -> OnnxExport:
    """A translator's export: `trace()` gives (encoder graph, step graph); the variant is a copy of `adapter`
    whose model is `stand_in(encoder session, step session)`; `check(variant)` its largest difference from
    PyTorch. Decoding stays the adapter's own Python loop, so only its two parts are graphs."""
    enc, step = traced(what, adapter.model, trace)
    variant = copy_with_model(adapter, stand_in(session(enc), session(step)))
    return OnnxExport({"encoder": enc, "step": step}, variant, check(variant),
                      {"exporter": "torchscript", "graphs": ["encoder", "step"]})


class _Forward(nn.Module):
    """`adapter.forward` over positional tensors (what the exporters trace)."""

    def __init__(self, adapter, names: list[str]):
        super().__init__()
        self.adapter, self.model, self.names = adapter, adapter.model, names

    def forward(self, *tensors):
        return self.adapter.forward(dict(zip(self.names, tensors)))


def _export_dynamo(module: nn.Module, args: tuple, names: list[str]) -> bytes:
    from torch.export import Dim

    batch, seq = Dim("batch"), Dim("seq")
    shapes = tuple({0: batch, 1: seq} if a.dim() >= 2 else {0: batch} for a in args)
    program = torch.onnx.export(module, args, dynamo=True, dynamic_shapes=(shapes,), input_names=names,
                                output_names=["logits"], verbose=False)
    return program.model_proto.SerializeToString()


def _export_torchscript(module: nn.Module, args: tuple, names: list[str]) -> bytes:
    axes = {n: ({0: "batch", 1: "seq"} if a.dim() >= 2 else {0: "batch"}) for n, a in zip(names, args)}
    return export_graph(module, args, names, ["logits"], axes)


def export_classifier(adapter, batch: dict) -> tuple[bytes, list[str], str]:
    """(ONNX model bytes, input names, exporter used); raises Unsupported listing both failures."""
    names = [k for k, v in batch.items() if torch.is_tensor(v) and k not in SKIP_KEYS]
    args = tuple(batch[k] for k in names)
    module = _Forward(adapter, names).eval()
    errors = []
    for label, export in (("torchscript", _export_torchscript), ("dynamo", _export_dynamo)):
        try:
            with torch.no_grad():
                return export(module, args, names), names, label
        except Exception as e:  # noqa: BLE001  (each exporter's failure is reported, then the next is tried)
            errors.append(f"{label}: {type(e).__name__}: {' '.join(str(e).split())[:200]}")
        finally:
            adapter.model.eval()  # an exporter restores the wrapper's mode, which may be train
    raise Unsupported("onnx: export failed; " + "; ".join(errors))


def ort_forward(session, names: list[str], device: torch.device):
    """`adapter.forward` replacement: the batch's named tensors in, logits (a torch tensor) out."""
    wanted = [i.name for i in session.get_inputs()]  # an exporter may drop inputs the graph ignores

    def forward(batch: dict) -> torch.Tensor:
        feed = {n: batch[n].detach().cpu().numpy() for n in wanted}
        return torch.from_numpy(session.run(None, feed)[0]).to(device)

    return forward


def export_forward(adapter, example: dict, session) -> OnnxExport:
    """The default export of a classifier: its `forward` as one graph, the logits checked on `example`."""
    device = next(adapter.model.parameters()).device
    model, names, exporter = export_classifier(adapter, example)
    ort = session(model)
    variant = copy_with_model(adapter, OrtModule(device))
    variant.forward = ort_forward(ort, names, device)  # the instance attribute shadows the method
    with torch.inference_mode():
        diff = (variant.forward(example) - adapter.forward(example)).abs().max().item()
    return OnnxExport({"model": model}, variant, diff, {"exporter": exporter, "inputs": names})
