"""Training units in a process pool (`--workers N`): same numbers as inline, faults, timeouts, resume."""
from __future__ import annotations

import json
import os

import pytest
import unit_test_adapters  # noqa: F401  (registers unit_fault; workers import it through the spec)

from nlpbench.cli import main
from nlpbench.data import load_task_data
from nlpbench.launch import process, units
from nlpbench.quality.units import plan
from nlpbench.store.results import read_records
from nlpbench.suite.schema import load_suite
from tests.conftest import tiny_suite


def run_dir_of(out):
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def metrics(run_dir) -> dict:
    return {r["cell"]: (r["status"], r.get("metrics")) for r in read_records(run_dir)}


# The quick suite, every real adapter, shrunk to seconds per unit.
SMALL_QUICK = [
    "perf=null", "threads=1",
    "tasks.0.dataset.size={train: 160, validation: 40, test: 40}",
    "tasks.1.dataset.size={train: 120, validation: 30, test: 30}",
    "tasks.0.models.2.params.pretrain.steps=3",
    *[f"tasks.0.models.{i}.train.epochs=1" for i in range(3)],
    *[f"tasks.1.models.{i}.train.epochs=1" for i in range(2)],
]  # fmt: skip


def test_quick_suite_metrics_are_identical_inline_and_in_two_workers(tmp_path):
    assert main(["run", "quick", *SMALL_QUICK, "--out", str(tmp_path / "inline"), "--no-progress"]) == 0
    assert main(["run", "quick", *SMALL_QUICK, "--workers", "2", "--out", str(tmp_path / "pool"), "--no-progress"]) == 0
    inline, pooled = run_dir_of(tmp_path / "inline"), run_dir_of(tmp_path / "pool")
    assert metrics(inline) == metrics(pooled)  # bit for bit: every metric and interval
    assert len(metrics(inline)) == 10
    recs = read_records(pooled)
    assert {r["launcher"] for r in recs} == {"process"} and {r["launcher"] for r in read_records(inline)} == {"inline"}
    assert len({r["node"]["pid"] for r in recs}) == 5  # a fresh interpreter per unit
    for r in recs:  # each unit's log, predictions and checkpoint are in the run folder
        assert (pooled / r["log"]).is_file() and (pooled / r["predictions"]).is_file()
    assert len(list((pooled / "checkpoints").glob("*.pt"))) == 5


def test_units_start_longest_first_by_their_budgets():
    suite = load_suite("quick", ["perf=null"])
    data = [load_task_data(t, None, suite.seed, at="x") for t in suite.tasks]
    order = [u.label for u in plan(suite, data, set())]
    # all caps 10 min: then examples processed (bert: 15 epochs + 300 MLM steps of 64; lstm: 5 epochs)
    assert order[0] == "quality/classification/bert" and order[-1] == "quality/classification/lstm"
    capped = load_suite("quick", ["perf=null", "tasks.0.models.0.train.max_minutes=30"])
    assert plan(capped, data, set())[0].label == "quality/classification/lstm"  # a 30-minute cap goes first


def fault_suite(tmp_path, **params) -> dict:
    suite = tiny_suite()
    suite["tasks"][0]["models"].append({"adapter": "unit_fault", "name": "f", "params": params, "train": {"epochs": 1}})
    return suite


def test_a_killed_worker_is_one_error_cell_and_resume_reruns_only_it(write_suite, tmp_path):
    marker = tmp_path / "kill-once"
    marker.touch()
    path = write_suite(fault_suite(tmp_path, marker=str(marker)))
    out = tmp_path / "runs"
    assert main(["run", str(path), "--workers", "2", "--out", str(out), "--no-progress"]) == 0  # f is not required
    rd = run_dir_of(out)
    by_cell = {r["cell"]: r for r in read_records(rd)}
    bad = [r for r in by_cell.values() if r["status"] != "ok"]
    assert {r["cell"] for r in bad} == {"quality/classification/f/validation", "quality/classification/f/test"}
    assert all("killed by signal SIGKILL" in r["error"] and r["launcher"] == "process" for r in bad)
    assert sum(r["status"] == "ok" for r in by_cell.values()) == 4  # the other units finished
    before = len((rd / "records.jsonl").read_text().splitlines())
    assert main(["run", str(path), "--resume", str(rd), "--workers", "1", "--no-progress"]) == 0  # placement may change
    lines = [json.loads(x) for x in (rd / "records.jsonl").read_text().splitlines()[before:]]
    assert [r["cell"] for r in lines] == ["quality/classification/f/validation", "quality/classification/f/test"]
    assert all(r["status"] == "ok" for r in lines)


def test_a_unit_past_its_timeout_is_stopped_and_recorded(write_suite, tmp_path):
    suite = fault_suite(tmp_path, sleep_s=120)
    suite["tasks"][0]["models"] = suite["tasks"][0]["models"][-1:]  # the sleeper alone: no other unit to wait for
    suite["timeout_minutes"] = 0.1  # 6 s
    out = tmp_path / "runs"
    # its only unit timed out: no ok cell, so exit 1 (a CI job never passes on a run that measured nothing)
    assert main(["run", str(write_suite(suite)), "--workers", "2", "--out", str(out), "--no-progress"]) == 1
    recs = read_records(run_dir_of(out))
    assert [(r["name"], r["status"]) for r in recs] == [("f", "timeout")] * 2  # a record per split, none lost
    assert "stopped after 0.1 min" in recs[0]["error"] and recs[0]["wall_s"] < 60 and recs[0]["launcher"] == "process"


def test_ctrl_c_stops_every_worker_and_keeps_finished_units(write_suite, tmp_path, monkeypatch):
    suite = fault_suite(tmp_path, sleep_s=60)
    started = []
    real_start = process.start

    def spy_start(*a, **k):
        r = real_start(*a, **k)
        started.append(r.proc)
        return r

    def interrupt_after_first(unit, records, wall_s):
        raise KeyboardInterrupt

    monkeypatch.setattr(process, "start", spy_start)
    monkeypatch.setattr(units, "summary", interrupt_after_first)
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(suite)), "--workers", "3", "--out", str(out), "--no-progress"]) == 130
    rd = run_dir_of(out)
    assert len(read_records(rd)) == 2  # the first unit to end was stored before the interrupt
    assert all(p.poll() is not None for p in started)  # no worker outlives the driver
    assert json.loads((rd / "run.json").read_text())["status"] == "interrupted"


def test_worker_threads_share_out_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    suite = load_suite("quick", ["perf=null", "workers=2"])
    assert process.worker_count(suite) == 2 and process.worker_threads(suite, 2) == 4
    assert process.worker_threads(load_suite("quick", ["perf=null", "threads=1"]), 2) == 1


@pytest.mark.parametrize("argv, expected", [
    (["--launcher", "process"], ["launcher=process", "perf.launcher=process"]),
    (["--workers", "3"], ["workers=3"]),
])  # fmt: skip
def test_launcher_flags_become_overrides(argv, expected):
    from nlpbench.cli import launcher_override, parser

    args = parser().parse_args(["run", "quick", *argv])
    assert launcher_override(args) == expected


def test_torchrun_needs_a_perf_section(write_suite, tmp_path, capsys):
    path = write_suite(tiny_suite())
    assert main(["run", str(path), "--launcher", "torchrun", "--out", str(tmp_path)]) == 2
    assert "torchrun places perf train_step cells only" in capsys.readouterr().err
