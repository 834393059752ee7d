"""Exit codes a CI job can trust (bench/store/outcome.py, bench/commands/run.py): a run with no `ok` cell exits 1
whether or not a model is required; `required` has a suite-level default that a model's own value overrides;
the end of the run says how many cells failed and why, one line per failed unit."""
from __future__ import annotations

import json
from pathlib import Path

from nlpbench.cli import main
from nlpbench.store.outcome import failure_lines, unit_of
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite

OOM = {"fail_above": 0}  # the dummy's every forward pass raises torch.OutOfMemoryError: the unit ends `oom`


def only_dir(out: Path) -> Path:
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def suite_with(*models, **over) -> dict:
    suite = tiny_suite(**over)
    suite["tasks"][0]["models"] = list(models)
    return suite


def test_a_run_where_every_unit_failed_exits_1_though_nothing_is_required(write_suite, tmp_path, capsys):
    suite = suite_with({"adapter": "dummy", "name": "a", "params": OOM}, {"adapter": "dummy", "name": "b", "params": OOM})
    assert main(["run", str(write_suite(suite)), "--out", str(tmp_path), "--no-progress"]) == 1
    assert json.loads((only_dir(tmp_path) / "run.json").read_text())["status"] == "failed"
    text = capsys.readouterr().err
    assert "4 of 4 cells not ok (4 oom) in 2 unit(s):" in text
    assert "  quality/classification/a (2 cells): oom: " in text and "fail_above=0" in text
    assert "no cell of " in text and "finished ok: exit 1" in text


def test_a_failed_optional_model_beside_an_ok_one_exits_0_and_says_why(write_suite, tmp_path, capsys):
    suite = suite_with({"adapter": "dummy", "name": "a"}, {"adapter": "dummy", "name": "b", "params": OOM})
    assert main(["run", str(write_suite(suite)), "--out", str(tmp_path), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "2 of 4 cells not ok (2 oom) in 1 unit(s):" in err and "quality/classification/b (2 cells): oom" in err


def test_the_suite_level_required_default_fails_the_run_and_a_model_may_opt_out(write_suite, tmp_path):
    suite = suite_with({"adapter": "dummy", "name": "a"}, {"adapter": "dummy", "name": "b", "params": OOM}, required=True)
    assert main(["run", str(write_suite(suite)), "--out", str(tmp_path / "1"), "--no-progress"]) == 1
    suite["tasks"][0]["models"][1]["required"] = False
    assert main(["run", str(write_suite(suite)), "--out", str(tmp_path / "2"), "--no-progress"]) == 0


def test_required_resolves_per_model():
    suite = validate(suite_with({"adapter": "dummy", "name": "a"}, {"adapter": "dummy", "name": "b", "required": False},
                                required=True), check_files=False)  # fmt: skip
    assert [m.required for m in suite.tasks[0].models] == [True, False]
    assert [m.required for m in validate(tiny_suite(), check_files=False).tasks[0].models] == [False, False]


def test_failure_lines_group_a_units_cells_and_take_the_first_line_of_the_reason():
    recs = [{"cell": "quality/t/m/validation/seed1", "kind": "quality", "status": "error", "error": "ValueError: x\n  more"},
            {"cell": "quality/t/m/test/seed1", "kind": "quality", "status": "error", "error": "ValueError: x\n  more"},
            {"cell": "perf/t/m/forward/b8/s16", "kind": "perf", "status": "skipped", "error": "a smaller batch ran out of memory"},
            {"cell": "quality/t/n/test", "kind": "quality", "status": "ok"}]  # fmt: skip
    assert unit_of(recs[0]) == "quality/t/m/seed1"
    assert failure_lines(recs) == ["3 of 4 cells not ok (2 error, 1 skipped) in 2 unit(s):",
                                   "  quality/t/m/seed1 (2 cells): error: ValueError: x",
                                   "  perf/t/m/forward/b8/s16: skipped: a smaller batch ran out of memory"]  # fmt: skip
    assert failure_lines(recs[3:]) == []
