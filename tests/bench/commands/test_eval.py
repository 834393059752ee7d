"""`nlpbench eval` (bench/commands/eval.py) on tiny runs of the dummy adapter."""
import json

from nlpbench.cli import main
from nlpbench.store.results import read_records
from tests.bench.quality.test_trained import only_dir, trained_run  # noqa: F401 (a fixture)


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
    assert meta["environment"]["data"]["classification"]["splits"]["test"]["n"] == 3  # the new file's identity
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
