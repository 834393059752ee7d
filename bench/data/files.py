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
from pathlib import Path

import datasets

from nlpbench.data import resolve_path
from nlpbench.errors import BadInput

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
    else:
        builder = {"jsonl": "json", "parquet": "parquet"}[fmt]
    if path.stat().st_size == 0:
        raise BadInput(f"{at}: {path} is empty")
    try:
        return datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as e:  # datasets wraps parser errors in several types
        raise BadInput(f"{at}: cannot read {path} as {fmt}: {str(e).splitlines()[0][:200]}") from None


def _read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def _parallel(task, rel: str, data_dir, at: str) -> datasets.Dataset:
    spec = task.dataset
    paths = {role: resolve_path(rel.replace("{lang}", lang), data_dir) for role, lang in (("src", spec.src), ("tgt", spec.tgt))}
    cols = {role: _read_lines(p) for role, p in paths.items()}
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
                    raise BadInput(f"{where}: file not found: {path}")
                out[split] = _tabular(path, _format(path, spec.format), where)
        except BadInput as e:
            problems += e.problems
    if problems:
        raise BadInput(problems)
    train = resolve_path(spec.files["train"], data_dir)
    return out, spec.name or train.parent.name or train.stem
