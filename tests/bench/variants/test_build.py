"""Building variants of a (small, untrained) model: int8 shrinks it and still predicts,
ONNX Runtime reproduces the PyTorch logits, unsupported variants say why."""
from __future__ import annotations

import pytest
import torch

import nlpbench.models  # noqa: F401  (registers the adapters)
from nlpbench.adapter import TaskInfo
from nlpbench.registry import get_adapter
from nlpbench.suite.schema import adapter_config
from nlpbench.variants.build import Unsupported, build_variant

CLASSIFIERS = {
    "lstm": {"vocab_size": 300, "embed_dim": 32, "hidden_size": 32},
    "transformer": {"vocab_size": 300, "d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64},
    "bert": {"vocab_size": 300, "hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64},
}


def adapter(name: str, params: dict, task: str = "classification"):
    cls = get_adapter(name)
    a = cls(adapter_config(cls, params), TaskInfo(task=task, num_labels=2, progress=False))
    torch.manual_seed(0)
    a.setup(None)
    a.model.eval()
    return a


def batch(a, b=4, s=12, seed=1):
    out = a.synthetic_batch(b, s, torch.Generator().manual_seed(seed))
    if "lengths" in out:  # ragged lengths: the packed path, not just full rows
        out["lengths"] = torch.tensor([s, s - 3, 1, s // 2][:b])
    if "attention_mask" in out:
        out["attention_mask"][0, s // 2 :] = 0
    return out


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_onnx_runtime_matches_pytorch_logits(name, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    a = adapter(name, CLASSIFIERS[name])
    v = build_variant("onnx", a, tmp_path / "m.onnx", example=batch(a, 4, 16, seed=0))
    assert (tmp_path / "m.onnx").stat().st_size == v.size_bytes > 0
    for b, s in ((4, 12), (1, 5), (3, 20)):  # shapes other than the export's: dynamic axes work
        x = batch(a, b, s)
        with torch.inference_mode():
            torch.testing.assert_close(v.adapter.forward(x), a.forward(x), atol=1e-4, rtol=0)
    assert v.adapter.predict(batch(a)) == a.predict(batch(a))
    assert v.info["max_abs_diff"] < 1e-4 and v.info["exporter"] in ("dynamo", "torchscript")


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_int8_dynamic_shrinks_the_model_and_still_predicts(name):
    pytest.importorskip("torchao")
    a = adapter(name, CLASSIFIERS[name])
    fp32 = build_variant("fp32", a)
    v = build_variant("int8-dynamic", a)
    assert v.size_bytes < fp32.size_bytes
    assert v.adapter.model is not a.model and v.adapter.tokenizer is a.tokenizer  # a copy; fp32 untouched
    x = batch(a)
    with torch.inference_mode():
        ref, out = a.forward(x), v.adapter.forward(x)
    assert out.shape == ref.shape and not torch.equal(out, ref)  # int8 arithmetic differs a little
    assert (out - ref).abs().max() < 0.5
    if name == "lstm":
        assert v.info["torch_ao_recurrent"] == ["LSTM"]
        assert isinstance(v.adapter.model.lstm, torch.ao.nn.quantized.dynamic.LSTM)
    assert len(v.adapter.predict(x)) == 4


def test_fp16_on_cpu_is_unsupported_with_the_reason():
    with pytest.raises(Unsupported, match="fp16 autocast needs a CUDA device"):
        build_variant("fp16", adapter("lstm", CLASSIFIERS["lstm"]))


MT = {"vocab_size": 300, "d_model": 32, "n_heads": 2, "n_layers": 1, "n_decoder_layers": 2, "d_ff": 64}


def test_onnx_translator_without_kv_cache_is_unsupported_with_the_reason():
    a = adapter("transformer", {**MT, "kv_cache": False}, task="translation")
    with pytest.raises(Unsupported, match="kv_cache: false"):
        build_variant("onnx", a)


def test_onnx_transformer_translator_decodes_like_pytorch_through_the_cached_step():
    pytest.importorskip("onnxruntime")
    a = adapter("transformer", MT, task="translation")
    x = a.synthetic_batch(3, 7, torch.Generator().manual_seed(0))
    x["src"][1, 4:], x["src"][2, 1:] = 0, 0  # padded sources: the mask is an input of both graphs
    v = build_variant("onnx", a, example=x)
    assert v.info["max_abs_diff"] < 1e-4
    with torch.inference_mode():
        for beam in (1, 3):
            a.cfg.beam_size = beam  # the variant shares the adapter's config
            assert v.adapter.search(x["src"], 6) == a.search(x["src"], 6)


def test_bf16_runs_under_cpu_autocast():
    a = adapter("transformer", CLASSIFIERS["transformer"])
    v = build_variant("bf16", a)
    with torch.inference_mode(), v.context():
        out = v.adapter.forward(batch(a))
    assert out.dtype == torch.bfloat16


def test_onnx_seq2seq_encoder_and_step_graphs_decode_like_pytorch():
    pytest.importorskip("onnxruntime")
    a = adapter("seq2seq", {"vocab_size": 200, "emb_size": 16, "hidden_size": 16, "attn_size": 16},
                task="translation")
    x = a.synthetic_batch(3, 7, torch.Generator().manual_seed(0))
    x["src_len"] = torch.tensor([7, 4, 1])
    v = build_variant("onnx", a, example=x)
    assert v.info["max_abs_diff"] < 1e-4 and v.info["graphs"] == ["encoder", "step"]
    with torch.inference_mode():
        for beam in (1, 3):  # greedy and beam search through the adapter's own decode
            assert v.adapter.decode(x, 6, beam) == a.decode(x, 6, beam)


def test_onnx_variant_is_what_the_adapters_export_hook_returns(tmp_path):
    """No extra needed: the hook here returns graphs without building sessions; the harness writes
    them (several graphs beside the artifact), sums their size and records the hook's check."""
    from nlpbench.adapter import OnnxExport
    from nlpbench.models.dummy import DummyAdapter

    class Exports(DummyAdapter):
        def export_onnx(self, example, session):
            self.seen = example
            return OnnxExport({"encoder": b"ab", "step": b"cde"}, "the variant's adapter", 0.25, {"exporter": "own"})

    a = Exports(Exports.Config(), TaskInfo(progress=False))
    a.setup(None)
    x = batch(a)
    v = build_variant("onnx", a, tmp_path / "m.onnx", example=x)
    assert a.seen is x and v.adapter == "the variant's adapter" and v.size_bytes == 5
    assert v.info == {"exporter": "own", "providers": [], "max_abs_diff": 0.25}
    assert (tmp_path / "m.encoder.onnx").read_bytes() == b"ab" and (tmp_path / "m.step.onnx").read_bytes() == b"cde"


def test_onnx_translator_without_the_hook_is_unsupported_with_the_reason():
    from nlpbench.models.seq2seq import Seq2SeqAdapter

    class NoExport(Seq2SeqAdapter):
        export_onnx = None

    a = NoExport(adapter_config(NoExport, {"vocab_size": 50, "emb_size": 8, "hidden_size": 8, "attn_size": 8}),
                 TaskInfo(task="translation", num_labels=None, progress=False))
    a.setup(None)
    with pytest.raises(Unsupported, match="onnx: NoExport has no export_onnx hook for a 'translation' model"):
        build_variant("onnx", a)


def test_the_variants_package_names_no_model():
    """Exports live with the models: no module of bench/variants imports one or compares a name with one."""
    import ast
    from pathlib import Path

    import nlpbench.variants
    from nlpbench.models import BUILTIN

    for path in Path(nlpbench.variants.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        compared = {c.value for n in ast.walk(tree) if isinstance(n, ast.Compare)
                    for c in ast.walk(n) if isinstance(c, ast.Constant)}
        assert not [m for m in imported if m.startswith("nlpbench.models")], path.name
        assert not compared & set(BUILTIN), path.name
