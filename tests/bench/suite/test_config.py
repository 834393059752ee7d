from pathlib import Path

import pytest

from nlpbench.errors import BadInput
from nlpbench.suite.overrides import apply_overrides
from nlpbench.suite.schema import SUITES_DIR, load_suite, read_suite, validate
from tests.conftest import tiny_suite

SHIPPED = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_suite_is_valid_and_opens_with_its_command(name):
    path = SUITES_DIR / f"{name}.yaml"
    assert path.read_text().startswith(f"# nlpbench run {name}"), f"{path} must open with the command that runs it"
    # Files suites are checked against the shared data folder when it is there (it is beside every clone here).
    data_dir = str(SHARED_DATA) if SHARED_DATA.is_dir() else None
    try:
        suite = validate(read_suite(name), data_dir=data_dir, check_files=data_dir is not None)
    except BadInput as e:  # a light install (no `make pretrained`, no serve/variants extra, an empty Hugging Face
        # cache offline: hf-local's placeholder names): only that may fail
        assert all(("not installed" in p and "pip install" in p) or "in the local Hugging Face cache" in p
                   for p in e.problems), e.problems
        return
    assert suite.name == name


def test_overrides_walk_dicts_and_lists_and_parse_yaml_values():
    raw = tiny_suite()
    out = apply_overrides(raw, ["tasks.0.models.1.params.dim=32", "seed=7", "perf.batch_sizes=[1,8]", "device=cpu"])
    assert out["tasks"][0]["models"][1]["params"]["dim"] == 32
    assert out["seed"] == 7 and out["perf"]["batch_sizes"] == [1, 8]
    assert raw["seed"] == 0  # the original is untouched


def test_override_precedence_adapter_defaults_then_suite_then_override(write_suite):
    path = write_suite(tiny_suite())
    suite = load_suite(str(path), ["tasks.0.models.0.train.lr=0.5"])
    from nlpbench.registry import get_adapter
    from nlpbench.suite.schema import train_config

    cls = get_adapter("dummy")
    assert train_config(cls, suite.tasks[0].models[0].train).lr == 0.5
    assert train_config(cls, suite.tasks[0].models[1].train).lr == cls.train_defaults["lr"]


def test_every_problem_is_listed_at_once_with_did_you_mean(write_suite):
    raw = tiny_suite(devise="cpu")
    raw["tasks"][0]["models"][0]["adapter"] = "dumy"
    raw["tasks"][0]["models"][1]["params"]["dimm"] = 3
    raw["tasks"][0]["models"][1]["train"]["epochs"] = "many"
    raw["seed"] = "zero"
    with pytest.raises(BadInput) as e:
        load_suite(str(write_suite(raw)))
    text = "\n".join(e.value.problems)
    assert "devise: unknown key 'devise' — did you mean 'device'?" in text
    assert "seed:" in text and "'zero'" in text
    # schema errors come first; adapter problems need a valid schema, so check them separately
    raw.pop("devise")
    raw["seed"] = 0
    with pytest.raises(BadInput) as e:
        load_suite(str(write_suite(raw)))
    lines = e.value.problems
    assert any(l.startswith("tasks.0.models.0.adapter: unknown adapter 'dumy' — did you mean 'dummy'?") for l in lines)
    assert any(l.startswith("tasks.0.models.1.params.dimm: unknown param") and "did you mean 'dim'" in l for l in lines)
    assert any(l.startswith("tasks.0.models.1.train.epochs:") and "'many'" in l for l in lines)
    assert len(lines) == 3


def test_wrong_literal_names_allowed_values(write_suite):
    with pytest.raises(BadInput) as e:
        load_suite(str(write_suite(tiny_suite(device="cdua"))))
    assert e.value.problems == ["device: allowed 'auto', 'cpu' or 'cuda'; given 'cdua' — did you mean 'cuda'?"]


def test_unknown_suite_name_suggests():
    with pytest.raises(BadInput, match="unknown suite 'quik' — did you mean 'quick'?"):
        load_suite("quik")


def test_bad_override_syntax_and_index():
    with pytest.raises(BadInput) as e:
        apply_overrides(tiny_suite(), ["seed", "tasks.5.name=x"])
    assert len(e.value.problems) == 2
    assert "expected KEY=VALUE" in e.value.problems[0]
    assert "list index must be 0..0" in e.value.problems[1]


def test_duplicate_model_names_rejected(write_suite):
    raw = tiny_suite()
    raw["tasks"][0]["models"][1]["name"] = "d1"
    with pytest.raises(BadInput, match="two models are named 'd1'"):
        load_suite(str(write_suite(raw)))


def test_trust_remote_code_needs_the_flag(write_suite, monkeypatch):
    monkeypatch.delenv("NLPBENCH_TRUST_REMOTE_CODE", raising=False)
    raw = tiny_suite()
    raw["tasks"][0]["models"][0].setdefault("params", {})["trust_remote_code"] = True
    with pytest.raises(BadInput) as e:
        load_suite(str(write_suite(raw)))
    assert any("trust_remote_code: true needs the --trust-remote-code flag" in p for p in e.value.problems)


def test_a_suite_path_that_is_a_symlink_loop_is_said_so(tmp_path, capsys):
    import os

    from nlpbench.cli import main

    os.symlink(tmp_path / "b.yaml", tmp_path / "a.yaml")
    os.symlink(tmp_path / "a.yaml", tmp_path / "b.yaml")
    assert main(["validate", str(tmp_path / "a.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"nlpbench: suite: symlink loop: {tmp_path / 'a.yaml'}"
