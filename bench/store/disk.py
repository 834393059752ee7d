"""Failed writes: a full disk, a read-only folder, a refused permission end the run in one line naming the path.

The store's own writes (run.json, records.jsonl, run folders) raise `WriteFailed`, a `BadInput`, so the CLI
prints one line and exits 2; `disk_error` turns the same faults raised elsewhere in a run (a checkpoint, a
prediction file) into one. Nothing already recorded is touched: a record append that fails is cut back to
the lines before it, and a temporary file is removed.
"""
from __future__ import annotations

import errno
from pathlib import Path

from nlpbench.errors import BadInput

# The faults of the disk or folder, not of the data: they end the run (a cell would only fail again)
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM})


class WriteFailed(BadInput):
    """A write of the run folder failed: `path` and the system's reason, one line."""

    def __init__(self, path, err: OSError):
        self.path, self.errno = str(path), err.errno
        super().__init__(f"cannot write {path}: {reason(err)}")


def reason(err: OSError) -> str:
    """`No space left on device (ENOSPC)`: the system's words and the errno's name."""
    name = errno.errorcode.get(err.errno or 0, "")
    text = err.strerror or str(err)
    return f"{text} ({name})" if name else text


def is_disk_error(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in DISK_ERRNOS


def disk_error(err: OSError) -> BadInput:
    """A disk fault raised outside the store as one line: the file it names and why."""
    where = err.filename if err.filename is not None else "a file of the run"
    return BadInput(f"{where}: {reason(err)}")


def remove_quietly(path: Path) -> None:
    """Removes a temporary file; on a read-only folder it was never created, so a failure here is not news."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


def sweep_tmp(run_dir: Path) -> list[Path]:
    """Removes the `*.tmp` files of writes that never finished (a full disk, a killed worker) from a run folder
    this process holds the lock of: every writer renames its `.tmp` over the real file once it is complete."""
    gone = [p for p in Path(run_dir).rglob("*.tmp") if p.is_file()]
    for path in gone:
        remove_quietly(path)
    return gone
