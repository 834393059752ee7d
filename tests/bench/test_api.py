"""The Python API: README's example runs as written; run/load/frame/compare behave as documented."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import nlpbench
from tests.conftest import tiny_suite

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the run folder goes to ./results/runs under the current directory
    exec(compile(readme_example(), "README.md", "exec"), {})
    (run_dir,) = (tmp_path / "results" / "runs").iterdir()
    assert run_dir.name.startswith("api-demo-")
    assert "metrics.accuracy" in capsys.readouterr().out


def test_run_returns_a_run_with_frames(tmp_path):
    run = nlpbench.run(tiny_suite(), out=tmp_path, models="d1", threads=1)
    assert run.exit_code == 0 and run.status == "ok" and run.dir.parent == tmp_path
    quality = run.frame("quality")
    assert isinstance(quality, pd.DataFrame)
    assert set(quality["name"]) == {"d1"} and set(quality["split"]) == {"validation", "test"}
    assert quality["metrics.accuracy"].between(0, 1).all()
    assert run.meta["config"]["threads"] == 1  # a keyword option is a top-level override
    assert run.frame("perf").empty  # a known kind without records: an empty frame
    with pytest.raises(nlpbench.BadInput, match="no 'perff' records"):
        run.frame("perff")


def test_compare_flags_a_regression_and_passes_itself(tmp_path):
    good = nlpbench.run(tiny_suite(), out=tmp_path / "a", models=["d1"], threads=1)
    assert nlpbench.compare(good, good).ok
    worse = tmp_path / "worse"
    shutil.copytree(good.dir, worse)
    records = [json.loads(line) for line in (worse / "records.jsonl").read_text().splitlines()]
    records[0]["metrics"]["accuracy"] -= 0.2
    (worse / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    verdict = nlpbench.compare(good.dir, worse, accuracy=0.01)
    assert not verdict.ok and verdict.regressions == [f"{records[0]['cell']} accuracy"]
    assert nlpbench.load(good.dir).records == good.records


def test_bad_input_raises_with_every_problem(tmp_path):
    with pytest.raises(nlpbench.BadInput) as e:
        nlpbench.run(tiny_suite(), "tasks.0.models.0.adapter=dumy", "tasks.0.models.1.train.epochs=-1", out=tmp_path)
    assert len(e.value.problems) == 2 and "did you mean 'dummy'" in e.value.problems[0]
    with pytest.raises(nlpbench.BadInput, match="not a run folder"):
        nlpbench.load(tmp_path)
