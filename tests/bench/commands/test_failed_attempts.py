"""A resume or an eval that fails leaves nothing behind: a finished run.json as it was, no stray eval folder."""
from __future__ import annotations

import json

import pytest

from nlpbench.cli import main
from nlpbench.commands import eval as eval_command
from nlpbench.errors import BadInput
from tests.bench.quality.test_trained import only_dir, trained_run  # noqa: F401 (a fixture)
from tests.conftest import tiny_suite


def test_a_failed_resume_leaves_a_finished_runs_run_json_as_it_was(write_suite, tmp_path, capsys):
    path = write_suite(tiny_suite())
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    rd = only_dir(tmp_path / "runs")
    before = (rd / "run.json").read_text()
    assert json.loads(before)["status"] == "ok"
    lines = (rd / "records.jsonl").read_text().splitlines()
    (rd / "records.jsonl").write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")  # found once running
    capsys.readouterr()
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2
    assert "line 2 is not JSON" in capsys.readouterr().err
    assert (rd / "run.json").read_text() == before  # still `ok`, not `running`


def test_a_resume_that_fails_after_recording_says_failed_and_why(write_suite, tmp_path, monkeypatch):
    path = write_suite(tiny_suite())
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--models", "d1", "--no-progress"]) == 0
    rd = only_dir(tmp_path / "runs")

    def late_bad_input(run_dir):
        raise BadInput("report: a corrupt predictions file")

    monkeypatch.setattr("nlpbench.commands.run.report_and_summary", late_bad_input)
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2
    meta = json.loads((rd / "run.json").read_text())
    assert meta["status"] == "failed" and meta["error"] == "report: a corrupt predictions file"


@pytest.mark.parametrize("fault", [BadInput("a checkpoint that is not a state dict"), RuntimeError("boom")])
def test_a_failed_eval_leaves_no_new_folder(trained_run, tmp_path, monkeypatch, fault):
    _, src = trained_run

    def score_model(*a, **k):
        raise fault

    monkeypatch.setattr(eval_command, "score_model", score_model)
    out = tmp_path / "evals"
    out.mkdir()
    if isinstance(fault, BadInput):
        assert main(["eval", str(src), "--out", str(out), "--no-progress"]) == 2
    else:
        with pytest.raises(RuntimeError):
            main(["eval", str(src), "--out", str(out), "--no-progress"])
    assert list(out.iterdir()) == []
