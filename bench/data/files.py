"""The `files` source: TSV/CSV/JSON Lines/Parquet through `datasets`, and parallel plain text.

Tabular files load with `datasets.load_dataset(<csv|json|parquet>, data_files=...)`, once per file content
(nlpbench.data.cache: the parsed copy is keyed by the file's sha256, not its modification time). A file
that can't be parsed is one line naming the file, the line and why (encoding, field count, no rows).
TSV is read with quoting off, since sentences hold stray quote characters (as
SST-2's do) and a quote must never swallow the rest of a file. Translation can
instead read two parallel plain-text files (optionally .gz), one sentence a
line; `{lang}` in a path is filled with the task's `src` / `tgt` language.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import logging
import re
import zlib
from pathlib import Path

import datasets

from nlpbench.data import cache, fingerprint, resolve_path
from nlpbench.errors import BadInput, missing
from nlpbench.tasks import get_task

CHUNK = 1 << 20  # bytes decoded at a time by the UTF-8 check
FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def _format(path: Path, given: str) -> str:
    if given != "auto":
        return given
    suffixes = [s for s in path.suffixes if s != ".gz"]
    return FORMATS.get(suffixes[-1] if suffixes else "", "text")


def _tabular(path: Path, fmt: str, at: str, split: str) -> tuple[datasets.Dataset, dict]:
    """The table in `path` and the file's identity; parsed once per content (nlpbench.data.cache), so a file
    changed with its modification time kept is read again."""
    kwargs: dict = {}
    if fmt in ("tsv", "csv"):
        builder = "csv"
        # keep_default_na=False: a sentence such as "null" or "NA" stays text.
        kwargs = dict(keep_default_na=False, na_values=[])
        if fmt == "tsv":
            kwargs.update(sep="\t", quoting=csv.QUOTE_NONE)
    elif fmt in ("jsonl", "parquet"):
        builder = {"jsonl": "json", "parquet": "parquet"}[fmt]
    else:  # plain text has no columns: it is for translation's parallel files, one sentence a line
        raise BadInput(f"{at}: {path} is read as plain text (format '{fmt}'), which holds no columns; name a "
                       f"table format (format: tsv, csv, jsonl or parquet) or use one of the extensions "
                       f"{', '.join(FORMATS)}")  # fmt: skip
    if path.stat().st_size == 0:
        raise BadInput(f"{at}: the {split} file {path} is empty")
    before = fingerprint.stamp(path)
    ident = fingerprint.identity(path)

    def parse(cache_dir: str) -> datasets.Dataset:
        if fmt != "parquet":
            _check_utf8(path, at)
        quiet = logging.getLogger("datasets")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # datasets logs a parser error on a line of its own: ours says it once
        try:
            ds = datasets.load_dataset(builder, data_files=str(path), split="train", cache_dir=cache_dir, **kwargs)
        except Exception as e:  # datasets wraps parser errors in several types: the reason is in the chain
            raise BadInput(f"{at}: cannot read {path} as {fmt}: {_reason(e, path, fmt, split)}") from None
        finally:
            quiet.setLevel(level)
        if fingerprint.stamp(path) != before:  # the copy kept must be of the content that was hashed
            raise BadInput(f"{at}: {path} changed while it was being read; run again once it is written")
        return ds

    return cache.cached_table(path, ident["sha256"], {"builder": builder, **kwargs}, parse), ident


def _check_utf8(path: Path, at: str) -> None:
    """A byte that is not UTF-8 is one line naming the file, line and byte (pandas would say neither)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            while chunk := f.read(CHUNK):
                held = decoder.getstate()[0]  # a character cut by the last chunk's end: decoded with this one
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:  # e.start counts from the held bytes
                    line = lines + (held + chunk)[: e.start].count(b"\n")
                    where = offset - len(held) + e.start
                    raise BadInput(f"{at}: {path}: line {line} is not UTF-8 text ({e.reason} at byte {where})") from None
                offset, lines = offset + len(chunk), lines + chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:  # the file ends inside a character
        raise BadInput(f"{at}: {path}: the last line is not UTF-8 text ({e.reason})") from None
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError; a cut archive ends in EOFError
        raise BadInput(f"{at}: cannot read {path}: {type(e).__name__}: {str(e)[:120]}") from None


def _reason(e: BaseException, path: Path, fmt: str, split: str) -> str:
    """Why `datasets` could not read the file, in words: the innermost cause, which names the line."""
    chain = []
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(c) for c in chain)
    if "corresponds to no data" in text:
        return f"the {split} data is empty (a header but no rows)"
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if fields:
        want, line, saw = fields.groups()
        hint = " (TSV is read with quoting off: a tab inside a text splits it)" if fmt == "tsv" else ""
        return f"line {line} has {saw} fields where the first line has {want}{hint}"
    if fmt == "jsonl":
        bad = _bad_json_line(path)
        if bad:
            return bad
    inner = next((c for c in reversed(chain) if str(c).strip()), chain[0])
    return f"{type(inner).__name__}: {str(inner).strip().splitlines()[0][:200]}"


def _bad_json_line(path: Path) -> str | None:
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    return f"line {n} is not JSON ({e.msg} at column {e.colno})"
                if not isinstance(row, dict):
                    return f"line {n} is a JSON {type(row).__name__}, not an object of columns"
    return None


def _read_lines(path: Path, at: str) -> list[str]:
    """One sentence a line, UTF-8 (optionally gzipped); a bad byte or a damaged archive is one line naming
    the file (and the line)."""
    if not path.is_file():
        raise BadInput(f"{at}: {missing(path)}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BadInput(f"{at}: {path}: line {line} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError; a cut archive ends in EOFError
        raise BadInput(f"{at}: cannot read {path}: {type(e).__name__}: {str(e)[:120]}") from None
    return [line.rstrip("\n") for line in io.StringIO(text, newline=None)]  # universal newlines, as text mode reads


def _parallel(task, rel: str, data_dir, at: str) -> tuple[datasets.Dataset, list[dict]]:
    spec = task.dataset
    paths = {role: resolve_path(rel.replace("{lang}", lang), data_dir) for role, lang in (("src", spec.src), ("tgt", spec.tgt))}
    cols = {role: _read_lines(p, at) for role, p in paths.items()}
    if len(cols["src"]) != len(cols["tgt"]):
        raise BadInput(
            f"{at}: parallel files differ in length: {paths['src']} has {len(cols['src'])} lines, {paths['tgt']} has {len(cols['tgt'])}"
        )
    return datasets.Dataset.from_dict(cols), [fingerprint.identity(p) for p in paths.values()]


def load(task, data_dir, seed: int, at: str):
    """({split: Dataset}, the data set's name, {split: [identity of each file read]})."""
    spec = task.dataset
    out, sources, problems = {}, {}, []
    for split, rel in spec.files.items():
        where = f"{at}.files.{split}"
        try:
            if get_task(task.task).parallel_files and "{lang}" in rel:
                out[split], sources[split] = _parallel(task, rel, data_dir, where)
            else:
                path = resolve_path(rel, data_dir)
                if not path.is_file():
                    raise BadInput(f"{where}: {missing(path)}")
                out[split], ident = _tabular(path, _format(path, spec.format), where, split)
                sources[split] = [ident]
        except BadInput as e:
            problems += e.problems
    if problems:
        raise BadInput(problems)
    train = resolve_path(spec.files["train"], data_dir)
    return out, spec.name or train.parent.name or train.stem, sources
