"""nlpbench's own cache folder: where it is, and the parsed copies of local data files it holds.

The folder is `$NLPBENCH_CACHE`, else `$XDG_CACHE_HOME/nlpbench`, else `~/.cache/nlpbench`. Where that can't
be written (a read-only HOME, a full disk) a private temporary folder stands in for this process and is
removed when it exits: a run then re-parses its files, but never fails because of a cache.

A parsed data file (`tables/`) is keyed by the file's content sha256 (nlpbench.data.fingerprint) and the
options it was parsed with, never by its modification time: `datasets`' own cache keys local files by path
and mtime, so a file changed with its mtime kept (`cp -p`, `rsync -t`, `touch -r`) was read from the copy of
its old content. `datasets` parses into a scratch folder here that is removed at once, so nothing lands in
the user's Hugging Face cache. A newer version of a file replaces its older copy: one copy per file.
`nlpbench cache info|clean` (nlpbench.commands.cache) shows and empties the folder.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import datasets

ENV = "NLPBENCH_CACHE"
TABLES = "tables"  # parsed data files, one folder per (content, parse options)
FINGERPRINTS = "fingerprints.json"  # nlpbench.data.fingerprint's shortcut for large files
OURS = (TABLES, FINGERPRINTS)  # what `cache clean` removes: never anything else a user put there
_fallback: Path | None = None


def configured_root() -> Path:
    """The cache folder nlpbench is configured to use (it may not exist, or be unwritable)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nlpbench"


def writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):  # access() can say yes on a read-only mount; a real write can't lie
            pass
        return True
    except OSError:
        return False


def root() -> Path:
    """The folder to cache in: the configured one when it can be written, else this process's temporary one."""
    global _fallback
    path = configured_root()
    if writable(path):
        return path
    if _fallback is None or not _fallback.is_dir():
        _fallback = Path(tempfile.mkdtemp(prefix="nlpbench-cache-"))
        atexit.register(shutil.rmtree, _fallback, True)
    return _fallback


def _key(sha256: str, options: dict) -> str:
    opts = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
    return f"{sha256[:32]}-{opts[:12]}"


def cached_table(path: Path, sha256: str, options: dict, parse: Callable[[str], datasets.Dataset]) -> datasets.Dataset:
    """The table of `path` (whose content hashes to `sha256`) as parsed with `options`: from the cache when this
    content was parsed before, else `parse(scratch_cache_dir)` saved there (and older copies of `path` dropped)."""
    tables = root() / TABLES
    entry = tables / _key(sha256, options)
    if (entry / "source.json").is_file():
        try:
            return datasets.load_from_disk(str(entry))
        except Exception:  # a copy cut short (a killed process, a full disk): parse again
            shutil.rmtree(entry, ignore_errors=True)
    tables.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=tables))
    try:
        ds = parse(str(scratch / "hf"))
        ds.save_to_disk(str(scratch / "table"))
        source = {"path": str(Path(path).resolve()), "sha256": sha256, "options": options}
        (scratch / "table" / "source.json").write_text(json.dumps(source))
        try:
            os.rename(scratch / "table", entry)  # atomic: a reader sees a whole copy or none
        except OSError:  # another process saved the same content first: theirs is the same table
            pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # datasets' own Arrow copy goes with it
    _drop_older_copies(tables, entry.name, source["path"])
    return datasets.load_from_disk(str(entry))


def _drop_older_copies(tables: Path, keep: str, path: str) -> None:
    for other in tables.iterdir():
        if other.name == keep or other.name.startswith("."):
            continue
        try:
            if json.loads((other / "source.json").read_text()).get("path") == path:
                shutil.rmtree(other, ignore_errors=True)
        except (OSError, ValueError):
            continue


def usage(path: Path | None = None) -> dict:
    """{name: (entries, bytes)} of what nlpbench keeps in the cache folder."""
    base = path or configured_root()
    out = {}
    for name in OURS:
        p = base / name
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else []
        entries = 1 if p.is_file() else len([c for c in p.iterdir() if not c.name.startswith(".")]) if p.is_dir() else 0
        out[name] = (entries, sum(f.stat().st_size for f in files))
    return out


def clean(path: Path | None = None) -> int:
    """Removes what nlpbench keeps in the cache folder (nothing else there); the bytes freed."""
    base = path or configured_root()
    freed = sum(size for _, size in usage(base).values())
    for name in OURS:
        p = base / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    return freed
