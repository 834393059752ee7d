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
`forward` export above (`nlpbench.export.export_forward`); any other adapter
without it is `unsupported`. What a hook uses lives in `nlpbench.export`, on
the plugin API's level (`export_graph`, `OrtModule`, `export_encoder_step`,
`Unsupported`); here the harness passes the session factory, writes the graphs
and records the providers and the check.
"""
from __future__ import annotations

from pathlib import Path

import torch

from nlpbench.adapter import hook
from nlpbench.export import Unsupported, export_forward
from nlpbench.tasks import get_task
from nlpbench.variants.base import Variant


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
    if export is None and not get_task(adapter.info.task).generates:
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
