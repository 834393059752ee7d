"""The gate's result: deltas per cell and metric, the cells it could not compare, and the verdict
(`ok`, `regressions`, `inconclusive`, `warnings`) that the CLI prints and writes (`--json`, `--markdown`) and
the Python API returns (`nlpbench.compare(...) -> Verdict`).

Each delta names the rule that judged it (`exact`, `tolerance`, `paired-mcnemar`, `paired-bootstrap`) and
its state: regression, ok/same, improved, or inconclusive (the paired rule's evidence straddles the minimum
effect). Exit codes: 0 pass, 1 a regression, 3 only inconclusive cells and `fail_on_inconclusive` (2 is bad
input, raised before a result exists)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

WARNED = "warning"  # a delta's verdict when a regression is not evidence here (perf timings on another machine)
INCONCLUSIVE = "inconclusive"  # the evidence straddles the allowed change: neither same nor a regression
EXIT_INCONCLUSIVE = 3


@dataclass
class Delta:
    cell: str
    metric: str
    base: float
    new: float
    tolerance: str = ""  # "-0.005", "+10%", "" when not gated
    # ok | same | improved | regression | inconclusive | warning (other machine) | noise (within IQR) | info
    verdict: str = "info"
    rule: str = ""  # what judged it: exact | tolerance | paired-mcnemar | paired-bootstrap ("" when ungated)
    p: float | None = None  # the paired rule's one-sided p that new is worse, and Holm's correction of it
    p_holm: float | None = None
    ci: list[float] | None = None  # the paired rule's interval of the change (new - base)
    why: str = ""  # the paired rule's reason, in words

    @property
    def change(self) -> float:
        return self.new - self.base

    @property
    def rel(self) -> float:
        return self.change / abs(self.base) if self.base else math.nan


@dataclass
class CompareResult:
    deltas: list[Delta] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the baseline, not in the new run
    lost: list[str] = field(default_factory=list)  # "cell metric": gated in the baseline, absent in the new record
    new: list[str] = field(default_factory=list)  # in the new run only
    status_changes: list[tuple[str, str, str, str]] = field(default_factory=list)  # cell, old, new, verdict
    warnings: list[str] = field(default_factory=list)
    machine_differs: bool = False
    allow_missing: bool = False  # --allow-missing: a baseline cell absent from the new run is listed, not failed
    # "cell: what differs": the two sides measured different things (suite, data, n_eval); --force makes
    # these warnings (compare() then files them under `warnings` instead)
    mismatches: list[str] = field(default_factory=list)
    compared: int = 0  # cells present on both sides
    errors: dict[str, str] = field(default_factory=dict)  # cell -> the new record's error, for not-ok cells
    fingerprint_differs: list[str] = field(default_factory=list)  # how the kernels differ ([] = same machine)
    fail_on_inconclusive: bool = False  # --fail-on-inconclusive: exit 3 when only inconclusive cells remain

    @property
    def regressions(self) -> list[str]:
        found = [_delta_line(d) for d in self.deltas if d.verdict == "regression"]
        found += [f"{lost} missing in the new record (renamed, or no longer written?)" for lost in self.lost]
        found += [] if self.allow_missing else [f"{c} missing in the new run" for c in self.missing]
        found += self.mismatches
        return found + [self._status_line(c, a, b) for c, a, b, v in self.status_changes if v == "regression"]

    @property
    def inconclusive(self) -> list[str]:
        """`cell metric` of every delta the evidence could not decide (passes unless fail_on_inconclusive)."""
        return [_delta_line(d) for d in self.deltas if d.verdict == INCONCLUSIVE]

    @property
    def rules(self) -> dict[str, str]:
        """cell -> the rule(s) that judged its gated numbers (`exact`, `paired-mcnemar+paired-bootstrap`)."""
        out: dict[str, list[str]] = {}
        for d in self.deltas:
            if d.rule and d.rule not in out.setdefault(d.cell, []):
                out[d.cell].append(d.rule)
        return {c: "+".join(r) for c, r in out.items() if r}

    @property
    def all_warnings(self) -> list[str]:
        """Every warning line: the notes, perf deltas judged on another machine, other status changes."""
        lines = list(self.warnings) + [_delta_line(d) for d in self.deltas if d.verdict == WARNED]
        return lines + [self._status_line(c, a, b) for c, a, b, v in self.status_changes if v == WARNED]

    @property
    def ok(self) -> bool:
        """No regression: what the gate passes."""
        return not self.regressions

    @property
    def exit_code(self) -> int:
        if not self.ok:
            return 1
        return EXIT_INCONCLUSIVE if self.fail_on_inconclusive and self.inconclusive else 0

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"cell": d.cell, "metric": d.metric, "baseline": d.base, "new": d.new,
                              "delta": d.change, "change_%": 100 * d.rel, "tolerance": d.tolerance,
                              "verdict": d.verdict, "rule": d.rule, "why": d.why} for d in self.deltas])

    def _status_line(self, cell: str, was: str, now: str) -> str:
        error = self.errors.get(cell)
        return f"{cell} status {was} -> {now}" + (f" ({error[:120]})" if error and now != "ok" else "")


def _delta_line(d: Delta) -> str:
    """`cell metric`, and the two values when they say what went wrong (a non-finite new value)."""
    if math.isfinite(d.new):
        return f"{d.cell} {d.metric}"
    return f"{d.cell} {d.metric} is {d.new} (baseline {d.base:.4g})"
