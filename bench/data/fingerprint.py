"""A local data file's identity: the sha256 of its bytes, never its modification time.

Files under `ALWAYS_HASH_BELOW` are hashed every time (a few milliseconds). A larger file's hash is kept in
the cache folder (nlpbench.data.cache) under its path with its size, mtime, ctime and inode, and reused
only while all four are unchanged: ctime can't be set back by `touch -r`/`os.utime` (writing a file moves
it), so a file whose content changed with its mtime kept is hashed again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from nlpbench.data import cache

ALWAYS_HASH_BELOW = 64 << 20
CHUNK = 1 << 20


def stream_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def stamp(path: Path) -> list[int]:
    """What changes when a file is written or replaced (size, mtime, ctime, inode): to notice a write mid-read."""
    return _stamp(os.stat(path))


def file_sha256(path: Path) -> str:
    """The sha256 of `path`'s content (see the module docstring for when a large file's known hash is reused)."""
    path = Path(path).resolve()
    st = path.stat()
    if st.st_size < ALWAYS_HASH_BELOW:
        return stream_sha256(path)
    store = cache.root() / cache.FINGERPRINTS
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    entry = known.get(str(path)) if isinstance(known, dict) else None
    if isinstance(entry, dict) and entry.get("stamp") == _stamp(st):
        return entry["sha256"]
    sha = stream_sha256(path)
    if _stamp(path.stat()) == _stamp(st):  # unchanged while it was read: the pair is worth keeping
        known = known if isinstance(known, dict) else {}
        known[str(path)] = {"stamp": _stamp(st), "sha256": sha}
        try:
            tmp = store.with_name(f".{store.name}.{os.getpid()}")
            tmp.write_text(json.dumps(known))
            os.replace(tmp, store)
        except OSError:  # a shortcut only: without it the file is hashed again next time
            pass
    return sha


def identity(path: Path) -> dict:
    """run.json's record of one data file: where it was, its size and the sha256 of its bytes."""
    path = Path(path)
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": file_sha256(path)}
