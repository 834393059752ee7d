"""`load_trained` (bench/quality/trained.py): a run's model rebuilt from its folder, and adapters' restore mode."""
import pytest
import torch

from nlpbench.cli import main
from nlpbench.data import load_task_data
from nlpbench.errors import BadInput
from nlpbench.quality.score import references
from nlpbench.quality.train import predict_all
from nlpbench.quality.trained import load_trained
from nlpbench.store.results import read_records
from nlpbench.suite.schema import load_suite
from tests.conftest import files_suite


def only_dir(parent):
    (path,) = [p for p in parent.iterdir() if p.is_dir()]
    return path


@pytest.fixture
def trained_run(sst_like, write_suite, tmp_path):
    """A finished run of the dummy adapter on SST-2-shaped files; returns (suite path, run dir)."""
    path = write_suite(files_suite(sst_like))
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "runs")]) == 0
    return path, only_dir(tmp_path / "runs")


def test_load_trained_matches_the_adapter_the_run_trained(trained_run, sst_like, tmp_path):
    path, src = trained_run
    suite = load_suite(str(path))
    task, model = suite.tasks[0], suite.tasks[0].models[0]
    data = load_task_data(task, None, 0)
    a = load_trained(src, task, model, data, torch.device("cpu"), cache_dir=tmp_path / "c")
    preds = predict_all(a, a.encode(data.splits["validation"]), 64)
    acc = sum(p == r for p, r in zip(preds, references("classification", data.splits["validation"]))) / len(preds)
    (rec,) = [r for r in read_records(src) if r["split"] == "validation"]
    assert acc == rec["metrics"]["accuracy"]
    assert list((tmp_path / "c" / "tokenizers").glob("*.json"))  # the run's vocabulary, copied, not retrained


def test_other_train_data_is_refused_not_silently_retokenised(trained_run, sst_like, tmp_path):
    path, src = trained_run
    suite = load_suite(str(path))
    task = suite.tasks[0]
    data = load_task_data(task, None, 0)
    data.splits["train"] = data.splits["train"].select(range(10))  # another train text -> another vocabulary
    with pytest.raises(BadInput, match="vocabulary of dummy is not in the run's cache"):
        load_trained(src, task, task.models[0], data, torch.device("cpu"))


def test_bert_restore_skips_mlm_pretraining(tmp_path):
    from datasets import Dataset

    from nlpbench.adapter import TaskInfo
    from nlpbench.models.bert import BertAdapter, BertClsConfig
    from nlpbench.quality.train import fit

    params = dict(vocab_size=100, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_len=16,
                  pretrain={"steps": 3, "batch_size": 4, "max_minutes": None})  # fmt: skip
    train = Dataset.from_dict({"text": ["a good film", "a bad film"] * 8, "label": [1, 0] * 8})
    trained = BertAdapter(BertClsConfig(**params), TaskInfo(cache_dir=tmp_path, progress=False, trainer=fit))
    trained.setup(train)
    assert trained.mlm_steps == 3
    restored = BertAdapter(BertClsConfig(**params), TaskInfo(cache_dir=tmp_path, progress=False, restore=True))
    restored.setup(train)
    assert restored.mlm_steps == 0 and restored.tokenizer.get_vocab() == trained.tokenizer.get_vocab()
    restored.model.load_state_dict(trained.model.state_dict())  # same architecture: the checkpoint fits
