"""How a run ended, from its records: the exit code's rule and the end-of-run lines on what did not finish.

- A run folder whose latest records hold no `ok` cell measured nothing: `run` exits 1 whether or not any
  model is `required` (a CI job must not pass on a run with no results). Otherwise a cell that is not ok
  fails the run (exit 1) only when its model is `required` (per model, or the suite's `required` default).
- The end-of-run summary counts the cells that are not `ok` by status and gives one line per failed unit
  (a training unit's cells together; any other cell alone): its status and the first line of its reason.
"""
from __future__ import annotations

from collections import Counter

from nlpbench.quality.ids import unit_of as unit_cell

SHOWN = 20  # unit lines printed; the rest are counted (records.jsonl and errors.log hold all of them)


def measured_nothing(records: list[dict]) -> bool:
    """Records exist and none of them is `ok`."""
    return bool(records) and not any(r.get("status", "ok") == "ok" for r in records)


def unit_of(rec: dict) -> str:
    """A quality cell's training unit (`quality/<task>/<model>[/seed<k>]`: its split dropped), else the cell."""
    cell = str(rec.get("cell", ""))
    return unit_cell(cell) if rec.get("kind") == "quality" else cell


def failure_lines(records: list[dict]) -> list[str]:
    """`2 of 6 cells not ok (2 error) in 1 unit:` and one line per unit: `  quality/t/m: error: reason`;
    [] when every cell is ok."""
    bad = [r for r in records if r.get("status", "ok") != "ok"]
    if not bad:
        return []
    units: dict[str, list[dict]] = {}
    for rec in bad:
        units.setdefault(unit_of(rec), []).append(rec)
    counts = ", ".join(f"{n} {status}" for status, n in Counter(str(r.get("status")) for r in bad).most_common())
    lines = [f"{len(bad)} of {len(records)} cells not ok ({counts}) in {len(units)} unit(s):"]
    for unit, recs in list(units.items())[:SHOWN]:
        first = recs[0]
        reason = (str(first.get("error") or "no reason recorded").strip().splitlines() or ["no reason recorded"])[0]
        cells = f" ({len(recs)} cells)" if len(recs) > 1 else ""
        lines.append(f"  {unit}{cells}: {first.get('status')}: {reason[:200]}")
    if len(units) > SHOWN:
        lines.append(f"  ... and {len(units) - SHOWN} more unit(s): see records.jsonl and errors.log")
    return lines
