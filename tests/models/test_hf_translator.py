"""`hf-translator` on tiny random BART-like and T5-like checkpoints built in the test (tests/hf_tiny.py; no download)."""
from __future__ import annotations

import pytest
import torch
from datasets import Dataset

from nlpbench.adapter import TaskInfo, adapter_config
from nlpbench.errors import BadInput
from nlpbench.export import Unsupported
from nlpbench.models.hf_classifier import special_frame
from nlpbench.models.hf_translator import HFTranslatorAdapter
from nlpbench.quality.train import fit, predict_all
from nlpbench.suite.schema import train_config

PAIRS = Dataset.from_dict({"src": ["a good film", "a bad film", "great acting here", "the best of the year"] * 2,
                           "tgt": ["ein gutes buch", "schlechtes spiel", "der beste film", "des jahres"] * 2})


@pytest.fixture(params=["hf_translator_dir", "hf_t5_dir"], ids=["bart", "t5"])
def translator_dir(request):
    return request.getfixturevalue(request.param)


def build(folder, **params):
    cls = HFTranslatorAdapter
    adapter = cls(adapter_config(cls, {"checkpoint": str(folder), **params}), TaskInfo(task="translation", num_labels=None,
                                                                                        progress=False))
    adapter.setup(PAIRS)
    return adapter


def test_encode_collate_and_teacher_forced_forward(translator_dir):
    adapter = build(translator_dir, source_prefix="translate: ")
    examples = adapter.encode(PAIRS)
    assert examples[0]["input_ids"] == adapter.tokenizer("translate: a good film")["input_ids"]
    assert examples[0]["labels"] == adapter.tokenizer(text_target="ein gutes buch")["input_ids"]
    batch = adapter.collate(examples)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert (batch["labels"] == -100).any()  # padded label positions are skipped by the loss
    logits = adapter.forward(batch)
    assert logits.shape[:2] == batch["labels"].shape and logits.shape[2] == adapter.model.config.vocab_size


@pytest.mark.parametrize("beam_size", [1, 3])
def test_generate_is_transformers_search_with_the_beam_size_and_exact_length(translator_dir, beam_size):
    adapter = build(translator_dir, beam_size=beam_size)
    batch = adapter.collate(adapter.encode(PAIRS))
    out = adapter.generate(batch, 5, fixed_length=True)
    assert out.shape == (len(PAIRS), 5)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    want = adapter.model.generate(**inputs, num_beams=beam_size, do_sample=False, max_new_tokens=5, min_new_tokens=5)
    assert torch.equal(out, want[:, 1:])
    if beam_size == 1:  # greedy's first token is the argmax after the decoder start token
        start = torch.full((len(PAIRS), 1), adapter.model.config.decoder_start_token_id)
        logits = adapter.model(**inputs, decoder_input_ids=start).logits[:, -1]
        assert torch.equal(out[:, 0], logits.argmax(-1))


def test_predict_stops_at_max_new_tokens(translator_dir):
    adapter = build(translator_dir, max_new_tokens=3)
    batch = adapter.collate(adapter.encode(PAIRS))
    assert adapter.generate(batch, 3).shape[1] <= 3
    preds = adapter.predict(batch)
    assert len(preds) == len(PAIRS) and all(isinstance(p, str) for p in preds)


def test_fine_tuning_lowers_the_loss(translator_dir):
    adapter = build(translator_dir)
    examples = adapter.encode(PAIRS)
    batch = adapter.collate(examples)
    with torch.no_grad():
        before = adapter.loss(batch).item()
    fit(adapter, examples, train_config(HFTranslatorAdapter, {"epochs": 60, "lr": 1e-2, "batch_size": 8, "warmup": 0}),
        progress=False)
    with torch.no_grad():
        assert adapter.loss(batch).item() < before / 2
    assert adapter.checkpoint_sha256 and adapter.init == f"pretrained:{translator_dir}"


def test_synthetic_batch_is_framed_by_the_tokenizers_specials(translator_dir):
    adapter = build(translator_dir)
    batch = adapter.synthetic_batch(2, 7, torch.Generator().manual_seed(0))
    tok = adapter.tokenizer
    before, after = special_frame(tok)  # BART: <s> .. </s>; T5: .. </s>
    assert after == [tok.eos_token_id] and before == ([tok.bos_token_id] if tok.bos_token_id is not None else [])
    for key in ("input_ids", "labels"):
        ids = batch[key]
        assert ids.shape == (2, 7) and (ids[:, -1] == tok.eos_token_id).all()
        assert all(row[:len(before)] == before for row in ids.tolist())
        assert not set(ids[:, len(before):-1].flatten().tolist()) & set(tok.all_special_ids)
    if getattr(adapter.model.config, "max_position_embeddings", None):  # T5's positions are relative: no limit
        with pytest.raises(BadInput, match="max_position_embeddings"):
            adapter.synthetic_batch(1, 65, torch.Generator())


def test_variants_int8_bf16_score_and_onnx_is_a_clear_skip(translator_dir):
    pytest.importorskip("torchao")
    from nlpbench.variants.build import build_variant

    adapter = build(translator_dir, max_new_tokens=4)
    examples = adapter.encode(PAIRS)
    for name in ("int8-dynamic", "bf16"):
        v = build_variant(name, adapter)
        with v.context():
            preds = predict_all(v.adapter, examples, 8)
        assert len(preds) == len(PAIRS)
    with pytest.raises(Unsupported, match="onnx: HFTranslatorAdapter has no export_onnx hook"):
        build_variant("onnx", adapter)



def test_compiled_generate_runs_the_compiled_forward(hf_translator_dir):
    """perf `compile: true`: decoding_methods = (forward,), which every step of transformers' generate calls
    (BART only: dynamo's tracing takes seconds per model)."""
    from torch._dynamo.utils import counters

    from nlpbench.perf.compiling import compile_model, compiled_frames

    adapter = build(hf_translator_dir)
    batch = adapter.collate(adapter.encode(PAIRS))
    eager = adapter.generate(batch, 3, fixed_length=True)
    torch._dynamo.reset()
    counters.clear()
    compile_model(adapter, "generate", backend="eager")
    assert torch.equal(adapter.generate(batch, 3, fixed_length=True), eager) and compiled_frames() > 0
    torch._dynamo.reset()


def test_a_restore_takes_the_trained_weights(translator_dir):
    trained = build(translator_dir, max_new_tokens=4)
    fit(trained, trained.encode(PAIRS), train_config(HFTranslatorAdapter, {"epochs": 3, "lr": 1e-2, "batch_size": 8}),
        progress=False)
    cls = HFTranslatorAdapter
    again = cls(adapter_config(cls, {"checkpoint": str(translator_dir), "max_new_tokens": 4}),
                TaskInfo(task="translation", num_labels=None, restore=True))
    again.setup(PAIRS)
    again.model.load_state_dict(trained.model.state_dict())
    examples = trained.encode(PAIRS)
    assert predict_all(again, examples, 8) == predict_all(trained, examples, 8)
