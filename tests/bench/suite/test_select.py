"""--models/--tasks (bench/suite/selection.py) and options/overrides in any order on the command line."""
import json

import pytest

from nlpbench.cli import main, parse
from nlpbench.errors import BadInput
from nlpbench.store.results import read_records
from nlpbench.suite.selection import names, select
from tests.conftest import tiny_suite


def two_tasks() -> dict:
    suite = tiny_suite()
    suite["tasks"].append({"task": "classification", "name": "other",
                           "dataset": suite["tasks"][0]["dataset"], "models": [{"adapter": "dummy", "name": "d3"}]})  # fmt: skip
    return suite


def labels(raw):
    return {t.get("name") or t["task"]: [m.get("name") or m["adapter"] for m in t["models"]] for t in raw["tasks"]}


def test_names_split_on_commas():
    assert names("a, b,") == ["a", "b"] and names(None) is None and names("") is None


def test_models_and_tasks_pick_by_label():
    raw = two_tasks()
    assert labels(select(raw, models=["d2"])) == {"classification": ["d2"]}  # a task left without models goes
    assert labels(select(raw, tasks=["other"])) == {"other": ["d3"]}
    assert labels(select(raw, tasks=["classification"], models=["d1", "d2"])) == {"classification": ["d1", "d2"]}
    assert select(raw) is raw


def test_unknown_names_say_did_you_mean_all_at_once():
    with pytest.raises(BadInput) as e:
        select(two_tasks(), tasks=["classificaton"], models=["d11", "d1"])
    assert e.value.problems == [
        "--tasks: unknown task 'classificaton' — did you mean 'classification'? available: classification, other",
        "--models: unknown model 'd11' — did you mean 'd1'? available: d1, d2, d3",
    ]


def test_explicit_perf_models_follow_the_model_selection():
    raw = tiny_suite(perf={"models": [{"adapter": "dummy", "name": "p1"}, {"adapter": "dummy", "name": "p2"}]})
    assert [m["name"] for m in select(raw, models=["p2"])["perf"]["models"]] == ["p2"]
    assert select(raw, models=["d1"])["perf"] is None  # none of its models selected: no perf section
    assert select(raw, tasks=["classification"])["perf"] == raw["perf"]


def test_unselected_models_are_not_validated(write_suite, capsys):
    suite = tiny_suite()
    suite["tasks"][0]["models"].append({"adapter": "bert", "name": "b", "params": {"checkpoint": "pkg:nlpbench_absent_pkg/m"}})
    path = str(write_suite(suite))
    assert main(["validate", path]) == 2
    assert "nlpbench_absent_pkg" in capsys.readouterr().err
    assert main(["validate", path, "--models", "d1"]) == 0
    assert "models: d1" in capsys.readouterr().out


def test_overrides_after_options_join_the_overrides():
    args = parse(["run", "quick", "--no-progress", "tasks.0.models.0.train.epochs=1", "--models", "lstm", "seed=3"])
    assert args.overrides == ["tasks.0.models.0.train.epochs=1", "seed=3"] and args.models == "lstm" and args.no_progress
    with pytest.raises(SystemExit):
        parse(["run", "quick", "--no-progress", "not-an-override"])
    with pytest.raises(SystemExit):
        parse(["list", "adapters", "a=1"])  # list takes no overrides


def test_run_selected_models_in_any_order_then_resume_with_the_rest(write_suite, tmp_path):
    path = str(write_suite(tiny_suite()))
    out = tmp_path / "o"
    assert main(["run", path, "--no-progress", "tasks.0.models.0.train.epochs=1", "--models", "d1", "--out", str(out)]) == 0
    (rd,) = out.iterdir()
    assert {r["name"] for r in read_records(rd)} == {"d1"}
    meta = json.loads((rd / "run.json").read_text())
    assert meta["selection"] == {"models": ["d1"]} and len(meta["config"]["tasks"][0]["models"]) == 2  # the whole suite
    # --resume compares the whole suite, so the same folder takes the other model; d1 is not run again
    assert main(["run", path, "tasks.0.models.0.train.epochs=1", "--resume", str(rd), "--models", "d2"]) == 0
    assert sorted(r["cell"] for r in read_records(rd)) == [
        f"quality/classification/{m}/{s}" for m in ("d1", "d2") for s in ("test", "validation")]
    assert len((rd / "records.jsonl").read_text().splitlines()) == 4
