"""`RUN_DIR/.lock`: one run or resume writes a run folder at a time.

The lock is an `fcntl.flock` on `.lock`, which holds the holder's pid (for the message of the one refused).
The kernel drops a flock when its process ends, however it ends (SIGKILL included), so a lock file left by
a dead driver is stale by construction and the next run takes it over. Released, the file is removed; a
taker checks that the file it locked is still the one at the path (a release may unlink it in between).
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from nlpbench.errors import BadInput
from nlpbench.store.disk import WriteFailed, remove_quietly

LOCK = ".lock"


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
                raise BadInput(f"{self.path.parent} is in use by another nlpbench run (pid {holder or 'unknown'}, "
                               f"lock {self.path}); wait for it to end or stop it, then retry") from None  # fmt: skip
            if not same_file(fd, self.path):  # unlinked by a release while we waited: lock the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self.fd = fd

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
