"""The gate's verdict as text: the console report, a JSON file for scripts (`--json`), and a Markdown table
for a pull-request comment or `$GITHUB_STEP_SUMMARY` (`--markdown`)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd

from nlpbench.gate.verdict import INCONCLUSIVE, WARNED, CompareResult

MAX_LISTED = 30  # cells printed per list (missing, new); the rest are counted
MAX_ROWS = 60  # above this many gated deltas, perf rows within tolerance are not printed
FLAGGED = ("regression", WARNED, "improved", INCONCLUSIVE)  # the rows the Markdown table shows


def render(result: CompareResult, base_label: str, new_label: str, show_all: bool = False) -> str:
    """The printed report: gated deltas (all with show_all), cell lists, then one verdict line."""
    lines = [f"compare: {new_label} against baseline {base_label} ({result.compared} cells compared)"]
    lines += [f"rules: {rules_line(result)}"] if result.rules else []
    lines += [f"warning: {w}" for w in result.warnings]
    table = result.table()
    if not table.empty:
        shown = table if show_all else table[table["verdict"] != "info"]
        if not show_all and len(shown) > MAX_ROWS:  # a big perf grid: quality rows and what changed
            shown = shown[shown["cell"].str.startswith("quality/") | (shown["verdict"] != "ok")]
        if len(shown):
            lines += ["", _format(shown)]
        if len(table) > len(shown):
            lines.append(f"({len(table) - len(shown)} more deltas, ungated or within tolerance; --all shows them)")
    for title, cells in (("missing in new run", result.missing), ("new cells (not in baseline)", result.new)):
        if cells:
            lines += ["", f"{title} ({len(cells)}):"] + [f"  {c}" for c in cells[:MAX_LISTED]]
            lines += [f"  ... and {len(cells) - MAX_LISTED} more"] if len(cells) > MAX_LISTED else []
    if result.status_changes:
        lines += ["", "status changed:"] + [f"  {c}: {a} -> {b} ({v})" for c, a, b, v in result.status_changes]
    regressions = result.regressions
    n_warn = sum(d.verdict == WARNED for d in result.deltas) + sum(v == WARNED for *_, v in result.status_changes)
    verdict = f"FAIL: {len(regressions)} regression(s)" if regressions else "OK: no regressions"
    lines += ["", f"{verdict}{f', {n_warn} perf warning(s)' if n_warn else ''}"]
    lines += [f"  {r}" for r in regressions]
    line = inconclusive_line(result)
    return "\n".join(lines + ([line] + [f"  {c}" for c in result.inconclusive] if line else []))


def rules_line(result: CompareResult) -> str:
    """`exact: 10 cells; paired-mcnemar+paired-bootstrap: 6 cells`: which rule judged how many quality cells."""
    counts: dict[str, int] = {}
    for rule in result.rules.values():
        counts[rule] = counts.get(rule, 0) + 1
    return "; ".join(f"{rule}: {n} cell(s)" for rule, n in counts.items())


def inconclusive_line(result: CompareResult) -> str | None:
    """The loud line: cells the evidence could not decide, and whether they fail this gate."""
    numbers = [d for d in result.deltas if d.verdict == INCONCLUSIVE]
    if not numbers:
        return None
    n = len({d.cell for d in numbers})
    fate = "FAIL (--fail-on-inconclusive)" if result.fail_on_inconclusive else "passed; --fail-on-inconclusive fails them"
    return (f"INCONCLUSIVE: {n} cell(s) ({len(numbers)} number(s)) neither same nor a regression at the paired "
            f"rule's minimum effect (more examples would decide): {fate}")


def _format(df: pd.DataFrame) -> str:
    df = df.copy()
    for col in ("cell", "metric"):
        df[col] = df[col].str.ljust(df[col].str.len().max())
    for col in ("baseline", "new", "delta"):
        df[col] = df[col].map(lambda v: f"{v:.4g}")
    df["change_%"] = df["change_%"].map(lambda v: "" if pd.isna(v) else f"{v:+.1f}%")
    df["verdict"] = df["verdict"].map(lambda v: v.upper() if v in ("regression", WARNED, INCONCLUSIVE) else v)
    if not df["why"].astype(bool).any():  # the paired rule's reasons; nothing to say under the exact rule
        df = df.drop(columns="why")
    return df.to_string(index=False)


def as_dict(result: CompareResult, base_label: str, new_label: str) -> dict:
    """`{"ok", "compared", "regressions", "warnings"}` (plus the labels and every delta, for tooling)."""
    deltas = [{"cell": d.cell, "metric": d.metric, "baseline": _finite(d.base), "new": _finite(d.new),
               "tolerance": d.tolerance, "verdict": d.verdict, "rule": d.rule}
              | ({"p": d.p, "p_holm": d.p_holm, "ci90": d.ci, "why": d.why} if d.p is not None else {})
              for d in result.deltas]
    return {"ok": result.ok, "compared": result.compared, "regressions": result.regressions,
            "inconclusive": result.inconclusive, "exit_code": result.exit_code,
            "warnings": result.all_warnings, "baseline": base_label, "new": new_label,
            "kernels_differ": result.fingerprint_differs, "rules": result.rules,
            "missing": result.missing, "new_cells": result.new, "deltas": deltas}


def _finite(value: float) -> float | str:
    """JSON has no NaN or infinity: those are written as strings ("nan", "inf"), so the file stays valid."""
    return value if math.isfinite(value) else str(value)


def write_json(result: CompareResult, path: Path, base_label: str, new_label: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(as_dict(result, base_label, new_label), indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def markdown(result: CompareResult, base_label: str, new_label: str) -> str:
    """A PR comment / job summary: the verdict, what regressed, warnings, and the flagged deltas as a table."""
    n = len(result.regressions)
    head = "✅ **nlpbench: no regressions**" if result.ok else f"❌ **nlpbench: {n} regression(s)**"
    lines = [head, "", f"`{new_label}` against baseline `{base_label}`: {result.compared} cells compared.", ""]
    loud = inconclusive_line(result)
    lines += [f"⚠️ **{_md(loud)}**", ""] if loud else []
    lines += [f"Rules: {rules_line(result)}", ""] if result.rules else []
    for title, items in (("Regressions", result.regressions), ("Inconclusive", result.inconclusive),
                         ("Warnings", result.all_warnings)):
        if items:
            lines += [f"**{title}**", ""] + [f"- {_md(i)}" for i in items[:MAX_ROWS]]
            lines += [f"- ... and {len(items) - MAX_ROWS} more"] if len(items) > MAX_ROWS else []
            lines.append("")
    rows = [d for d in result.deltas if d.verdict in FLAGGED]
    if rows:
        lines += ["| cell | metric | baseline | new | change | tolerance | rule | verdict | why |",
                  "| --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |"]
        for d in rows[:MAX_ROWS]:
            change = "" if math.isnan(d.rel) else f"{100 * d.rel:+.1f}%"
            lines.append(f"| {_md(d.cell)} | {d.metric} | {d.base:.4g} | {d.new:.4g} | {change} | {_md(d.tolerance)} "
                         f"| {d.rule} | {'**' + d.verdict + '**' if d.verdict == 'regression' else d.verdict} "
                         f"| {_md(d.why)} |")
        lines += [f"\n({len(rows) - MAX_ROWS} more rows in the --json file)"] if len(rows) > MAX_ROWS else []
    else:
        lines.append(f"All {len(result.deltas)} compared numbers within tolerance.")
    return "\n".join(lines) + "\n"


def overwrites_input(outputs: dict[str, Path | None], inputs: tuple[Path, ...]) -> list[str]:
    """A problem line for each output file that is one of the inputs: the baseline file itself, or a file
    inside an input run folder (records.jsonl, run.json, predictions/...). Checked before anything is read."""
    problems = []
    for flag, out in outputs.items():
        if out is None:
            continue
        target = Path(out).resolve()
        for given in inputs:
            src = Path(given).resolve()
            hit = target == src if not src.is_dir() else (src in target.parents and target.exists())
            if hit:
                problems.append(f"compare: {flag} {out} would overwrite the input '{given}'; write the verdict "
                                "elsewhere")
    return problems


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def write_markdown(result: CompareResult, path: Path, base_label: str, new_label: str) -> None:
    """Writes the file; appends to `$GITHUB_STEP_SUMMARY` (each step of a job adds its own part there)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    with path.open("a" if summary and Path(summary).resolve() == path.resolve() else "w", encoding="utf-8") as f:
        f.write(markdown(result, base_label, new_label))
