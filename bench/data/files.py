"""The `files` source: TSV/CSV/JSON Lines/Parquet through `datasets`, and parallel plain text.

Tabular files load with `datasets.load_dataset(<csv|json|parquet>, data_files=...)`.
TSV is read with quoting off, since sentences hold stray quote characters (as
SST-2's do) and a quote must never swallow the rest of a file. Translation can
instead read two parallel plain-text files (optionally .gz), one sentence a
line; `{lang}` in a path is filled with the task's `src` / `tgt` language.
"""
from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

import datasets

from nlpbench.data import resolve_path
from nlpbench.errors import BadInput, missing

FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def _format(path: Path, given: str) -> str:
    if given != "auto":
        return given
    suffixes = [s for s in path.suffixes if s != ".gz"]
    return FORMATS.get(suffixes[-1] if suffixes else "", "text")


def _tabular(path: Path, fmt: str, at: str) -> datasets.Dataset:
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
        raise BadInput(f"{at}: {path} is empty")
    try:
        return datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as e:  # datasets wraps parser errors in several types
        raise BadInput(f"{at}: cannot read {path} as {fmt}: {str(e).splitlines()[0][:200]}") from None


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


def _parallel(task, rel: str, data_dir, at: str) -> datasets.Dataset:
    spec = task.dataset
    paths = {role: resolve_path(rel.replace("{lang}", lang), data_dir) for role, lang in (("src", spec.src), ("tgt", spec.tgt))}
    cols = {role: _read_lines(p, at) for role, p in paths.items()}
    if len(cols["src"]) != len(cols["tgt"]):
        raise BadInput(
            f"{at}: parallel files differ in length: {paths['src']} has {len(cols['src'])} lines, {paths['tgt']} has {len(cols['tgt'])}"
        )
    return datasets.Dataset.from_dict(cols)


def load(task, data_dir, seed: int, at: str):
    spec = task.dataset
    out, problems = {}, []
    for split, rel in spec.files.items():
        where = f"{at}.files.{split}"
        try:
            if task.task == "translation" and "{lang}" in rel:
                out[split] = _parallel(task, rel, data_dir, where)
            else:
                path = resolve_path(rel, data_dir)
                if not path.is_file():
                    raise BadInput(f"{where}: {missing(path)}")
                out[split] = _tabular(path, _format(path, spec.format), where)
        except BadInput as e:
            problems += e.problems
    if problems:
        raise BadInput(problems)
    train = resolve_path(spec.files["train"], data_dir)
    return out, spec.name or train.parent.name or train.stem
