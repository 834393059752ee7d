"""Per cell: head/base ratio of medians, its 99% bootstrap interval, a verdict; the table, plot and JSON.

Each side's samples pool every leg (fresh opens of the cell on alternating
worker pairs, nlpbench.ab.run), as pyperf pools the values of its processes:
one process's or one build's luck is averaged with the others' instead of
deciding the verdict. (Bootstrapping over the 4 legs instead was tried: with a
few samples per leg its 99% interval spans the extreme legs, and a planted +10%
went uncaught.) The interval resamples whole ABBA blocks
(`blocked_ratio_of_medians`): this 2-core VM runs in slow and fast stretches of
a few hundred milliseconds (a 12 ms step reads 22 ms for a while), which hit
both sides of a block alike; resampling each side on its own counted them as
noise that could fall on one side only.

Four states (issue 31): a cell is a `regression` only when the whole
interval lies beyond the tolerance (default +5% latency), `faster` the mirror
image, `same` only when the whole interval lies inside ± the tolerance, and
`inconclusive` when it straddles a bound: such a cell is undecided, not the
same (a planted +10% read 1.090 [1.032, 1.189], which the old rule called
"same"). nlpbench.ab.run keeps sampling an inconclusive cell until it decides
or its time cap. A cell that failed on head is `error` and fails the run like
a regression (a crash is never a silent pass); one that failed on base only is
`no-base` (nothing to compare it with: listed, not failed).

Exit codes (`exit_code`, shared with `compare`): 0 pass, 1 a regression or
error, 3 only inconclusive cells and `--fail-on-inconclusive` (by default they
pass, with a loud `INCONCLUSIVE:` line); 2 is bad input (nlpbench.errors).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from nlpbench.metrics.stats import ratio_of_medians  # noqa: E402
from nlpbench.report.tables import to_markdown  # noqa: E402

TOLERANCE = 0.05  # head may be this much slower before a cell can fail
MIN_BLOCKS = 8  # fewer ABBA blocks than this: the interval resamples each side's samples on its own
LEVEL = 0.99
FAILING = ("regression", "error")
INCONCLUSIVE = "inconclusive"  # the state string `compare` uses too
EXIT_INCONCLUSIVE = 3  # only inconclusive cells, and the caller asked them to fail
N_BOOT = 2000  # bootstrap resamples of the verdict


def judge(cell: str, base: dict, head: dict, tolerance: float = TOLERANCE, n_boot: int = N_BOOT) -> dict:
    """One row: cell, ratio, ci99, verdict, and each side's p50 (from the two sides' records). `n_boot`: fewer
    resamples for extra sampling's interim checks (a resample costs time in proportion to the samples)."""
    row = {"cell": cell, "ratio": None, "ci99": None, "base_p50_ms": _p50(base), "head_p50_ms": _p50(head)}
    if head.get("status") in ("error", "oom") or (head.get("status") != "ok" and base.get("status") == "ok"):
        return {**row, "verdict": "error", "error": head.get("error")}
    if base.get("status") != "ok":  # head was not timed: nothing to compare it with
        return {**row, "verdict": "no-base", "error": base.get("error")}
    blocks = base.get("_blocks") or []
    if len(blocks) >= MIN_BLOCKS:
        r = blocked_ratio_of_medians(blocks, n_boot=n_boot, level=LEVEL)
    else:
        r = ratio_of_medians(base["_samples_ms"], head["_samples_ms"], n_boot=n_boot, level=LEVEL)
    lo, hi = r["ci"]
    return {**row, "ratio": r["ratio"], "ci99": [lo, hi], "verdict": state(lo, hi, tolerance)}


def state(lo: float, hi: float, tolerance: float) -> str:
    """The verdict of an interval [lo, hi] of head/base against ± `tolerance` (see the module docstring)."""
    if lo > 1 + tolerance:
        return "regression"
    if hi < 1 - tolerance:
        return "faster"
    return "same" if 1 - tolerance <= lo and hi <= 1 + tolerance else INCONCLUSIVE


def blocked_ratio_of_medians(blocks: list, n_boot: int = 2000, seed: int = 0, level: float = LEVEL) -> dict:
    """median(head) / median(base) over every sample, with a bootstrap interval that resamples whole ABBA
    blocks: both sides' samples of a block were taken within a few tens of milliseconds, so a stretch in
    which the machine ran slow falls on both sides of the resample together instead of widening the interval
    as if it could have fallen on one side only (the samples of one side are not independent of the other's)."""
    rng = np.random.default_rng(seed)
    base = [np.asarray(b, float) for b, _ in blocks]
    head = [np.asarray(h, float) for _, h in blocks]
    ratios = np.empty(n_boot)
    for j, pick in enumerate(rng.integers(0, len(blocks), size=(n_boot, len(blocks)))):
        ratios[j] = np.median(np.concatenate([head[i] for i in pick])) / np.median(np.concatenate([base[i] for i in pick]))
    lo, hi = np.quantile(ratios, [(1 - level) / 2, (1 + level) / 2])
    point = np.median(np.concatenate(head)) / np.median(np.concatenate(base))
    return {"ratio": float(point), "ci": [float(lo), float(hi)]}


def _p50(rec: dict) -> float | None:
    return (rec.get("latency_ms") or {}).get("p50")


def ok(rows: list[dict]) -> bool:
    return not any(r["verdict"] in FAILING for r in rows)


def inconclusive(rows: list[dict]) -> list[str]:
    return [r["cell"] for r in rows if r["verdict"] == INCONCLUSIVE]


