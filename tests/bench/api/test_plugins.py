"""Plugins from outside the package (issue 32 item 3): README's example runs as written; a metric function
and an adapter class handed over as objects, a `module:function` metric and an entry-point metric each reach
the records, the report and the gate; broken plugins are one line each before anything trains."""
from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

import nlpbench
from nlpbench import metrics
from tests.conftest import tiny_suite

README = Path(__file__).resolve().parents[3] / "README.md"


def plugins_example() -> str:
    section = README.read_text().split("### Plugins", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_plugins_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(plugins_example(), "README.md", "exec", dont_inherit=True), {"__name__": "__main__"})  # as a script
    (run_dir,) = (tmp_path / "results" / "runs").iterdir()
    quality = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert {r["name"] for r in quality if r["kind"] == "quality"} == {"meanbag", "dummy"}
    assert all("recall1" in r["metrics"] and len(r["metrics"]["recall1_ci95"]) == 2 for r in quality if r["kind"] == "quality")
    assert "metrics.recall1" in capsys.readouterr().out


def worsened(run_dir: Path, dest: Path, metric: str, by: float) -> Path:
    shutil.copytree(run_dir, dest)
    records = [json.loads(line) for line in (dest / "records.jsonl").read_text().splitlines()]
    for r in records:
        if r.get("kind") == "quality":
            r["metrics"][metric] -= by
            r["metrics"].pop(f"{metric}_ci95", None)  # the fixed tolerance judges, not the interval
    (dest / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return dest


def test_a_metric_object_is_reported_and_gated(tmp_path):
    @nlpbench.metric(tasks=["classification"], higher_is_better=True, tolerance=0.01, label="hit rate")
    def hits(predictions, references):
        return sum(p == r for p, r in zip(predictions, references)) / len(references)

    suite = tiny_suite()
    suite["tasks"][0]["metrics"] = ["accuracy", "hits"]
    run = nlpbench.run(suite, out=tmp_path, models="d1", threads=1, metrics={"hits": hits})
    rec = next(r for r in run.records if r["kind"] == "quality")
    assert rec["metrics"]["hits"] == rec["metrics"]["accuracy"]  # the same number by another name
    assert "hit rate" in (run.dir / "report.md").read_text()
    verdict = nlpbench.compare(run, worsened(run.dir, tmp_path / "worse", "hits", 0.2))
    assert not verdict.ok and any(d.metric == "hits" and d.verdict == "regression" for d in verdict.deltas)


def test_a_module_function_metric_in_a_suite(tmp_path, monkeypatch, write_suite):
    (tmp_path / "mymetrics.py").write_text(textwrap.dedent("""
        import nlpbench

        @nlpbench.metric(higher_is_better=False, tolerance=0.0)
        def errors(predictions, references):
            return sum(p != r for p, r in zip(predictions, references)) / len(references)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = tiny_suite()
    suite["tasks"][0]["metrics"] = ["accuracy", "mymetrics:errors"]
    run = nlpbench.run(suite, out=tmp_path / "runs", models="d1", threads=1)
    rec = next(r for r in run.records if r["kind"] == "quality")
    assert rec["metrics"]["mymetrics:errors"] == pytest.approx(1 - rec["metrics"]["accuracy"])
    assert metrics.get("mymetrics:errors").higher_is_better is False


@pytest.fixture
def installed_metric(tmp_path, monkeypatch):
    """A package installed beside this one that declares a metric entry point."""
    (tmp_path / "plugpkg.py").write_text("def always_half(predictions, references):\n    return 0.5\n")
    info = tmp_path / "plugpkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugpkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[nlpbench.metrics]\nhalf = plugpkg:always_half\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    metrics.registry.cache_clear()
    yield
    metrics.registry.cache_clear()


def test_an_entry_point_metric(tmp_path, installed_metric):
    assert "half" in metrics.available()
    suite = tiny_suite()
    suite["tasks"][0]["metrics"] = ["half"]
    run = nlpbench.run(suite, out=tmp_path / "runs", models="d1", threads=1)
    assert all(r["metrics"]["half"] == 0.5 for r in run.records if r["kind"] == "quality")


def test_an_adapter_class_handed_over(tmp_path):
    from nlpbench.models.dummy import DummyAdapter

    class Mine(DummyAdapter):
        pass

    suite = tiny_suite()
    suite["tasks"][0]["models"] = [{"adapter": "mine", "train": {"epochs": 1}}]
    run = nlpbench.run(suite, out=tmp_path, threads=1, adapters={"mine": Mine})
    assert run.exit_code == 0 and {r["name"] for r in run.records if r["kind"] == "quality"} == {"mine"}
    assert "mine" in (run.dir / "report.md").read_text()


def test_broken_plugins_are_one_line_each_before_anything_trains(tmp_path):
    def wrong_args(x):
        return 0.0

    def raises(predictions, references):
        raise ValueError("boom")

    class NoConfig:
        pass

    suite = tiny_suite()
    suite["tasks"][0]["metrics"] = ["raises", "nosuchmod:fn"]
    with pytest.raises(nlpbench.BadInput) as e:
        nlpbench.run(suite, out=tmp_path / "out", adapters={"x": NoConfig, "dummy": NoConfig, "y": 3},
                     metrics={"w": wrong_args, "accuracy": raises})  # fmt: skip
    text = "\n".join(e.value.problems)
    assert "adapters.x: breaks the adapter contract" in text
    assert "adapters.dummy: 'dummy' is already the adapter" in text
    assert "adapters.y: an adapter class; given 3" in text
    assert "metrics.w: must take (predictions, references)" in text
    assert "metrics.accuracy: 'accuracy' is already a metric" in text
    assert not (tmp_path / "out").exists()
    with pytest.raises(nlpbench.BadInput) as e:
        nlpbench.run(suite, out=tmp_path / "out", metrics={"raises": raises})
    assert e.value.problems == [
        "tasks.0.metrics.0: metric 'raises': on 3 sample classification examples it raised ValueError: boom",
        "tasks.0.metrics.1: metric 'nosuchmod:fn': cannot import module 'nosuchmod' (No module named 'nosuchmod')",
    ]
    assert not (tmp_path / "out").exists()


def test_objects_are_refused_with_a_launcher_of_other_interpreters(tmp_path):
    with pytest.raises(nlpbench.BadInput, match="launcher: process .* can't see"):
        nlpbench.run(tiny_suite(), out=tmp_path, workers=2, metrics={"m": lambda predictions, references: 0.0})


def test_nlpbench_compare_finds_a_module_function_metric_by_importing_it(tmp_path, monkeypatch):
    from nlpbench.cli import main

    (tmp_path / "lowmetrics.py").write_text(textwrap.dedent("""
        import nlpbench

        @nlpbench.metric(higher_is_better=False, tolerance=0.01)
        def wrong(predictions, references):
            return sum(p != r for p, r in zip(predictions, references)) / len(references)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = tiny_suite()
    suite["tasks"][0]["metrics"] = ["lowmetrics:wrong"]
    run = nlpbench.run(suite, out=tmp_path / "runs", models="d1", threads=1)
    worse = worsened(run.dir, tmp_path / "worse", "lowmetrics:wrong", -0.2)  # lower is better: +0.2 is worse
    metrics.registry.cache_clear()  # as in a fresh `nlpbench compare` process: the gate imports the metric itself
    try:
        assert main(["compare", str(run.dir), str(worse)]) == 1
        assert main(["compare", str(worse), str(run.dir)]) == 0  # the other way round: an improvement
    finally:
        metrics.registry.cache_clear()
