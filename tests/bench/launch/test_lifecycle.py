"""A driver's end reaches its workers: SIGTERM/SIGHUP as Ctrl-C, SIGKILL through the parent-death signal."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from nlpbench.cli import main
from nlpbench.launch import lifecycle
from nlpbench.store.results import read_records
from tests.conftest import tiny_suite

HERE = Path(__file__).parent
FAULT = "unit_test_adapters:UnitFaultAdapter"  # imported by module:Class, in the driver and its workers


def held_suite(hold: Path) -> dict:
    """d1 starts first (its 30-minute cap makes it the longest by budget) and ends in seconds; h1 and h2 wait
    in setup while `hold` exists: after d1 ends, two workers are busy until the test lets them go."""
    suite = tiny_suite()
    suite["tasks"][0]["models"] = [
        {"adapter": "dummy", "name": "d1", "train": {"epochs": 1, "max_minutes": 30}},
        *[{"adapter": FAULT, "name": n, "params": {"hold": str(hold)}, "train": {"epochs": 1}} for n in ("h1", "h2")],
    ]  # fmt: skip
    return suite


def start_driver(path: Path, out: Path, tmp: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    cmd = [sys.executable, "-m", "nlpbench.cli", "run", str(path), "--workers", "2", "--out", str(out), "--no-progress"]
    return subprocess.Popen([*cmd, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def busy_workers(proc: subprocess.Popen, out: Path, timeout: float = 300) -> list[psutil.Process]:
    """Waits until d1's two records are in and two workers are running; returns the workers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        dirs = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
        kids = [k for k in psutil.Process(proc.pid).children() if k.status() != psutil.STATUS_ZOMBIE]
        if dirs and len(read_records(dirs[0])) == 2 and len(kids) == 2:
            return kids
        time.sleep(0.2)
    raise AssertionError("the workers never both started")


def ours(tmp: Path) -> list[str]:
    return [p.name for p in tmp.iterdir() if p.name.startswith("nlpbench-")]  # torch keeps its own caches there


def gone(procs: list[psutil.Process], timeout: float = 15) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        alive = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def held_run(write_suite, tmp_path):
    hold, out, tmp = tmp_path / "hold", tmp_path / "runs", tmp_path / "tmp"
    hold.touch()
    tmp.mkdir()
    path = write_suite(held_suite(hold))
    proc = start_driver(path, out, tmp)
    try:
        yield path, proc, busy_workers(proc, out), out, tmp, hold
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_sigterm_stops_every_worker_keeps_finished_units_and_says_how_to_resume(held_run):
    path, proc, workers, out, tmp, _ = held_run
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert gone(workers, timeout=1)  # stopped by the driver before it exited
    (rd,) = out.iterdir()
    meta = json.loads((rd / "run.json").read_text())
    assert meta["status"] == "interrupted" and meta["interrupted_by"] == "SIGTERM"
    assert f"--resume {rd}" in err and "interrupted (SIGTERM)" in err
    assert [r["name"] for r in read_records(rd)] == ["d1", "d1"]  # the finished unit is kept
    assert ours(tmp) == [] and not list(rd.rglob("*.tmp"))  # temporary folders and files removed
    assert not (rd / ".lock").exists()


def test_workers_die_with_a_sigkilled_driver_and_a_resume_takes_the_folder_over(held_run, monkeypatch):
    path, proc, workers, out, tmp, hold = held_run
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert gone(workers)  # the parent-death signal: nobody trains into the folder any more
    (rd,) = out.iterdir()
    assert json.loads((rd / "run.json").read_text())["status"] == "running"  # SIGKILL can't be handled
    assert (rd / ".lock").read_text().strip() == str(proc.pid)  # a stale lock: its pid is dead
    assert [n.startswith(f"nlpbench-pool-{proc.pid}-") for n in ours(tmp)] == [True]
    hold.unlink()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.syspath_prepend(str(HERE))
    assert main(["run", str(path), "--resume", str(rd), "--workers", "2", "--no-progress"]) == 0
    lines = [json.loads(x)["cell"] for x in (rd / "records.jsonl").read_text().splitlines()]
    assert len(lines) == len(set(lines)) == 6
    assert ours(tmp) == []  # the dead driver's temporary folder went with it
    assert json.loads((rd / "run.json").read_text())["status"] == "ok"


def test_sigterm_and_sighup_raise_interrupted_and_an_ignored_one_stays_ignored():
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with lifecycle.interrupt_on_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            with pytest.raises(lifecycle.Interrupted) as caught:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
            assert lifecycle.interrupted_by(caught.value) == "SIGTERM"
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN  # cleanup isn't cut short by a second one
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)


def test_a_child_started_with_die_with_parent_dies_with_its_sigkilled_parent():
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time; from nlpbench.launch.lifecycle import die_with_parent; "
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], preexec_fn=die_with_parent); "
        "print(c.pid, flush=True); time.sleep(120)")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    child = psutil.Process(int(parent.stdout.readline()))
    parent.kill()
    parent.wait()
    assert gone([child])
