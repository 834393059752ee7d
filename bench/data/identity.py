"""A split's identity: sha256 over its examples, so two records can say whether they measured the same data.

`data_identity` is run.json's `environment.data`: every loaded split's row count and hash."""
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
    return {task.label: {"dataset": td.dataset,
                         "splits": {s: {"n": len(ds), "sha256": data_sha256(ds)} for s, ds in td.splits.items()}}
            for task, td in zip(tasks, data)}
