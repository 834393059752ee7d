"""The gate's inputs: a baseline's format is known, its cells unique, the verdict files never overwrite an
input, and `baseline RUN DIR` says what is wrong in one line (exit 2 each, nothing written)."""
from __future__ import annotations

import json

import pytest

from nlpbench.cli import main as cli
from nlpbench.gate.sides import load_side
from tests.bench.gate.test_compare import baseline_records, write_run


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path, "run", baseline_records())


def baseline_file(tmp_path, records, fmt="nlpbench-baseline/2", name="base.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"format": fmt, "suite": "quick", "records": records}))
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("fmt", ["nlpbench-baseline/3", "nlpbench-baseline/10", "nlpbench-baseline/"])
def test_a_baseline_of_an_unknown_format_is_an_error(tmp_path, run, fmt, capsys):
    path = baseline_file(tmp_path, baseline_records(), fmt)
    assert cli(["compare", str(path), str(run)]) == 2
    line = one_error_line(capsys)
    assert repr(fmt) in line and "nlpbench-baseline/2" in line


@pytest.mark.parametrize("fmt", ["nlpbench-baseline/1", "nlpbench-baseline/2", None])
def test_format_1_and_2_still_load(tmp_path, fmt):
    side = load_side(baseline_file(tmp_path, baseline_records(), fmt))
    assert len(side.records) == len(baseline_records())


def test_a_cell_listed_twice_in_a_baseline_is_an_error(tmp_path, run, capsys):
    recs = baseline_records()
    path = baseline_file(tmp_path, recs + [dict(recs[0], metrics={"accuracy": 0.1})])
    assert cli(["compare", str(path), str(run)]) == 2
    assert f"more than once: {recs[0]['cell']}" in one_error_line(capsys)


@pytest.mark.parametrize("flag", ["--json", "--markdown"])
def test_the_verdict_files_never_overwrite_an_input(tmp_path, run, flag, capsys):
    path = baseline_file(tmp_path, baseline_records())
    before = path.read_text(), (run / "records.jsonl").read_text(), (run / "run.json").read_text()
    for target in (path, run / "records.jsonl", run / "run.json"):
        assert cli(["compare", str(path), str(run), flag, str(target)]) == 2
        assert "would overwrite the input" in one_error_line(capsys)
    assert (path.read_text(), (run / "records.jsonl").read_text(), (run / "run.json").read_text()) == before
    assert cli(["compare", str(path), str(run), flag, str(run / "verdict.out")]) == 0  # a new file beside is fine


def test_baseline_into_a_directory_is_one_line(tmp_path, run, capsys):
    out = tmp_path / "baselines"
    out.mkdir()
    assert cli(["baseline", str(run), str(out)]) == 2
    line = one_error_line(capsys)
    assert "is a directory" in line and str(out / "quick-cpu.json") in line
    assert not any(out.iterdir())
