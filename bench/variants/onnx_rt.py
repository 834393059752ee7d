"""The `onnx` variant: the trained model exported to ONNX and run by ONNX Runtime.

Classifiers: the adapter's `forward(batch) -> logits` is exported with the
batch tensors as named inputs (batch and sequence dimensions dynamic), first
with the TorchScript exporter (`dynamo=False`: the only one that exports the
LSTM's packed sequences, and it takes well under a second where the
torch.export-based one takes several), else with the torch.export-based one
(`dynamo=True`, torch's default since 2.9, for when the TorchScript exporter
is gone or refuses a model). The variant's `forward` then feeds the batch to an
`onnxruntime.InferenceSession` (CUDA provider when the run is on CUDA and
onnxruntime has it, else CPU; as many intra-op threads as torch uses), so the
adapter's own `predict` scores it. Every export is checked at once against the
PyTorch logits on the export batch (`max_abs_diff` in the record).

Translators decode step by step in Python (`nlpbench.decoding`), so what is
exported is the encoder and the one-step decoder, as two graphs:
`nlpbench.variants.onnx_seq2seq` (GRU + attention) and
`nlpbench.variants.onnx_transformer` (Transformer, with its key/value cache as
graph inputs and outputs); the adapter's own search calls them.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from nlpbench.variants.base import Unsupported, Variant, copy_with_model

SKIP_KEYS = ("label", "labels")  # targets: never model inputs


class _Forward(nn.Module):
    """`adapter.forward` over positional tensors (what the exporters trace)."""

    def __init__(self, adapter, names: list[str]):
        super().__init__()
        self.adapter, self.model, self.names = adapter, adapter.model, names

    def forward(self, *tensors):
        return self.adapter.forward(dict(zip(self.names, tensors)))


class OrtStub(nn.Module):
    """Stands in for `adapter.model` so `predict_all` can call eval() and find the device;
    the real work is in the ONNX Runtime session (a zero-size parameter carries the device)."""

    def __init__(self, device: torch.device):
        super().__init__()
        self.anchor = nn.Parameter(torch.empty(0, device=device), requires_grad=False)

    def forward(self, *args, **kwargs):
        raise RuntimeError("onnx variant: the PyTorch model is not part of this variant; call adapter.forward")


def _export_dynamo(module: nn.Module, args: tuple, names: list[str]) -> bytes:
    from torch.export import Dim

    batch, seq = Dim("batch"), Dim("seq")
    shapes = tuple({0: batch, 1: seq} if a.dim() >= 2 else {0: batch} for a in args)
    program = torch.onnx.export(module, args, dynamo=True, dynamic_shapes=(shapes,), input_names=names,
                                output_names=["logits"], verbose=False)
    return program.model_proto.SerializeToString()


def _export_torchscript(module: nn.Module, args: tuple, names: list[str]) -> bytes:
    f = io.BytesIO()
    axes = {n: ({0: "batch", 1: "seq"} if a.dim() >= 2 else {0: "batch"}) for n, a in zip(names, args)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and RNN shape warnings
        torch.onnx.export(module, args, f, dynamo=False, input_names=names, output_names=["logits"],
                          dynamic_axes=axes, opset_version=17)
    return f.getvalue()


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


def ort_session(model: bytes, device: torch.device):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()  # as many threads as the PyTorch variants use
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(model, opts, providers=providers)


def ort_forward(session, names: list[str], device: torch.device):
    """`adapter.forward` replacement: the batch's named tensors in, logits (a torch tensor) out."""
    wanted = [i.name for i in session.get_inputs()]  # an exporter may drop inputs the graph ignores

    def forward(batch: dict) -> torch.Tensor:
        feed = {n: batch[n].detach().cpu().numpy() for n in wanted}
        return torch.from_numpy(session.run(None, feed)[0]).to(device)

    return forward


