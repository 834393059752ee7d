"""`validate` names every problem at once, across stages (issue 32 item 5): a schema error no longer hides the
models' adapters and params, the metrics' plugins, or the data of a task whose only fault is an unknown key.
Each case listed one line (the schema's) before."""
from __future__ import annotations

import textwrap

import pytest

import nlpbench
from nlpbench.cli import main
from tests.conftest import tiny_suite


def lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("nlpbench: ")]


def three(**model0) -> dict:
    suite = tiny_suite()
    task = suite["tasks"][0]
    task["metricz"] = ["accuracy"]  # the unknown task key
    task["models"] = [{"adapter": "lstmm", **model0}, {"adapter": "lstm", "name": "l2", "params": {"hidden_size": "big"}}]
    return suite


def test_unknown_key_unknown_adapter_and_bad_param_in_one_call(write_suite, capsys):
    assert main(["validate", str(write_suite(three()))]) == 2
    got = lines(capsys)
    assert len(got) == 3
    assert "tasks.0.metricz: unknown key 'metricz'" in got[0]
    assert "tasks.0.models.0.adapter: unknown adapter 'lstmm' — did you mean 'lstm'?" in got[1]
    assert "tasks.0.models.1.params.hidden_size:" in got[2] and "'big'" in got[2]


def test_the_params_of_a_typod_adapter_are_checked_as_the_one_it_means(write_suite, capsys):
    suite = three(params={"hidden_size": "big"})
    suite["tasks"][0]["models"].pop(1)
    assert main(["validate", str(write_suite(suite))]) == 2
    assert lines(capsys)[-1].endswith("given 'big' (checked as for 'lstm')")


def test_the_data_of_a_task_with_an_unknown_key_is_still_checked(write_suite, capsys, tmp_path):
    suite = tiny_suite()
    suite["tasks"][0]["metricz"] = ["accuracy"]
    suite["tasks"][0]["dataset"] = {"source": "files", "files": {"train": str(tmp_path / "nope.tsv")}}
    assert main(["validate", str(write_suite(suite))]) == 2
    got = lines(capsys)
    assert len(got) == 2 and "unknown key 'metricz'" in got[0] and "file not found" in got[1] and "nope.tsv" in got[1]


def test_a_broken_plugin_metric_beside_a_schema_error(write_suite, capsys, tmp_path, monkeypatch):
    (tmp_path / "badmetric.py").write_text(textwrap.dedent("""
        def score(predictions, references):
            return "not a number"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = tiny_suite(seed="zero")
    suite["tasks"][0]["metrics"] = ["badmetric:score"]
    assert main(["validate", str(write_suite(suite))]) == 2
    got = lines(capsys)
    assert len(got) == 2 and "seed:" in got[0]
    assert "tasks.0.metrics.0: metric 'badmetric:score': on 3 sample classification examples it raised ValueError" in got[1]


def test_run_and_the_api_list_them_too(tmp_path):
    with pytest.raises(nlpbench.BadInput) as e:
        nlpbench.run(three(), out=tmp_path / "out")
    assert len(e.value.problems) == 3 and not (tmp_path / "out").exists()
