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


def late_error(capsys) -> str:
    """The one error line of an eval that failed after its progress lines (a file read while scoring)."""
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("nlpbench: ")]
    assert len(lines) == 1 and "Traceback" not in err and err.strip().endswith(lines[0]), err
    return lines[0]


def copy_run(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_eval_copies_no_link_out_of_the_source_run(trained_run, tmp_path, capsys):
    import os

    _, src = trained_run
    handed = copy_run(src, tmp_path / "handed")
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    os.symlink(tmp_path / "secret.txt", handed / "cache" / "tokenizers" / "leak.json")
    os.symlink(tmp_path, handed / "cache" / "up")
    out = tmp_path / "evals"
    assert main(["eval", str(handed), "--no-progress", "--out", str(out)]) == 0
    new = only_dir(out)
    assert not any("TOPSECRET" in p.read_text(errors="ignore") for p in new.rglob("*") if p.is_file())
    assert not (new / "cache" / "up").exists() and not (new / "cache" / "tokenizers" / "leak.json").exists()
    assert "not copied (links or special files): tokenizers/leak.json, up" in capsys.readouterr().err
    ckpt = next((handed / "checkpoints").glob("*.pt"))
    ckpt.rename(tmp_path / "real.pt")
    os.symlink(tmp_path / "real.pt", ckpt)  # a checkpoint that is a link is not read either
    assert main(["eval", str(handed), "--out", str(tmp_path / "e2")]) == 2
    assert "a link, not a checkpoint file" in late_error(capsys)


def test_eval_never_imports_a_module_named_by_the_source_run(trained_run, tmp_path, monkeypatch, capsys):
    import sys

    _, src = trained_run
    evil = tmp_path / "shipped" / "evilmod"
    evil.mkdir(parents=True)
    marker = tmp_path / "EVIL_RAN"
    (evil / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    monkeypatch.syspath_prepend(str(evil.parent))  # as if the handed-over folder were on the path
    handed = copy_run(src, tmp_path / "handed")
    meta = json.loads((handed / "run.json").read_text())
    meta["config"]["tasks"][0]["models"][0].update(adapter="bert", params={"checkpoint": "pkg:evilmod.x/model"})
    (handed / "run.json").write_text(json.dumps(meta))
    assert main(["eval", str(handed), "--out", str(tmp_path / "e")]) == 2
    assert "after pkg: comes an installed package's name (a plain identifier, no dots)" in one_error(capsys)
    assert not marker.exists() and "evilmod" not in sys.modules  # before: find_spec("evilmod.x") imported it


def test_eval_of_a_damaged_folder_is_one_line(trained_run, tmp_path, capsys):
    import os

    import torch

    _, src = trained_run
    handed = copy_run(src, tmp_path / "handed")
    ckpt = next((handed / "checkpoints").glob("*.pt"))
    ckpt.write_bytes(b"not a state dict at all")
    assert main(["eval", str(handed), "--out", str(tmp_path / "e1")]) == 2
    assert f"{ckpt}: not a checkpoint torch can read (" in late_error(capsys)  # before: UnpicklingError traceback
    torch.save([1, 2, 3], ckpt)
    assert main(["eval", str(handed), "--out", str(tmp_path / "e2")]) == 2
    assert f"{ckpt}: holds a list, not a state dict" in late_error(capsys)
    (handed / "run.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["eval", str(handed)]) == 2
    assert "run.json is not a run.json (RecursionError" in one_error(capsys)
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    assert main(["eval", str(loop)]) == 2
    assert one_error(capsys) == f"nlpbench: eval: symlink loop: {loop}"
