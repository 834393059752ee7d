"""`hf-classifier` on a tiny random DistilBERT-like checkpoint built in the test (tests/hf_tiny.py; no download)."""
from __future__ import annotations

import hashlib
import shutil

import pytest
import torch
from datasets import Dataset

from nlpbench import pretrained
from nlpbench.adapter import TaskInfo, adapter_config
from nlpbench.errors import BadInput
from nlpbench.models.bert import BertAdapter, BertClsConfig
from nlpbench.models.hf_classifier import HFClassifierAdapter, special_frame
from nlpbench.quality.train import fit, predict_all
from nlpbench.suite.schema import train_config

TRAIN = Dataset.from_dict({"text": ["a good film", "great acting here", "a bad film", "dull acting and a bad plot"] * 4,
                           "label": [1, 1, 0, 0] * 4})


def build(folder, cls=HFClassifierAdapter, **params):
    adapter = cls(adapter_config(cls, {"checkpoint": str(folder), **params}), TaskInfo(num_labels=2, progress=False))
    adapter.setup(TRAIN)
    return adapter


def test_inputs_are_the_tokenizers_model_input_names(hf_classifier_dir):
    adapter = build(hf_classifier_dir)
    assert adapter.tokenizer.model_input_names == ["input_ids", "attention_mask"]  # DistilBERT: no token_type_ids
    batch = adapter.collate(adapter.encode(TRAIN))
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert adapter.forward(batch).shape == (len(TRAIN), 2)


@pytest.mark.parametrize("cls", [HFClassifierAdapter, BertAdapter])
def test_synthetic_batches_use_the_tokenizers_own_specials(hf_classifier_dir, cls):
    adapter = build(hf_classifier_dir, cls)
    batch = adapter.synthetic_batch(3, 10, torch.Generator().manual_seed(0))
    assert set(batch) == {"input_ids", "attention_mask", "labels"}  # bert with a checkpoint too: its input names
    tok = adapter.tokenizer
    ids = batch["input_ids"]
    assert ids.shape == (3, 10)
    assert (ids[:, 0] == tok.cls_token_id).all() and (ids[:, -1] == tok.sep_token_id).all()
    assert not set(ids[:, 1:-1].flatten().tolist()) & set(tok.all_special_ids)  # the body: ordinary tokens only
    assert int(ids.max()) < len(tok)
    assert special_frame(tok) == ([tok.cls_token_id], [tok.sep_token_id])


def test_offline_bert_perf_batches_are_unchanged():
    """bert without a checkpoint keeps its own WordPiece layout (ids above its 5 specials, token_type_ids)."""
    cfg = BertClsConfig(vocab_size=50, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)
    adapter = BertAdapter(cfg, TaskInfo(num_labels=2, progress=False))
    adapter.setup(None)
    batch = adapter.synthetic_batch(2, 8, torch.Generator().manual_seed(0))
    expected = torch.randint(5, 50, (2, 8), generator=torch.Generator().manual_seed(0))
    assert torch.equal(batch["input_ids"], expected) and "token_type_ids" in batch


def test_fine_tuning_learns_and_records_checkpoint_and_weights_sha(hf_classifier_dir):
    adapter = build(hf_classifier_dir)
    assert adapter.init == f"pretrained:{hf_classifier_dir}" and adapter.checkpoint == str(hf_classifier_dir)
    assert adapter.checkpoint_sha256 == hashlib.sha256((hf_classifier_dir / "model.safetensors").read_bytes()).hexdigest()
    examples = adapter.encode(TRAIN)
    before = predict_all(adapter, examples, 64)
    tcfg = train_config(HFClassifierAdapter, {"epochs": 15, "lr": 5e-3, "batch_size": 8, "warmup": 0})
    fit(adapter, examples, tcfg, progress=False)
    after = predict_all(adapter, examples, 64)
    assert after == list(TRAIN["label"]) and before != after


def test_dropout_param_sets_every_dropout_of_the_checkpoints_config(hf_classifier_dir):
    adapter = build(hf_classifier_dir, dropout=0.0)
    config = adapter.model.config
    assert config.dropout == config.attention_dropout == config.seq_classif_dropout == 0.0


def test_sharded_weights_hash_in_sorted_order(hf_classifier_dir, tmp_path):
    shards = tmp_path / "sharded"
    shutil.copytree(hf_classifier_dir, shards)
    (shards / "model.safetensors").rename(shards / "model-00002-of-00002.safetensors")
    (shards / "model-00001-of-00002.safetensors").write_bytes(b"first")
    want = hashlib.sha256(b"first" + (hf_classifier_dir / "model.safetensors").read_bytes()).hexdigest()
    assert pretrained.sha256(str(shards)) == want


def test_bad_checkpoints_are_one_line_each(tmp_path, monkeypatch):
    with pytest.raises(BadInput, match=r"^checkpoint: required"):
        adapter_config(HFClassifierAdapter, {})
    with pytest.raises(BadInput, match="directory not found"):
        adapter_config(HFClassifierAdapter, {"checkpoint": str(tmp_path / "nope")})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(BadInput) as e:
        adapter_config(HFClassifierAdapter, {"checkpoint": "someone/not-cached-model"})
    assert e.value.problems == [
        "checkpoint: 'someone/not-cached-model' is neither a directory nor a model in the local Hugging Face cache, "
        "and HF_HUB_OFFLINE is set; download it once (hf download someone/not-cached-model) or give its folder"]


def test_a_hub_name_in_the_local_cache_loads_offline(hf_classifier_dir, tmp_path, monkeypatch):
    """A name resolves to its cached snapshot (the layout huggingface_hub writes), read with local_files_only."""
    cache = tmp_path / "hub"
    snap = cache / "models--someone--tiny-distil" / "snapshots" / ("0" * 40)
    shutil.copytree(hf_classifier_dir, snap)
    (cache / "models--someone--tiny-distil" / "refs").mkdir()
    (cache / "models--someone--tiny-distil" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    adapter = build("someone/tiny-distil")
    assert adapter.checkpoint == "someone/tiny-distil" and adapter.checkpoint_sha256 == build(hf_classifier_dir).checkpoint_sha256


def test_the_classifier_exports_to_onnx(hf_classifier_dir):
    pytest.importorskip("onnxruntime")
    from nlpbench.variants.build import build_variant

    cls = HFClassifierAdapter
    adapter = cls(adapter_config(cls, {"checkpoint": str(hf_classifier_dir)}), TaskInfo(num_labels=2, progress=False))
    adapter.setup(None)
    v = build_variant("onnx", adapter)
    assert v.info["max_abs_diff"] < 1e-4 and v.info["inputs"] == ["input_ids", "attention_mask"]


def test_a_restore_builds_the_architecture_that_takes_the_trained_weights(hf_classifier_dir):
    """`nlpbench eval` / `--resume` (quality/trained.py): setup with info.restore, then the saved state dict."""
    trained = build(hf_classifier_dir)
    fit(trained, trained.encode(TRAIN), train_config(HFClassifierAdapter, {"epochs": 3, "lr": 5e-3, "batch_size": 8}),
        progress=False)
    cls = HFClassifierAdapter
    again = cls(adapter_config(cls, {"checkpoint": str(hf_classifier_dir)}), TaskInfo(num_labels=2, restore=True))
    again.setup(TRAIN)
    again.model.load_state_dict(trained.model.state_dict())  # strict: the same architecture
    examples = trained.encode(TRAIN)
    assert predict_all(again, examples, 64) == predict_all(trained, examples, 64)
    assert again.checkpoint_sha256 == trained.checkpoint_sha256
