"""A split's identity: sha256 over its examples, so two records can say whether they measured the same data.

`data_identity` is run.json's `environment.data`: every loaded split's row count and hash, and, added later,
the content sha256 of each local file it was read from (`files`: path, bytes, sha256) and how many of its
examples also occur in train (`overlap`: n, of, fraction; nlpbench.data.checks). The examples' hash is
taken from data parsed from the file's current bytes (nlpbench.data.cache), so it changes with them."""
from __future__ import annotations

import hashlib
import json


def data_sha256(rows) -> str:
    """sha256 over a split's examples in order: each example (a mapping) as sorted-key JSON, one per line."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(dict(row), sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\n")
    return h.hexdigest()


def data_identity(tasks, data) -> dict:
    """task label -> its dataset name and, per split, the row count and sha256 of the examples as measured."""
    return {task.label: {"dataset": td.dataset, "splits": {s: _split(td, s, ds) for s, ds in td.splits.items()}}
            for task, td in zip(tasks, data)}


def _split(td, split: str, ds) -> dict:
    out = {"n": len(ds), "sha256": data_sha256(ds)}
    files, overlap = getattr(td, "files", {}).get(split), getattr(td, "overlap", {}).get(split)
    return {**out, **({"files": files} if files else {}), **({"overlap": overlap} if overlap else {})}