def exit_code(rows: list[dict], fail_on_inconclusive: bool = False, other_ok: bool = True) -> int:
    """0 pass, 1 a regression or error (here or in `other_ok`: ab --quality), 3 only inconclusive cells when
    `fail_on_inconclusive` (else they pass: the caller prints `loud_line`)."""
    if not (ok(rows) and other_ok):
        return 1
    return EXIT_INCONCLUSIVE if fail_on_inconclusive and inconclusive(rows) else 0


def loud_line(rows: list[dict], tolerance: float, fail_on_inconclusive: bool = False) -> str | None:
    """The line a reader must not miss when cells stayed undecided; None when every cell decided."""
    cells = inconclusive(rows)
    if not cells:
        return None
    then = "they FAIL this run (--fail-on-inconclusive)" if fail_on_inconclusive else (
        "they pass; --fail-on-inconclusive makes them fail")  # fmt: skip
    return (f"INCONCLUSIVE: {len(cells)} cell(s) undecided after extra sampling (the 99% interval of head/base "
            f"straddles 1 ± {tolerance:.0%}): {', '.join(cells)}; {then}")  # fmt: skip


def summary(rows: list[dict]) -> str:
    """The console's last line: how many cells of each verdict, and the A/A-style floor (median |ratio − 1|)."""
    if not rows:
        return "perf: no cells compared"
    counts = pd.Series([r["verdict"] for r in rows]).value_counts().to_dict()
    ratios = [abs(r["ratio"] - 1) for r in rows if r["ratio"] is not None]
    floor = f"; median |ratio - 1| {pd.Series(ratios).median():.2%}" if ratios else ""
    parts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    word = "REGRESSION" if not ok(rows) else "INCONCLUSIVE" if inconclusive(rows) else "OK"
    took = sum(r.get("seconds") or 0.0 for r in rows)
    return f"{word}: {len(rows)} cells ({parts}){floor}; {took:.0f} s of cell time"


def table(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame([{**r, "ci99_lo": (r["ci99"] or [None])[0], "ci99_hi": (r["ci99"] or [None, None])[1]}
                       for r in rows])  # fmt: skip
    cols = ["cell", "base_p50_ms", "head_p50_ms", "ratio", "ci99_lo", "ci99_hi", "verdict", "legs", "seconds",
            "extra_seconds"]  # fmt: skip
    return df.reindex(columns=cols + (["error"] if "error" in df else []))


CELL_KEYS = ("cell", "ratio", "ci99", "verdict", "legs", "seconds", "extra_seconds")


def write_outputs(run_dir: Path, rows: list[dict], tolerance: float, json_path: Path | None = None,
                  quality: tuple[dict, str] | None = None, fail_on_inconclusive: bool = False) -> None:  # fmt: skip
    """ab.csv, ab.md, plots/ab.png in the run folder; `json_path`: {"ok", "inconclusive": [cells], "cells":
    [...]} for CI (`ok`: no regression or error; inconclusive cells are listed, not failed), plus "quality"
    ({"ok", "compared", "regressions", "warnings"}) with `quality` (its JSON and Markdown)."""
    df = table(rows)
    df.to_csv(run_dir / "ab.csv", index=False)
    shown = df.map(_cell_text).astype(str)
    head = f"tolerance +{tolerance:.0%}, {LEVEL:.0%} bootstrap interval of median(head) / median(base)"
    loud = loud_line(rows, tolerance, fail_on_inconclusive)
    md = f"# nlpbench ab\n\n{head}\n\n{to_markdown(shown)}\n\n{summary(rows)}\n" + (f"\n**{loud}**\n" if loud else "")
    plot(rows, tolerance, run_dir / "plots" / "ab.png")
    verdicts = {"ok": ok(rows), "inconclusive": inconclusive(rows),
                "cells": [{k: r.get(k) for k in CELL_KEYS} for r in rows]}  # fmt: skip
    if quality is not None:
        verdicts = {**verdicts, "ok": verdicts["ok"] and quality[0]["ok"], "quality": quality[0]}
        md += f"\n## Quality (head against base)\n\n{quality[1]}\n"
    (run_dir / "ab.md").write_text(md)
    (run_dir / "ab.json").write_text(json.dumps(verdicts, indent=2) + "\n")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(verdicts, indent=2) + "\n")


def _cell_text(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)


COLORS = {"regression": "tab:red", "faster": "tab:green", "same": "tab:blue", INCONCLUSIVE: "tab:orange"}


def plot(rows: list[dict], tolerance: float, path: Path) -> None:
    """Each cell's ratio with its interval; the shaded band is the tolerance around 1."""
    shown = [r for r in rows if r["ratio"] is not None]
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.3 * max(len(shown), 1)))
    ax.axvspan(1 - tolerance, 1 + tolerance, color="0.9")
    ax.axvline(1.0, color="0.5", lw=0.8)
    for i, r in enumerate(shown):
        lo, hi = r["ci99"]
        ax.errorbar(r["ratio"], i, xerr=[[r["ratio"] - lo], [hi - r["ratio"]]], fmt="o", ms=4, capsize=3,
                    color=COLORS[r["verdict"]])  # fmt: skip
    ax.set_yticks(range(len(shown)), [r["cell"].removeprefix("perf/") for r in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"median(head) / median(base), {LEVEL:.0%} interval")
    ax.set_title(f"nlpbench ab: head vs base latency per cell (grey: ±{tolerance:.0%}; red: regression, "
                 "orange: inconclusive)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
