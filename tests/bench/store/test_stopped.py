"""A run that stopped without closing reads as stopped to every command (bench/store/lock.py `as_read`): a disk
so full that run.json can't be rewritten leaves `running` on disk, and report, compare, eval, `--resume` and
`nlpbench.load` all read `interrupted` (no live writer); a run in progress still reads `running`."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import nlpbench
from nlpbench.cli import main
from nlpbench.commands.eval import open_source
from nlpbench.report.write import read_meta
from nlpbench.store import results
from nlpbench.store.lock import NO_WRITER, RunLock, as_read, live_writer
from tests.conftest import tiny_suite


def only_dir(out: Path) -> Path:
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def full_disk_after_the_first_run_json(monkeypatch):
    """From the first record on, nothing more can be written: appends, run.json rewrites, `.tmp` files."""
    real_fsync, real_write = os.fsync, Path.write_text

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("records.jsonl"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    def write_text(self, *a, **k):
        if self.name == "run.tmp" and (self.parent / "run.json").exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, *a, **k)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "write_text", write_text)


def test_a_run_stopped_by_a_full_disk_reads_as_interrupted_everywhere(write_suite, tmp_path, monkeypatch, capsys):
    path = write_suite(tiny_suite())
    with monkeypatch.context() as m:
        full_disk_after_the_first_run_json(m)
        assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"]) == 2
    rd = only_dir(tmp_path / "runs")
    assert json.loads((rd / "run.json").read_text())["status"] == "running"  # what the disk kept
    assert not live_writer(rd)
    assert nlpbench.load(rd).status == "interrupted" and nlpbench.load(rd).meta["interrupted_by"] == NO_WRITER
    assert read_meta(rd)["status"] == "interrupted"  # report and compare read run.json through this
    (rd / "checkpoints").mkdir(exist_ok=True)
    (rd / "checkpoints" / "x.pt").write_bytes(b"")
    assert open_source(rd)["status"] == "interrupted"  # eval
    capsys.readouterr()
    main(["report", str(rd)])
    assert f"interrupted ({NO_WRITER})" in capsys.readouterr().err
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 0  # --resume takes it over
    assert f"--resume {rd}: interrupted ({NO_WRITER})" in capsys.readouterr().err
    assert nlpbench.load(rd).status == "ok"


def test_a_run_in_progress_still_reads_running(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"status": "running"}))
    with RunLock(tmp_path):
        assert live_writer(tmp_path) and as_read({"status": "running"}, tmp_path)["status"] == "running"
        assert nlpbench.load(tmp_path).status == "running"
    assert as_read({"status": "running"}, tmp_path)["status"] == "interrupted"
    assert as_read({"status": "ok"}, tmp_path)["status"] == "ok"


def test_a_readers_probe_does_not_refuse_a_taker(tmp_path, monkeypatch):
    """The probe holds a shared lock for an instant; a taker meeting it tries again instead of refusing."""
    import fcntl

    real, calls = fcntl.flock, []

    def flock(fd, op):
        calls.append(op)
        if op == fcntl.LOCK_EX | fcntl.LOCK_NB and len(calls) == 1:
            raise BlockingIOError(errno.EWOULDBLOCK, "held by a reader's probe")
        return real(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    with RunLock(tmp_path):
        assert len(calls) == 2


def test_a_torn_record_store_still_opens(tmp_path):
    (tmp_path / "records.jsonl").write_text('{"cell": "a", "kind": "quality"}\n{"cell": "b", "ki\n\n')
    results.RecordStore(tmp_path)
    assert (tmp_path / "records.jsonl").read_text() == '{"cell": "a", "kind": "quality"}\n'
