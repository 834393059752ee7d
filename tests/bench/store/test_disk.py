"""Failed writes (bench/store/disk.py): a full disk or a read-only folder is one line naming the path, exit 2;
run.json says `failed` and why where it can still be written; no `.tmp` left; records already written intact."""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from nlpbench.cli import main
from nlpbench.store.results import read_records
from tests.conftest import tiny_suite

NOBODY = 65534


def only_dir(out: Path) -> Path:
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def one_error(capsys) -> str:
    """The one `nlpbench: ` line (progress lines may come before it), and no traceback."""
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("nlpbench: ")]
    assert len(lines) == 1 and "Traceback" not in err and err.rstrip().endswith(lines[0]), err
    return lines[0]


def enospc(path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def test_a_full_disk_at_a_record_ends_the_run_and_keeps_the_records_before_it(write_suite, tmp_path, monkeypatch, capsys):
    real_fsync, calls = os.fsync, []

    def fsync(fd):  # the third record's flush to disk fails, as a full disk reports it
        if os.readlink(f"/proc/self/fd/{fd}").endswith("records.jsonl"):
            calls.append(fd)
            if len(calls) == 3:
                raise enospc("")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(tiny_suite())), "--out", str(out), "--no-progress"]) == 2
    rd = only_dir(out)
    assert one_error(capsys) == f"nlpbench: cannot write {rd / 'records.jsonl'}: No space left on device (ENOSPC)"
    lines = (rd / "records.jsonl").read_text().splitlines()
    assert [json.loads(x)["name"] for x in lines] == ["d1", "d1"]  # the failed append was cut back, no torn line
    meta = json.loads((rd / "run.json").read_text())
    assert meta["status"] == "failed" and "ENOSPC" in meta["error"] and meta["ended_at"]
    assert not list(rd.rglob("*.tmp")) and not (rd / ".lock").exists()


def test_a_full_disk_in_a_cell_ends_the_run_instead_of_failing_each_cell(write_suite, tmp_path, monkeypatch, capsys):
    def save(obj, f, *a, **k):  # half a checkpoint written, then the disk is full
        Path(f).write_bytes(b"\0" * 64)
        raise enospc(f)

    monkeypatch.setattr(torch, "save", save)
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(tiny_suite())), "--out", str(out), "--no-progress"]) == 2
    rd = only_dir(out)
    line = one_error(capsys)
    assert line.startswith(f"nlpbench: {rd / 'checkpoints'}") and line.endswith("No space left on device (ENOSPC)")
    assert read_records(rd) == []  # not two `error` cells: the run stopped at the first
    assert json.loads((rd / "run.json").read_text())["status"] == "failed"
    assert not list(rd.rglob("*.tmp"))  # the half-written checkpoint is gone


def test_run_json_that_cannot_be_written_leaves_the_old_one_and_no_tmp(write_suite, tmp_path, monkeypatch, capsys):
    path = write_suite(tiny_suite())
    out = tmp_path / "runs"
    assert main(["run", str(path), "--out", str(out), "--models", "d1", "--no-progress"]) == 0
    rd = only_dir(out)
    before = (rd / "run.json").read_text()
    real = Path.replace

    def replace(self, target):
        if Path(target).name == "run.json":
            raise enospc(self)
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2
    assert one_error(capsys).endswith(f"cannot write {rd / 'run.json'}: No space left on device (ENOSPC)")
    assert (rd / "run.json").read_text() == before and not list(rd.rglob("*.tmp"))


@contextmanager
def unprivileged(*folders: Path):
    """The folders owned by an ordinary user who then runs the block: root ignores file modes, so as root
    the block runs with that user's effective uid (the mode bits then apply, as they do to everyone else)."""
    if os.geteuid() != 0:
        yield
        return
    for folder in folders:
        for p in [folder, *folder.rglob("*")]:
            os.chown(p, NOBODY, NOBODY)
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def open_base():
    """A folder everyone may enter (pytest's own tmp folders are root-only under root)."""
    base = Path(tempfile.mkdtemp(prefix="nlpbench-ro-test-"))
    base.chmod(0o755)
    yield base
    for p in [base, *base.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(base)


def test_a_read_only_output_folder_is_one_line_naming_it(open_base, capsys):
    suite = open_base / "suite.yaml"
    suite.write_text(json.dumps(tiny_suite()))
    ro = open_base / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    with unprivileged(ro):
        code = main(["run", str(suite), "--out", str(ro / "runs"), "--no-progress"])
    assert code == 2
    line = one_error(capsys)
    assert line.startswith(f"nlpbench: cannot write {ro / 'runs'}/tiny-") and line.endswith("Permission denied (EACCES)")
    assert list(ro.iterdir()) == []


def test_resuming_a_read_only_run_folder_changes_nothing(open_base, capsys):
    suite = open_base / "suite.yaml"
    suite.write_text(json.dumps(tiny_suite()))
    assert main(["run", str(suite), "--out", str(open_base / "runs"), "--models", "d1", "--no-progress"]) == 0
    rd = only_dir(open_base / "runs")
    before = {p.name: p.read_bytes() for p in rd.iterdir() if p.is_file()}
    for p in [rd, *rd.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    with unprivileged(rd):
        code = main(["run", str(suite), "--resume", str(rd), "--no-progress"])
    assert code == 2
    assert one_error(capsys) == f"nlpbench: cannot write {rd / '.lock'}: Permission denied (EACCES)"
    assert {p.name: p.read_bytes() for p in rd.iterdir() if p.is_file()} == before
