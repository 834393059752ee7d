"""A unit's live status: written by the trainer when a worker asks for it, drawn as one line by the driver."""
from __future__ import annotations

from nlpbench.cli import main
from nlpbench.store import unit_status
from tests.conftest import tiny_suite


def test_training_writes_its_status_only_when_asked(write_suite, tmp_path, monkeypatch):
    status = tmp_path / "s.json"
    path = write_suite(tiny_suite())
    assert main(["run", str(path), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert not status.exists()  # inline, no variable: nothing written
    monkeypatch.setenv(unit_status.ENV, str(status))
    assert main(["run", str(path), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    s = unit_status.read(status)
    assert s["stage"] == "dummy" and s["step"] == s["total"] == 7 and s["epoch"] == 1.0  # 200 examples, batch 32
    assert 0 <= s["score"] <= 1 and s["eta_s"] == 0


def test_eta_is_the_step_rate_bounded_by_the_clock_cap():
    assert unit_status.eta_s(100, 400, 60.0, None) == 180.0
    assert unit_status.eta_s(100, 400, 60.0, 2.0) == 60.0  # the 2-minute cap ends it first
    assert unit_status.eta_s(0, 400, 5.0, None) is None


def test_status_line_reads_like_a_progress_bar():
    line = unit_status.line("quality/sst2/bert/seed1", {"stage": "bert", "step": 1200, "total": 6000, "epoch": 0.4,
                                                        "score": 0.8123, "eta_s": 408}, 192)  # fmt: skip
    assert line == "quality/sst2/bert/seed1 bert 1200/6000 (epoch 0.40) val 0.8123  3.2 min  ETA 6.8 min"
    assert unit_status.line("u", {}, 30) == "u  starting (0.5 min)"
