"""`RUN_DIR/.lock`: one run or resume writes a run folder at a time.

The lock is an `fcntl.flock` on `.lock`, which holds the holder's pid (for the message of the one refused).
The kernel drops a flock when its process ends, however it ends (SIGKILL included), so a lock file left by
a dead driver is stale by construction and the next run takes it over. Released, the file is removed; a
taker checks that the file it locked is still the one at the path (a release may unlink it in between).

`as_read`: what readers (report, compare, eval, `--resume`, `nlpbench.load`) take run.json to say. A run.json
still `running` with no live holder of the lock was stopped without closing (SIGKILL, a power cut, a disk so
full that run.json could not be rewritten): it reads as `interrupted`, never as a run in progress.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from nlpbench.errors import BadInput
from nlpbench.store.disk import WriteFailed, remove_quietly

LOCK = ".lock"
NO_WRITER = "stopped without closing (no live writer)"  # run.json `interrupted_by` as readers see it
TRIES = 5  # a reader's probe (`live_writer`) holds a shared lock for an instant: a taker tries again meanwhile


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        self.take()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def take(self) -> None:
        """Takes the lock, or raises BadInput naming the pid holding it."""
        tries = TRIES
        while self.fd is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by workers (O_CLOEXEC)
            except OSError as e:
                raise WriteFailed(self.path, e) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = holder_pid(fd)
                os.close(fd)
                tries -= 1
                if tries:
                    time.sleep(0.02)
                    continue
                raise BadInput(f"{self.path.parent} is in use by another nlpbench run (pid {holder or 'unknown'}, "
                               f"lock {self.path}); wait for it to end or stop it, then retry") from None  # fmt: skip
            if not same_file(fd, self.path):  # unlinked by a release while we waited: lock the new one
                os.close(fd)
                continue
            self.fd = fd
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError:  # a full disk: the lock holds without the pid (a refused taker says 'unknown')
                pass

    def release(self) -> None:
        if self.fd is None:
            return
        remove_quietly(self.path)  # while still locked: a taker that opened it sees it is gone
        os.close(self.fd)
        self.fd = None


def holder_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def live_writer(run_dir: Path) -> bool:
    """Whether a live process holds the folder's lock (a shared flock probe: never blocks, never creates)."""
    try:
        fd = os.open(Path(run_dir) / LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # can't tell: don't call a run stopped on a guess
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's shared lock
    return False


def as_read(meta: dict, run_dir: Path) -> dict:
    """run.json as readers take it: `running` without a live writer is `interrupted` (`NO_WRITER`); the file
    itself is not touched (a resume rewrites it)."""
    if not isinstance(meta, dict) or meta.get("status") != "running" or live_writer(run_dir):
        return meta
    return {**meta, "status": "interrupted", "interrupted_by": NO_WRITER}


def status_note(meta: dict) -> str | None:
    """A reader's line for a run that did not end (None for `ok` and `failed`, which the tables show)."""
    status = meta.get("status") if isinstance(meta, dict) else None
    if status == "running":
        return "still running (a live nlpbench process holds its lock): its tables are partial"
    if status == "interrupted":
        return f"interrupted ({meta.get('interrupted_by') or 'unknown'}): its tables show the finished cells only"
    return None
