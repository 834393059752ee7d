"""Data identity of runs shown side by side: `report A B` pairs a cell of A with the same cell of B only
when both were scored on the same data.

Quality records carry `data_sha256` (the hash of the split they were scored on); where both sides of a
cell have one and they differ, the cells are not comparable (a 200-row file against the 872-row
original, or two suites' "lstm"), and the report refuses, one line per cell naming both runs and hashes,
unless `--force`. Records without the field (older runs) are paired as before.
"""
from __future__ import annotations

from nlpbench.errors import BadInput


def _short(sha) -> str:
    return str(sha)[:12]


def data_conflicts(runs: dict[str, list[dict]]) -> list[str]:
    """One line per cell whose `data_sha256` differs from the first run's (label -> records, first is the reference)."""
    labels = list(runs)
    first = {r.get("cell"): r.get("data_sha256") for r in runs[labels[0]] if r.get("kind") == "quality"}
    lines = []
    for label in labels[1:]:
        for r in runs[label]:
            base, sha = first.get(r.get("cell")), r.get("data_sha256")
            if r.get("kind") == "quality" and base and sha and base != sha:
                lines.append(f"report: {r.get('cell')} was scored on different data in {labels[0]} (data_sha256 "
                             f"{_short(base)}) and {label} ({_short(sha)}); --force pairs them anyway")
    return lines


def check_same_data(runs: dict[str, list[dict]], force: bool = False) -> None:
    """BadInput (exit 2) listing every cell scored on different data, unless `force`."""
    conflicts = data_conflicts(runs)
    if conflicts and not force:
        raise BadInput(conflicts)
