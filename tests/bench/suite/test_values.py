"""Non-finite numbers and unsafe names refused at validate (bench/suite/values.py), every problem at once."""
import pytest

from nlpbench.cli import main
from nlpbench.errors import BadInput
from nlpbench.suite.schema import validate
from nlpbench.suite.values import SAFE_NAME
from tests.conftest import tiny_suite


def problems(raw) -> list[str]:
    with pytest.raises(BadInput) as e:
        validate(raw)
    return e.value.problems


@pytest.mark.parametrize("where, value", [
    ("train.lr", float("inf")), ("train.epochs", float("inf")), ("train.weight_decay", float("inf")),
    ("train.max_minutes", float("inf")), ("train.clip_norm", float("nan")), ("params.fail_above", float("nan")),
])  # fmt: skip
def test_non_finite_training_numbers_and_params_are_refused(where, value):
    raw = tiny_suite()
    section, key = where.split(".")
    raw["tasks"][0]["models"][0].setdefault(section, {})[key] = value
    found = problems(raw)
    line = f"tasks.0.models.0.{where}: a finite number is required (use null for no limit); given {value}"
    assert line in found  # before: lr, epochs, weight_decay, max_minutes and clip_norm passed validation


def test_a_nan_target_is_refused():
    raw = tiny_suite()
    raw["tasks"][0]["targets"] = {"accuracy": float("nan")}
    assert problems(raw) == ["tasks.0.targets.accuracy: a finite number is required (use null for no limit); given nan"]


def test_epochs_inf_cannot_run_to_exit_0(write_suite, tmp_path, capsys):
    path = write_suite(tiny_suite())
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "r"), "tasks.0.models.0.train.epochs=.inf"]) == 2
    assert "tasks.0.models.0.train.epochs: a finite number is required" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("name", ["../../../../../tmp/x", "a/b", "..", ".", "a b", "", "x" * 101, "tab\there", "é"])
def test_unsafe_names_are_refused(name):
    assert not (SAFE_NAME.fullmatch(name) and name not in (".", ".."))
    raw = tiny_suite(name=name)
    raw["tasks"][0]["name"] = name
    raw["tasks"][0]["models"][1]["name"] = name
    raw["perf"] = {"models": [{"adapter": "dummy", "name": name}]}
    found = [p for p in problems(raw) if "a name is one path component" in p]
    assert [p.split(":")[0] for p in found] == ["name", "tasks.0.name", "tasks.0.models.1.name", "perf.models.0.name"]


def test_safe_names_pass(write_suite, capsys):
    raw = tiny_suite(name="my_suite-2.1")
    raw["tasks"][0]["name"] = "sst-2.v1"
    assert validate(raw).tasks[0].label == "sst-2.v1"


def test_a_task_name_cannot_put_a_checkpoint_outside_the_run_folder(write_suite, tmp_path, capsys):
    path = write_suite(tiny_suite())
    escape = "../" * 12 + str(tmp_path / "outside").lstrip("/")
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "runs"), f"tasks.0.name={escape}"]) == 2
    assert "tasks.0.name: a name is one path component" in capsys.readouterr().err
    assert not list(tmp_path.glob("outside*")) and not (tmp_path / "runs").exists()