def _seq2seq_variant(adapter, artifact: Path | None, example: dict | None) -> Variant:
    from nlpbench.variants.onnx_seq2seq import OrtSeq2Seq, export_seq2seq

    device = next(adapter.model.parameters()).device
    adapter.model.eval()
    example = example if example is not None else adapter.synthetic_batch(4, 16, torch.Generator().manual_seed(0))
    enc, step = export_seq2seq(adapter.model, example)
    variant = copy_with_model(adapter, OrtSeq2Seq(ort_session(enc, device), ort_session(step, device), device))
    with torch.inference_mode():  # the step graph checked against PyTorch on the example's first step
        mem = adapter.model.encode(example["src"], example["src_len"])
        prev = torch.full((example["src"].size(0),), 2, dtype=torch.long, device=device)
        ref = adapter.model.out(adapter.model.step(mem, prev)[0])
        got = variant.model.step(variant.model.encode(example["src"], example["src_len"]), prev)[0]
    if artifact is not None:
        Path(artifact).parent.mkdir(parents=True, exist_ok=True)
        Path(artifact).with_suffix(".encoder.onnx").write_bytes(enc)
        Path(artifact).with_suffix(".step.onnx").write_bytes(step)
    info = {"exporter": "torchscript", "graphs": ["encoder", "step"], "providers": variant.model.enc.get_providers(),
            "max_abs_diff": (got - ref).abs().max().item()}
    return Variant("onnx", variant, size_bytes=len(enc) + len(step), info=info)


def _translator_variant(adapter, artifact: Path | None, example: dict | None) -> Variant:
    from nlpbench.variants.onnx_transformer import OrtTranslator, export_translator

    if not adapter.cfg.kv_cache:
        raise Unsupported("onnx: the exported decoder step uses the key/value cache; this model has kv_cache: false")
    device = next(adapter.model.parameters()).device
    adapter.model.eval()
    src = (example if example is not None else adapter.synthetic_batch(4, 16, torch.Generator().manual_seed(0)))["src"]
    enc, step = export_translator(adapter.model, src)
    layers = len(adapter.model.decoder)
    variant = copy_with_model(adapter, OrtTranslator(ort_session(enc, device), ort_session(step, device), layers, device))
    with torch.inference_mode():  # two decoder steps checked against PyTorch (empty, then one-entry cache)
        ref_state, ref_step, _ = adapter.decoder_fns(src)
        got_state, got_step, _ = variant.decoder_fns(src)
        last = torch.full((src.size(0),), 2, dtype=torch.long, device=device)
        diffs = []
        for _ in range(2):
            (a, ref_state), (b, got_state) = ref_step(ref_state, last), got_step(got_state, last)
            finite = torch.isfinite(a)
            diffs.append((a[finite] - b[finite]).abs().max().item())
            last = a.argmax(-1)
    if artifact is not None:
        Path(artifact).parent.mkdir(parents=True, exist_ok=True)
        Path(artifact).with_suffix(".encoder.onnx").write_bytes(enc)
        Path(artifact).with_suffix(".step.onnx").write_bytes(step)
    info = {"exporter": "torchscript", "graphs": ["encoder", "step"], "providers": variant.model.enc.get_providers(),
            "max_abs_diff": max(diffs)}
    return Variant("onnx", variant, size_bytes=len(enc) + len(step), info=info)


def onnx_variant(adapter, artifact: Path | None = None, example: dict | None = None) -> Variant:
    """`example`: a collated batch with the keys real batches have (e.g. no token_type_ids)."""
    if getattr(adapter, "name", "") == "seq2seq":
        return _seq2seq_variant(adapter, artifact, example)
    if getattr(adapter, "name", "") == "transformer" and getattr(adapter, "translate", False):
        return _translator_variant(adapter, artifact, example)
    if getattr(adapter.info, "task", "classification") != "classification":
        raise Unsupported(f"onnx: no step-function export for the '{getattr(adapter, 'name', '?')}' translator")
    device = next(adapter.model.parameters()).device
    adapter.model.eval()
    batch = example if example is not None else adapter.synthetic_batch(4, 16, torch.Generator().manual_seed(0))
    model, names, exporter = export_classifier(adapter, batch)
    session = ort_session(model, device)
    variant = copy_with_model(adapter, OrtStub(device))
    variant.forward = ort_forward(session, names, device)  # the instance attribute shadows the method
    with torch.inference_mode():
        diff = (variant.forward(batch) - adapter.forward(batch)).abs().max().item()
    if artifact is not None:
        Path(artifact).parent.mkdir(parents=True, exist_ok=True)
        Path(artifact).write_bytes(model)
    info = {"exporter": exporter, "providers": session.get_providers(), "inputs": names, "max_abs_diff": diff}
    return Variant("onnx", variant, size_bytes=len(model), info=info)
