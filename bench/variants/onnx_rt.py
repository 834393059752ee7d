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

The harness knows no architecture: an adapter with the `export_onnx` hook
(`nlpbench.adapter.Hooks`) exports itself and returns an `OnnxExport` (its
graphs and a copy of itself that runs them); the translators' exports live
beside their models (`models/seq2seq_onnx.py`,
`models/transformer_onnx.py`: an encoder and a one-step decoder graph,
since decoding is a Python loop). A classifier without the hook gets the
`forward` export above (`export_forward`); any other adapter without it is
`unsupported`. What a hook uses is here: `export_graph` (the TorchScript
exporter with its warnings quiet), `OrtModule` (a stand-in model that runs
sessions) and `Unsupported`; the harness passes the session factory, writes
the graphs and records the providers and the check.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from nlpbench.adapter import OnnxExport, hook
from nlpbench.variants.base import Unsupported, Variant, copy_with_model

SKIP_KEYS = ("label", "labels")  # targets: never model inputs


class _Forward(nn.Module):
    """`adapter.forward` over positional tensors (what the exporters trace)."""

    def __init__(self, adapter, names: list[str]):
        super().__init__()
        self.adapter, self.model, self.names = adapter, adapter.model, names

    def forward(self, *tensors):
        return self.adapter.forward(dict(zip(self.names, tensors)))


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


def _write(graphs: dict[str, bytes], artifact: Path) -> None:
    """One graph at `artifact`; several beside it as <stem>.<name>.onnx (encoder, step)."""
    artifact.parent.mkdir(parents=True, exist_ok=True)
    if len(graphs) == 1:
        artifact.write_bytes(next(iter(graphs.values())))
        return
    for name, graph in graphs.items():
        artifact.with_suffix(f".{name}.onnx").write_bytes(graph)


def onnx_variant(adapter, artifact: Path | None = None, example: dict | None = None) -> Variant:
    """`example`: a collated batch with the keys real batches have (e.g. no token_type_ids)."""
    export = hook(adapter, "export_onnx")
    if export is None and adapter.info.task == "classification":
        export = lambda ex, session: export_forward(adapter, ex, session)  # noqa: E731
    if export is None:
        raise Unsupported(f"onnx: {type(adapter).__name__} has no export_onnx hook for a '{adapter.info.task}' "
                          f"model (only a classifier's forward is exported without one)")
    device = next(adapter.model.parameters()).device
    adapter.model.eval()
    example = example if example is not None else adapter.synthetic_batch(4, 16, torch.Generator().manual_seed(0))
    sessions = []

    def session(graph: bytes):
        sessions.append(ort_session(graph, device))
        return sessions[-1]

    out = export(example, session)
    if artifact is not None:
        _write(out.graphs, Path(artifact))
    info = {**out.info, "providers": sessions[0].get_providers() if sessions else [], "max_abs_diff": out.max_abs_diff}
    return Variant("onnx", out.adapter, size_bytes=sum(map(len, out.graphs.values())), info=info)
