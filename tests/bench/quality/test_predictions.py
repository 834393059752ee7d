"""Predictions kept per cell, intervals for every metric, and seeds: through the real CLI on tiny suites."""
import json

import pytest

from nlpbench.cli import main
from nlpbench.errors import BadInput
from nlpbench.quality import ids, predictions
from nlpbench.store.results import read_records
from tests.conftest import tiny_suite


def run_dir_of(out):
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def test_each_cell_keeps_its_predictions_with_probabilities(write_suite, tmp_path):
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(tiny_suite())), "--out", str(out), "--no-progress"]) == 0
    rd = run_dir_of(out)
    for rec in read_records(rd):
        lines = predictions.read(rd, rec)
        assert rec["predictions"] == f"predictions/{predictions.filename(rec['cell'])}"
        assert len(lines) == rec["n_eval"] == 50
        assert [ln["id"] for ln in lines] == list(range(50))
        first = lines[0]
        assert set(first) == {"id", "input", "prediction", "reference", "probs"} and isinstance(first["input"], str)
        assert all(max(range(2), key=ln["probs"].__getitem__) == ln["prediction"] for ln in lines)
        acc = sum(ln["prediction"] == ln["reference"] for ln in lines) / len(lines)
        assert acc == rec["metrics"]["accuracy"]
        m = rec["metrics"]
        assert m["accuracy_ci95"][0] <= m["accuracy"] <= m["accuracy_ci95"][1]
        assert m["f1_macro_ci95"][0] <= m["f1_macro"] <= m["f1_macro_ci95"][1]


def test_seeds_run_each_cell_once_per_seed_and_resume_redoes_a_cell(write_suite, tmp_path, monkeypatch):
    path = write_suite(tiny_suite())
    out = tmp_path / "runs"
    assert main(["run", str(path), "seeds=[0,1]", "--out", str(out), "--no-progress"]) == 0
    rd = run_dir_of(out)
    recs = {r["cell"]: r for r in read_records(rd)}
    assert sorted(recs) == sorted(f"quality/classification/{m}/{s}/seed{k}"
                                  for m in ("d1", "d2") for s in ("validation", "test") for k in (0, 1))
    assert {r["seed"] for r in recs.values()} == {0, 1}
    assert len(list((rd / "predictions").glob("*.jsonl"))) == 8
    report = (rd / "report.md").read_text()
    assert "mean ± sd over seeds" in report and "accuracy (mean ± sd)" in report and " ± " in report
    # a redone cell overwrites its own predictions file
    cell = "quality/classification/d1/test/seed1"
    target = rd / recs[cell]["predictions"]
    target.write_text("@stale@\n")
    lines = [json.loads(x) for x in (rd / "records.jsonl").read_text().splitlines()]
    bad = [ln for ln in lines if ln["cell"] == cell][0]
    with open(rd / "records.jsonl", "a") as f:
        f.write(json.dumps({**bad, "status": "error"}) + "\n")
    assert main(["run", str(path), "seeds=[0,1]", "--resume", str(rd), "--no-progress"]) == 0
    assert len(predictions.read(rd, read_records(rd)[-1])) == 50
    assert "@stale@" not in target.read_text()


def test_single_seed_suites_keep_their_cell_ids(write_suite, tmp_path):
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(tiny_suite())), "--out", str(out), "--no-progress"]) == 0
    assert all("seed" not in r["cell"] for r in read_records(run_dir_of(out)))
    assert ids.cell_id("classification", "lstm", "test") == "quality/classification/lstm/test"


def test_a_corrupt_predictions_file_is_one_line_in_report(write_suite, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(tiny_suite())), "--no-progress", "--out", str(out)]) == 0
    run = run_dir_of(out)
    bad = sorted((run / "predictions").glob("*.jsonl"))[0]
    bad.write_text('{"id": 0, "prediction": 1, "reference": 1}\n{"id": 1, "pred\n')
    capsys.readouterr()
    assert main(["report", str(run)]) == 2  # before: a JSONDecodeError traceback
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"nlpbench: {bad}: line 2 is not a prediction (a JSON object with prediction and reference); " \
                   "rerun the cell or delete the file"
    bad.write_bytes(b"\xff\xfe")
    assert main(["report", str(run)]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err
    (out / "outside.jsonl").write_text('{"id": 0, "prediction": 1, "reference": 1}\n')
    with pytest.raises(BadInput, match="names predictions outside the run folder: '../outside.jsonl'"):
        predictions.read(run, {"cell": "quality/x/y/test", "predictions": "../outside.jsonl"})
