"""Run folders and the append-only `records.jsonl` store.

Each finished cell is one JSON line, appended, flushed and fsync'ed at once,
so a crash or Ctrl-C never loses a finished cell. A last line that does not
parse (torn by a kill, or saved so by an editor, with or without its newline)
is skipped by readers and cut off before the next append, and readers keep the
last record per cell, so `--resume` runs only what is missing and never
duplicates a line. A bad line anywhere else is named with a way out, and the
file is left as it is.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from nlpbench.env import git_state
from nlpbench.errors import BadInput
from nlpbench.store.disk import WriteFailed, remove_quietly
from nlpbench.store.records import DONE, RecordError, parse, utc_now

# what a damaged records.jsonl message ends with: nlpbench never edits a damaged middle line itself
WAY_OUT = "fix or delete that line, or move the folder aside and start a new run"
RUNS = Path("results") / "runs"  # under the current directory: the user's project, not site-packages
__all__ = ["DONE", "RUNS", "RecordStore", "new_run_dir", "read_records", "utc_now", "write_json", "write_text"]


def new_run_dir(suite: str, out: Path | None = None) -> Path:
    sha, _ = git_state()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    base = Path(out) if out else Path.cwd() / RUNS
    path = base / f"{suite}-{stamp}-{sha}"
    n = 1
    while True:
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:  # two runs in the same second (checked by mkdir itself: no race)
            n += 1
            path = base / f"{suite}-{stamp}-{sha}-{n}"
        except OSError as e:
            raise WriteFailed(path, e) from None


def read_records(run_dir: Path) -> list[dict]:
    """The latest record of each cell, in file order ([] when there is no records.jsonl).

    A last non-blank line that is not JSON (a kill mid-write) is skipped: that cell just didn't finish.
    A bad line anywhere else is bad input, named with a way out, not something to skip silently."""
    path = Path(run_dir) / "records.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()  # bad bytes: a line that is not JSON
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    by_cell: dict[str, dict] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == last:  # the store cuts it before its next append (`torn_tail_start`)
                break
            raise BadInput(f"{path}: line {i + 1} is not JSON (only a torn last line is tolerated); {WAY_OUT}") from None  # fmt: skip
        if not isinstance(rec, dict) or "cell" not in rec:
            raise BadInput(f"{path}: line {i + 1} is not a record (a JSON object with a 'cell'); {WAY_OUT}")
        try:
            parse(rec)  # the schema in nlpbench.store.records; older records load, missing fields default
        except RecordError as e:
            raise BadInput(f"{path}: line {i + 1}: {e}; {WAY_OUT}") from None
        by_cell.pop(rec["cell"], None)  # re-insert: a redone cell takes its new place in file order
        by_cell[rec["cell"]] = rec
    return list(by_cell.values())


def torn_tail_start(path: Path, window: int = 1 << 20) -> int | None:
    """The size to cut the file to when its last non-blank line does not parse (what readers skip as torn),
    whatever it ends with; None when it parses. Reads only the tail (a record line is far shorter than
    `window`)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - window))
        tail = f.read()
    body = tail.rstrip()
    if not body:
        return None
    start = body.rfind(b"\n") + 1  # the last non-blank line
    if start == 0 and len(tail) < size:  # the line began before the window: read further back
        return torn_tail_start(path, window * 4)
    try:
        json.loads(body[start:])
    except ValueError:  # not JSON, or not UTF-8
        return size - len(tail) + start
    return None


class RecordStore:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "records.jsonl"
        self._cut_torn_tail()

    def _cut_torn_tail(self) -> None:
        """Cuts a last line that is not JSON (what readers skip), whatever it ends with, with any blank
        lines after it; the next append then starts a line of its own."""
        if not self.path.exists():
            return
        keep = torn_tail_start(self.path)
        if keep is not None:
            try:
                os.truncate(self.path, keep)
            except OSError as e:
                raise WriteFailed(self.path, e) from None

    def done(self) -> set[str]:
        return {r["cell"] for r in read_records(self.path.parent) if r.get("status") in DONE}

    def append(self, record: dict) -> None:
        """Stores one record (built by `nlpbench.store.records`), flushed and fsync'ed before returning; a failed
        write (full disk, read-only folder) is cut back to the records before it and raises `WriteFailed`."""
        line = json.dumps(record, default=str) + "\n"
        size = self.path.stat().st_size if self.path.exists() else 0
        if size and not self._ends_with_newline():  # a whole last record whose newline never made it
            line = "\n" + line
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            self._cut_back(size)
            raise WriteFailed(self.path, e) from None
        # -v and run.log: each finished cell (the logger by name: nlpbench.context imports this module)
        logging.getLogger("nlpbench").debug("cell %s: %s (%s s)", record.get("cell"), record.get("status"), record.get("wall_s"))

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def _cut_back(self, size: int) -> None:
        """Drops the part of a line a failed append left, so the records before it stay whole."""
        try:
            if self.path.exists() and self.path.stat().st_size > size:
                os.truncate(self.path, size)
        except OSError:
            pass  # a torn last line is still cut off by the next open and skipped by readers


def write_json(path: Path, data: dict) -> None:
    """Writes through a temporary file renamed over `path`: a failed write leaves the old file and no `.tmp`."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    tmp = Path(path).with_suffix(".tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    except OSError as e:
        remove_quietly(tmp)
        raise WriteFailed(path, e) from None
