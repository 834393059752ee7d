"""A split's identity: sha256 over its examples, so two records can say whether they measured the same data."""
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
