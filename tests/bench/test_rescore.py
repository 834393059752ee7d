"""`nlpbench eval` (bench/rescore.py) and `load_trained` (bench/trained.py) on tiny runs."""
import json

import pytest
import torch

from bench.cli import main
from bench.config import load_suite
from bench.data import load_task_data
from bench.quality import references
from bench.results import read_records
from bench.train import predict_all
from bench.trained import load_trained
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


def test_eval_rescores_without_training_into_a_new_folder(trained_run, sst_like, tmp_path, capsys):
    _, src = trained_run
    new_test = sst_like / "new.tsv"
    new_test.write_text("label\tcontent\n1\tfine film\n0\tdull film\n1\ta fine movie\n")
    out = tmp_path / "evals"
    assert main(["eval", str(src), "--no-progress", f"tasks.0.dataset.files.test={new_test}", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "training" not in err.replace("no training", "")  # the runner logs "training <model>" for each fit
    new = only_dir(out)
    meta = json.loads((new / "run.json").read_text())
    assert meta["source_run"] == str(src.resolve()) and meta["command"] == "eval" and meta["status"] == "ok"
    assert not (new / "checkpoints").exists()
    recs = {r["split"]: r for r in read_records(new)}
    assert set(recs) == {"validation", "test"} and recs["test"]["n_eval"] == 3
    before = {r["split"]: r for r in read_records(src)}
    # the same weights on the same split give the same scores as the run that trained them
    assert recs["validation"]["metrics"] == before["validation"]["metrics"]
    for key in ("cell", "kind", "task", "model", "params", "n_params", "init", "train_s", "metrics", "samples"):
        assert key in recs["test"], key
    assert recs["test"]["source_run"] == str(src.resolve()) and recs["test"]["eval_only"] is True
    assert recs["validation"]["train_s"] == before["validation"]["train_s"]  # the scored model's training cost


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
    from bench.errors import BadInput

    with pytest.raises(BadInput, match="vocabulary of dummy is not in the run's cache"):
        load_trained(src, task, task.models[0], data, torch.device("cpu"))


def one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nlpbench: ") and "Traceback" not in err[0], err
    return err[0]


def test_eval_bad_input_is_one_line_and_exit_2(trained_run, sst_like, tmp_path, capsys):
    _, src = trained_run
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["eval", str(empty)]) == 2
    assert "no run.json" in one_error(capsys)
    no_ckpt = tmp_path / "no_ckpt"
    no_ckpt.mkdir()
    (no_ckpt / "run.json").write_text((src / "run.json").read_text())
    assert main(["eval", str(no_ckpt)]) == 2
    assert "no checkpoints" in one_error(capsys)
    assert main(["eval", str(src), "tasks.0.task=translation"]) == 2
    assert "tasks.0.task: the run trained 'classification'" in one_error(capsys)
    assert main(["eval", str(src), "--tasks", "translation"]) == 2
    assert "unknown task 'translation'" in one_error(capsys)
    assert main(["eval", str(src), "tasks.0.models.0.params.dim=8"]) == 2
    assert "tasks.0.models: eval scores the models the run trained" in one_error(capsys)
    other = sst_like / "other_cols.tsv"
    other.write_text("label\tsentence_text\n1\tfine\n")
    assert main(["eval", str(src), f"tasks.0.dataset.files.test={other}", "--out", str(tmp_path / "e")]) == 2
    assert "column 'content' not in the test data; columns there: label, sentence_text" in one_error(capsys)
    assert not (tmp_path / "e").exists()


def test_bert_restore_skips_mlm_pretraining(tmp_path):
    from datasets import Dataset

    from bench.adapter import TaskInfo
    from models.bert import BertAdapter, BertClsConfig

    params = dict(vocab_size=100, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_len=16,
                  pretrain={"steps": 3, "batch_size": 4, "max_minutes": None})  # fmt: skip
    train = Dataset.from_dict({"text": ["a good film", "a bad film"] * 8, "label": [1, 0] * 8})
    trained = BertAdapter(BertClsConfig(**params), TaskInfo(cache_dir=tmp_path, progress=False))
    trained.setup(train)
    assert trained.mlm_steps == 3
    restored = BertAdapter(BertClsConfig(**params), TaskInfo(cache_dir=tmp_path, progress=False, restore=True))
    restored.setup(train)
    assert restored.mlm_steps == 0 and restored.tokenizer.get_vocab() == trained.tokenizer.get_vocab()
    restored.model.load_state_dict(trained.model.state_dict())  # same architecture: the checkpoint fits


def test_eval_follows_the_source_runs_selection(write_suite, tmp_path, capsys):
    from tests.conftest import tiny_suite

    assert main(["run", str(write_suite(tiny_suite())), "--models", "d2", "--out", str(tmp_path / "r")]) == 0
    src = only_dir(tmp_path / "r")
    capsys.readouterr()
    assert main(["eval", str(src), "--out", str(tmp_path / "e")]) == 0
    assert "no checkpoint" not in capsys.readouterr().err
    assert {r["name"] for r in read_records(only_dir(tmp_path / "e"))} == {"d2"}
    assert main(["eval", str(src), "--models", "d1", "--out", str(tmp_path / "e2")]) == 2  # asked for, never trained
    assert "no checkpoint for classification/d1" in capsys.readouterr().err
