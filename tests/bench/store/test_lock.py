"""RUN_DIR/.lock (bench/store/lock.py): one run or resume of a folder at a time; a dead holder's lock is taken
over; a refused or failed resume leaves the folder's run.json as it was."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nlpbench.cli import main
from nlpbench.errors import BadInput
from nlpbench.store.lock import RunLock
from nlpbench.store.results import read_records
from tests.conftest import tiny_suite

LAUNCH_TESTS = Path(__file__).parents[1] / "launch"  # unit_test_adapters: the `hold` adapter


def only_dir(out: Path) -> Path:
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def test_a_held_lock_refuses_a_second_taker_naming_the_holder(tmp_path):
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
        with pytest.raises(BadInput, match=rf"in use by another nlpbench run \(pid {os.getpid()},"):
            RunLock(tmp_path).take()
    assert not (tmp_path / ".lock").exists()  # released: the file goes too
    RunLock(tmp_path).take()  # and the folder can be taken again


def test_a_lock_left_by_a_dead_process_is_taken_over(write_suite, tmp_path):
    path = write_suite(tiny_suite())
    out = tmp_path / "runs"
    assert main(["run", str(path), "--out", str(out), "--models", "d1", "--no-progress"]) == 0
    rd = only_dir(out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (rd / ".lock").write_text(f"{dead.pid}\n")  # what a SIGKILLed driver leaves: the kernel dropped its flock
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 0
    assert len(read_records(rd)) == 4 and not (rd / ".lock").exists()


def test_two_simultaneous_resumes_one_is_refused_naming_the_other(write_suite, tmp_path, monkeypatch, capsys):
    hold = tmp_path / "hold"
    hold.touch()
    suite = tiny_suite()
    suite["tasks"][0]["models"][1] = {"adapter": "unit_test_adapters:UnitFaultAdapter", "name": "h",
                                      "params": {"hold": str(hold)}, "train": {"epochs": 1}}  # fmt: skip
    path = write_suite(suite)
    monkeypatch.syspath_prepend(str(LAUNCH_TESTS))
    out = tmp_path / "runs"
    assert main(["run", str(path), "--out", str(out), "--models", "d1", "--no-progress"]) == 0
    rd = only_dir(out)
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(LAUNCH_TESTS), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    first = subprocess.Popen([sys.executable, "-m", "nlpbench.cli", "run", str(path), "--resume", str(rd), "--no-progress"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=_default_sighup)  # fmt: skip
    try:
        wait_for(lambda: lock_pid(rd) == first.pid and '"running"' in (rd / "run.json").read_text(), first)
        running = (rd / "run.json").read_text()
        capsys.readouterr()
        assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2  # the second resume
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"is in use by another nlpbench run (pid {first.pid}," in err[0], err
        assert (rd / "run.json").read_text() == running  # the refused resume wrote nothing
        first.send_signal(signal.SIGHUP)  # a closed terminal: handled as Ctrl-C
        _, first_err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 130, first_err
    meta = json.loads((rd / "run.json").read_text())
    assert meta["status"] == "interrupted" and meta["interrupted_by"] == "SIGHUP" and "--resume" in first_err
    hold.unlink()
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 0
    cells = [json.loads(x)["cell"] for x in (rd / "records.jsonl").read_text().splitlines()]
    assert len(cells) == len(set(cells)) == 4  # each cell trained once


def _default_sighup() -> None:
    """The child gets a terminal's SIGHUP even when the tests run under nohup (which ignores it, and a run
    keeps an ignored SIGHUP ignored, as nohup asks: the child would never end)."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def lock_pid(rd: Path) -> int | None:
    try:
        text = (rd / ".lock").read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def wait_for(cond, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")
