"""The API's manners (issue 33 item 5): validate before any write, write only inside `out`, never delete a
file it did not create, Ctrl-C raises after the interruption is recorded, the caller's torch thread settings
come back, and every bad argument is `BadInput` (never a raw library exception). Each failed on the old api.py."""
from __future__ import annotations

import json
import logging

import pytest
import torch

import nlpbench
from tests.conftest import tiny_suite


def test_a_name_that_climbs_out_of_out_writes_and_deletes_nothing(tmp_path):
    victim = tmp_path / "x.yaml"
    victim.write_text("the user's own file\n")
    with pytest.raises(nlpbench.BadInput, match="name: a name is one path component"):
        nlpbench.run(tiny_suite(name="/../x"), out=tmp_path / "out")  # the old temp file was out/./../x.yaml
    assert victim.read_text() == "the user's own file\n"
    assert not (tmp_path / "out").exists()


def test_a_bad_suite_writes_nothing(tmp_path):
    with pytest.raises(nlpbench.BadInput, match="unknown adapter 'dumy'"):
        nlpbench.run(tiny_suite(), "tasks.0.models.0.adapter=dumy", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # the old API wrote its temp suite there first


def test_a_file_of_the_users_beside_the_results_is_left_alone(tmp_path):
    mine = tmp_path / ".tiny.yaml"  # the old API's temp name for suite 'tiny'
    mine.write_text("mine\n")
    run = nlpbench.run(tiny_suite(), out=tmp_path, models="d1", threads=1)
    assert run.exit_code == 0 and mine.read_text() == "mine\n"


def test_the_run_folder_keeps_the_whole_suite_and_resumes_from_the_dict(tmp_path):
    suite = tiny_suite()
    first = nlpbench.run(suite, out=tmp_path, models="d1", threads=1)
    assert first.meta["config"]["tasks"][0]["models"][1]["name"] == "d2"  # the whole suite, not the selection
    again = nlpbench.run(suite, resume=first.dir, models="d2", threads=1)
    assert again.dir == first.dir
    assert {r["name"] for r in again.records if r["kind"] == "quality"} == {"d1", "d2"}


@pytest.fixture
def interrupt_d2(monkeypatch):
    """Ctrl-C while model d2 trains (d1 has finished)."""
    from nlpbench.quality import units

    real = units.run_quality_unit

    def unit(task, model, data, ctx):
        if model.label == "d2":
            raise KeyboardInterrupt
        return real(task, model, data, ctx)

    monkeypatch.setattr(units, "run_quality_unit", unit)


def test_ctrl_c_raises_after_recording_the_interruption(tmp_path, interrupt_d2, caplog):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with caplog.at_level(logging.INFO), pytest.raises(KeyboardInterrupt) as e:
            nlpbench.run(tiny_suite(), out=tmp_path, threads=1)
        assert torch.get_num_threads() == 2  # the caller's setting, back on this exit path too
    finally:
        torch.set_num_threads(before)
    run = e.value.run  # the folder travels with the exception
    assert run.status == "interrupted" and run.exit_code == 130
    assert [r["name"] for r in run.records if r["kind"] == "quality"] == ["d1", "d1"]  # finished cells kept
    hint = next(m for m in caplog.messages if "continue with" in m)
    assert f"resume='{run.dir}'" in hint and ".yaml" not in hint  # no temp file named; the API's own call


def test_the_callers_thread_settings_come_back(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        nlpbench.run(tiny_suite(), out=tmp_path, models="d1", threads=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda p: nlpbench.run(tiny_suite(seed=lambda: 0), out=p), r"seed: a suite holds data .* function"),
        (lambda p: nlpbench.run(tiny_suite(), out=p / "file.txt"), r"out: .*file\.txt is a file"),
        (lambda p: nlpbench.run(tiny_suite(), out=p / "file.txt" / "sub"), r"out: .*file\.txt is a file"),
        (lambda p: nlpbench.run(tiny_suite(), out=p, thread=1), r"thread=1: not a suite key — did you mean 'threads'"),
        (lambda p: nlpbench.run(tiny_suite(), out=p, models=3), r"models: a label, 'a,b' or a list of labels; given 3"),
        (lambda p: nlpbench.run(tiny_suite(), 5, out=p), r"overrides: KEY=VALUE strings; given 5"),
        (lambda p: nlpbench.run(42, out=p), r"suite: a shipped name, a YAML path or a dict; given 42"),
        (lambda p: nlpbench.run(tiny_suite(), out=p, resume=p / "nope"), r"--resume: .*nope is not a run folder"),
    ],
    ids=["lambda", "out-file", "out-under-file", "unknown-kwarg", "models-int", "override-int", "suite-int", "resume"],
)
def test_every_bad_argument_is_bad_input(tmp_path, call, expected):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(nlpbench.BadInput, match=expected):
        call(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]  # nothing written


def test_all_bad_arguments_at_once(tmp_path):
    with pytest.raises(nlpbench.BadInput) as e:
        nlpbench.run(tiny_suite(seed=lambda: 0), out=tmp_path, models=3, thread=1)
    assert len(e.value.problems) == 3


def test_a_suite_that_contains_itself_is_bad_input(tmp_path):
    suite = tiny_suite()
    suite["tasks"][0]["dataset"]["loop"] = suite
    with pytest.raises(nlpbench.BadInput, match="tasks.0.dataset.loop: .*contains itself"):
        nlpbench.run(suite, out=tmp_path)


def test_tuples_paths_and_numpy_numbers_are_data(tmp_path):
    np = pytest.importorskip("numpy")
    run = nlpbench.run(tiny_suite(seeds=(np.int64(0),)), out=tmp_path, models=("d1",), threads=1)
    assert run.exit_code == 0 and json.loads((run.dir / "run.json").read_text())["config"]["seeds"] == [0]


def test_load_and_compare_take_bad_arguments_as_bad_input(tmp_path):
    with pytest.raises(nlpbench.BadInput, match="load: a run folder's path; given 3"):
        nlpbench.load(3)
    with pytest.raises(nlpbench.BadInput) as e:
        nlpbench.compare(None, 3, accuracy="tight")
    assert len(e.value.problems) == 3 and "accuracy='tight': a tolerance is a number" in e.value.problems[2]


def test_the_callers_random_streams_are_left_where_they_were(tmp_path):
    import random

    import numpy as np

    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    torch.manual_seed(123), np.random.seed(123), random.seed(123)
    expected = draw()
    torch.manual_seed(123), np.random.seed(123), random.seed(123)
    nlpbench.run(tiny_suite(), out=tmp_path, models="d1", threads=1)  # each unit reseeds all three
    assert draw() == expected
