"""Run folders and the append-only `records.jsonl` store.

Each finished cell is one JSON line, appended, flushed and fsync'ed at once,
so a crash or Ctrl-C never loses a finished cell. A line torn by a kill is
cut off before the next append, and readers keep the last record per cell,
so `--resume` runs only what is missing and never duplicates a line.
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

    A torn last line (a kill mid-write) is skipped: that cell just didn't finish.
    A bad line anywhere else is bad input, not something to skip silently."""
    path = Path(run_dir) / "records.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    by_cell: dict[str, dict] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise BadInput(f"{path}: line {i + 1} is not JSON (only a torn last line is tolerated)") from None
        if not isinstance(rec, dict) or "cell" not in rec:
            raise BadInput(f"{path}: line {i + 1} is not a record (a JSON object with a 'cell')")
        try:
            parse(rec)  # the schema in nlpbench.store.records; older records load, missing fields default
        except RecordError as e:
            raise BadInput(f"{path}: line {i + 1}: {e}") from None
        by_cell.pop(rec["cell"], None)  # re-insert: a redone cell takes its new place in file order
        by_cell[rec["cell"]] = rec
    return list(by_cell.values())


class RecordStore:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "records.jsonl"
        self._cut_torn_tail()

    def _cut_torn_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            try:
                os.truncate(self.path, data.rfind(b"\n") + 1)
            except OSError as e:
                raise WriteFailed(self.path, e) from None

    def done(self) -> set[str]:
        return {r["cell"] for r in read_records(self.path.parent) if r.get("status") in DONE}

    def append(self, record: dict) -> None:
        """Stores one record (built by `nlpbench.store.records`), flushed and fsync'ed before returning; a failed
        write (full disk, read-only folder) is cut back to the records before it and raises `WriteFailed`."""
        line = json.dumps(record, default=str) + "\n"
        size = self.path.stat().st_size if self.path.exists() else 0
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
