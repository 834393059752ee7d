"""Time-to-target from the validation curve, its config check, and its table."""
import pytest

from nlpbench.cli import main
from nlpbench.errors import BadInput
from nlpbench.quality import targets
from nlpbench.store.results import read_records
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite

HISTORY = [{"step": 10, "examples": 320, "epoch": 1.0, "minutes": 0.1, "score": 0.6},
           {"step": 20, "examples": 640, "epoch": 2.0, "minutes": 0.2, "score": 0.85},
           {"step": 30, "examples": 960, "epoch": 3.0, "minutes": 0.3, "score": 0.8}]


def test_first_pass_that_reaches_each_target():
    out = targets.time_to_target(HISTORY, {"accuracy": 0.8, "f1_macro": 0.5}, "accuracy")
    assert out["accuracy>=0.8"] == {"minutes": 0.2, "steps": 20, "examples": 640, "epoch": 2.0}
    assert out["f1_macro>=0.5"] is None  # not the logged metric
    assert targets.time_to_target(HISTORY, {"accuracy": 0.9}, "accuracy") == {"accuracy>=0.9": None}


def test_a_target_on_another_metric_is_a_config_problem():
    suite = tiny_suite()
    suite["tasks"][0]["targets"] = {"f1_macro": 0.7}
    with pytest.raises(BadInput, match=r"tasks.0.targets.f1_macro: .*selection metric 'accuracy'"):
        validate(suite)


def test_records_and_report_carry_time_to_target(write_suite, tmp_path):
    suite = tiny_suite()
    suite["tasks"][0]["targets"] = {"accuracy": 0.01}
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(suite)), "--out", str(out), "--no-progress"]) == 0
    (rd,) = out.iterdir()
    rec = read_records(rd)[0]
    hit = rec["time_to_target"]["accuracy>=0.01"]
    assert hit["steps"] == rec["fit"]["history"][0]["step"] and hit["examples"] == 200
    assert rec["stopped_by_clock"] is False
    assert "## Time to target" in (rd / "report.md").read_text()
    assert (rd / "plots" / "learning_curve.png").stat().st_size > 1000
