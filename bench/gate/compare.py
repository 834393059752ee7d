"""`nlpbench compare BASELINE NEW`: the regression gate (exit 1 on a regression).

Cells are matched on their `cell` id and every metric present in both is
compared; a gated number (a metric with a tolerance, p50 latency, samples/s)
that the baseline has and the new record lacks is a regression, so renaming a
field can't quietly switch the gate off. A quality metric may drop by as much as its baseline's 95% interval
allows (value minus the interval's lower end: a drop inside the evaluation set's sampling noise is not
evidence), or by a fixed `--tolerance accuracy=0.005`; metrics without an interval use the task table's;
perf metrics relative ones (p50 latency may grow 10%), and a perf change is
only a regression when it also exceeds the cells' own measured noise, the IQR
of the latency samples: a ×1.5 inside a noisy cell's spread is not evidence.
On a different machine (fingerprint: device, CPU, threads, torch, CUDA) perf
regressions are reported as warnings, since the numbers are not comparable.

Either side is a run folder or a baseline file written by `write_baseline`:
    {"format": "nlpbench-baseline/1", "suite": "quick", "created_at": "...",
     "source_run": "quick-2025...", "git_sha": "abc1234",
     "machine": {"device": ..., "cpu": ..., "threads": ..., "torch": ..., "cuda": ...},
     "records": [<records.jsonl lines, one per cell>]}
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nlpbench.errors import BadInput, unknown_name
from nlpbench.report.tables import lookup
from nlpbench.report.write import load_records, machine_info, read_meta
from nlpbench.store.records import PERF_GATED, utc_now
from nlpbench import metrics as metric_entries

FORMAT = "nlpbench-baseline/1"
BASELINE_DROP = ("samples",)  # example predictions: bulk a committed baseline doesn't need
MAX_LISTED = 30  # cells printed per list (missing, new); the rest are counted
MAX_ROWS = 60  # above this many gated deltas, perf rows within tolerance are not printed
# Allowed change before a regression is called. Quality: absolute drop; perf: relative change.
# None = compared and shown, never gated (turn on with --tolerance memory=0.2).
# Quality tolerances and directions come from each metric's entry (nlpbench.metrics).
DEFAULT_TOLERANCES: dict[str, float | None] = {
    **{m.name: m.tolerance for m in metric_entries.registry().values()},
    "latency": 0.10, "throughput": 0.10, "memory": 0.10, "ttft": 0.10, "per_token": 0.10,
    # between-run drift of p50 on one machine (`python -m nlpbench.perf.check RUN_A RUN_B` measures it): a perf
    # change is noise unless the bootstrap interval of the ratio of medians clears 1 ± drift
    "drift": 0.03,
}
MEMORY_FLOOR_MB = 1.0  # a peak-memory change below this is never a regression (allocator granularity, tiny cells)
# Perf numbers compared: (row label, dotted path, tolerance key or None, higher is better).
PERF_METRICS = (
    ("latency_p50_ms", "latency_ms.p50", "latency", False),
    ("latency_p90_ms", "latency_ms.p90", None, False),
    ("samples_per_s", "throughput.samples_per_s", "throughput", True),
    ("tokens_per_s", "throughput.tokens_per_s", None, True),
    ("peak_memory_mb", "peak_memory_mb", "memory", False),
    ("ttft_ms", "time_to_first_token_ms", "ttft", False),
    ("per_token_ms", "per_token_ms", "per_token", False),
)
# Quality-cell numbers other than `metrics`, shown for context only.
QUALITY_INFO = (("n_params", "n_params", False), ("train_s", "train_s", False),
                ("eval_examples_per_s", "eval_examples_per_s", True))


@dataclass
class Side:
    label: str
    machine: dict
    records: dict[str, dict]  # cell id -> record
    suite: str | None = None


@dataclass
class Delta:
    cell: str
    metric: str
    base: float
    new: float
    tolerance: str = ""  # "-0.005", "+10%", "" when not gated
    verdict: str = "info"  # ok | improved | regression | warning (other machine) | noise (within IQR) | info

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

    @property
    def regressions(self) -> list[str]:
        found = [f"{d.cell} {d.metric}" for d in self.deltas if d.verdict == "regression"]
        found += [f"{lost} missing in the new record (renamed, or no longer written?)" for lost in self.lost]
        found += [] if self.allow_missing else [f"{c} missing in the new run" for c in self.missing]
        return found + [f"{c} status {a} -> {b}" for c, a, b, v in self.status_changes if v == "regression"]

    @property
    def ok(self) -> bool:
        """No regression: what the gate passes."""
        return not self.regressions

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"cell": d.cell, "metric": d.metric, "baseline": d.base, "new": d.new,
                              "delta": d.change, "change_%": 100 * d.rel, "tolerance": d.tolerance,
                              "verdict": d.verdict} for d in self.deltas])


# ---------------------------------------------------------------- inputs


def load_side(path: Path) -> Side:
    """A run folder (records.jsonl + run.json) or a baseline JSON file."""
    path = Path(path)
    if path.is_dir():
        meta = read_meta(path)
        records = load_records(path)
        return Side(path.name, machine_info(meta), _by_cell(records), meta.get("suite"))
    if not path.is_file():
        raise BadInput(f"compare: '{path}' is neither a run folder nor a baseline JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"compare: baseline '{path}' is not JSON ({e})")
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise BadInput(f"compare: baseline '{path}' has no 'records' list (format {FORMAT})")
    machine = machine_info({"machine": data.get("machine")} if isinstance(data.get("machine"), dict) else {})
    records = [r for r in data["records"] if isinstance(r, dict)]
    return Side(path.name, machine, _by_cell(records), data.get("suite"))


def _by_cell(records: list[dict]) -> dict[str, dict]:
    return {str(r["cell"]): r for r in records if "cell" in r}


def write_baseline(run_dir: Path, path: Path, kinds: tuple[str, ...] = ("quality", "perf")) -> Path:
    """Freezes a run's records (of `kinds`) and machine fingerprint into a baseline file."""
    run_dir, path = Path(run_dir), Path(path)
    if not run_dir.is_dir():
        raise BadInput(f"baseline: run folder '{run_dir}' does not exist")
    meta = read_meta(run_dir)
    records = [{k: v for k, v in r.items() if k not in BASELINE_DROP}
               for r in (load_records(run_dir)) if r.get("kind") in kinds]
    if not records:
        raise BadInput(f"baseline: run folder '{run_dir}' has no {' or '.join(kinds)} records")
    data = {"format": FORMAT, "suite": meta.get("suite") or records[0].get("suite"),
            "created_at": utc_now(), "source_run": run_dir.name,
            "git_sha": meta.get("git_sha"), "machine": machine_info(meta), "records": records}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


def parse_tolerances(items: list[str] | None) -> dict[str, float]:
    """`KEY=VALUE` strings; a sign is ignored (accuracy=-0.01 and accuracy=0.01 both allow a 0.01 drop)."""
    out, problems = {}, []
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            out[key.strip()] = abs(float(value))
        except ValueError:
            problems.append(f"--tolerance: expected KEY=NUMBER (e.g. accuracy=0.01, latency=0.2), given '{item}'")
    if problems:
        raise BadInput(problems)
    return out


# ---------------------------------------------------------------- comparing


def compare(baseline: Path | Side, new: Path | Side, tolerances: dict[str, float] | None = None) -> CompareResult:
    """Cell-by-cell deltas of `new` against `baseline`, judged against `tolerances`
    (over DEFAULT_TOLERANCES; a key may also name any other quality metric)."""
    base = baseline if isinstance(baseline, Side) else load_side(baseline)
    new = new if isinstance(new, Side) else load_side(new)
    tol = _check_tolerances({**DEFAULT_TOLERANCES, **(tolerances or {})}, base, new)
    explicit = set(tolerances or {})  # a quality key given here is a fixed tolerance; else the baseline's interval
    result = CompareResult()
    result.machine_differs = _machine_note(base.machine, new.machine, result.warnings)
    result.missing = [c for c in base.records if c not in new.records]
    result.new = [c for c in new.records if c not in base.records]
    for cell in (c for c in base.records if c in new.records):
        old, cur = base.records[cell], new.records[cell]
        if old.get("status") != cur.get("status"):
            result.status_changes.append(_status_change(cell, old, cur, result.machine_differs))
        elif old.get("status", "ok") == "ok":
            if old.get("kind") == "quality":
                result.deltas += _quality_deltas(cell, old, cur, tol, result.warnings, explicit)
            elif old.get("kind") == "perf":  # serve cells: load tests on a shared machine are listed, not gated
                result.deltas += _perf_deltas(cell, old, cur, tol, result.machine_differs)
            result.lost += _lost_numbers(cell, old, cur, tol)
    return result


def _gated_paths(rec: dict, tol: dict) -> list[tuple[str, str]]:
    """(label, dotted path) of the numbers the gate checks in a record of its kind."""
    if rec.get("kind") == "quality":
        return [(name, f"metrics.{name}") for name, value in (rec.get("metrics") or {}).items()
                if _number(value) is not None and tol.get(name) is not None]
    if rec.get("kind") == "perf":
        return list(PERF_GATED)
    return []


def _lost_numbers(cell: str, old: dict, new: dict, tol: dict) -> list[str]:
    return [f"{cell} {label}" for label, path in _gated_paths(old, tol)
            if _number(lookup(old, path)) is not None and _number(lookup(new, path)) is None]


def _check_tolerances(tol: dict, base: Side, new: Side) -> dict:
    metrics = {m for side in (base, new) for r in side.records.values()
               for m, v in (r.get("metrics") or {}).items() if _number(v) is not None}
    allowed = set(DEFAULT_TOLERANCES) | metrics
    problems = [f"--tolerance: {unknown_name('key', k, allowed)}" for k in tol if k not in allowed]
    if problems:
        raise BadInput(problems)
    return tol


def _machine_note(base: dict, new: dict, warnings: list[str]) -> bool:
    differ = [f"{k} {base[k]!r} -> {new[k]!r}" for k in base
              if base.get(k) is not None and new.get(k) is not None and str(base[k]) != str(new[k])]
    if differ:
        warnings.append(f"different machine ({'; '.join(differ)}): perf regressions are reported as warnings")
    elif not any(base.values()) or not any(new.values()):
        warnings.append("machine fingerprint unknown on one side: perf numbers are compared as if on one machine")
    return bool(differ)


def _status_change(cell: str, old: dict, new: dict, machine_differs: bool) -> tuple[str, str, str, str]:
    was, now = str(old.get("status")), str(new.get("status"))
    if was == "ok" and now in ("error", "oom"):
        # running out of memory on another machine says nothing about the code
        verdict = "warning" if now == "oom" and machine_differs else "regression"
    elif now == "ok":
        verdict = "improved"
    else:
        verdict = "warning"
    return cell, was, now, verdict


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def quality_limit(name: str, old_metrics: dict, tol: dict, explicit: set) -> tuple[float | None, str]:
    """(allowed drop, how it was set) for one metric: a `--tolerance` given for it; else the baseline's
    95% interval on the side of a drop (its value minus the lower end, for higher-is-better), so a change
    within the sampling noise of the evaluation set is not called a regression; else the task table's."""
    ci, limit = old_metrics.get(f"{name}_ci95"), tol.get(name)
    value = _number(old_metrics.get(name))
    if name in explicit or limit is None or value is None or not isinstance(ci, list | tuple) or len(ci) != 2:
        return limit, ""
    lo, hi = _number(ci[0]), _number(ci[1])
    if lo is None or hi is None:
        return limit, ""
    return (value - lo if metric_entries.get(name).higher_is_better else hi - value), " (95% CI)"


def _quality_deltas(cell: str, old: dict, new: dict, tol: dict, warnings: list[str], explicit: set = frozenset()) -> list[Delta]:
    """Metrics: allowed drops from the baseline's intervals (or `--tolerance`), in each metric's direction."""
    m_old, m_new = old.get("metrics") or {}, new.get("metrics") or {}
    sig_old, sig_new = m_old.get("bleu_signature"), m_new.get("bleu_signature")
    if sig_old and sig_new and sig_old != sig_new:
        warnings.append(f"{cell}: BLEU signature changed ({sig_old} -> {sig_new}): BLEU not comparable")
    out = []
    for name in m_old:
        a, b = _number(m_old.get(name)), _number(m_new.get(name))
        if a is None or b is None:
            continue
        d = Delta(cell, name, a, b)
        limit, how = quality_limit(name, m_old, tol, explicit)
        if limit is not None:
            higher = metric_entries.get(name).higher_is_better
            drop = (a - b) if higher else (b - a)
            d.tolerance = f"{'-' if higher else '+'}{limit:.3g}{how}"
            d.verdict = "regression" if drop > limit + 1e-12 else "improved" if -drop > limit else "ok"
        out.append(d)
    for name, path, _ in QUALITY_INFO:
        a, b = _number(lookup(old, path)), _number(lookup(new, path))
        if a is not None and b is not None:
            out.append(Delta(cell, name, a, b))
    return out


def _noise(rec: dict) -> tuple[float, float]:
    """(IQR in ms, IQR / p50) of a perf cell's latency samples; 0 when not measured."""
    lat = rec.get("latency_ms") or {}
    iqr, p50 = _number(lat.get("iqr")) or 0.0, _number(lat.get("p50")) or 0.0
    return iqr, (iqr / p50 if p50 > 0 else 0.0)


def _generate_noise(rec: dict) -> tuple[float, float]:
    """(TTFT spread, per-token spread) in ms of a generate cell: the 1-token loop's IQR, and both loops'
    IQRs over the n-1 tokens per_token_ms divides by (records without them: the N-token loop's IQR)."""
    iqr, _ = _noise(rec)
    ttft = _number(rec.get("time_to_first_token_iqr_ms"))
    ttft = iqr if ttft is None else ttft
    n = _number(rec.get("max_new_tokens")) or 2.0
    return ttft, (iqr + ttft) / max(1.0, n - 1)


def _beyond_noise(key: str, a: float, b: float, rel: float, old: dict, new: dict) -> bool:
    """Each metric's own noise rule: a change smaller than the cells' measured spread is not evidence."""
    if key == "latency":
        return abs(b - a) > max(_noise(old)[0], _noise(new)[0])
    if key == "throughput":  # throughput is batch / p50: the relative IQR
        return abs(rel) > max(_noise(old)[1], _noise(new)[1])
    if key == "memory":  # exact allocator figures; different kinds (cpu_rss vs cpu_allocated) never compare
        return old.get("memory_kind") == new.get("memory_kind") and abs(b - a) > MEMORY_FLOOR_MB
    if key in ("ttft", "per_token"):
        i = 0 if key == "ttft" else 1
        return abs(b - a) > max(_generate_noise(old)[i], _generate_noise(new)[i])
    return True


def _median_shift(old: dict, new: dict, drift: float) -> bool | None:
    """Whether p50 moved beyond noise: the 99% bootstrap interval of median(new)/median(old) from the
    raw samples lies wholly outside 1 ± drift; None when a side kept no samples (older records)."""
    a, b = old.get("latency_samples_ms"), new.get("latency_samples_ms")
    if not a or not b:
        return None
    from nlpbench.quality.stats import ratio_of_medians

    lo, hi = ratio_of_medians(a, b)["ci"]
    return lo > 1 + drift or hi < 1 - drift


def _perf_deltas(cell: str, old: dict, new: dict, tol: dict, machine_differs: bool) -> list[Delta]:
    """Relative tolerances, each change also checked against its metric's noise: with raw latency samples on
    both sides, p50 latency and throughput by the 99% bootstrap interval of the ratio of medians against
    1 ± drift (`_median_shift`); else `_beyond_noise` (latency against the larger IQR, throughput the larger
    relative IQR, peak memory a 1 MB floor within one memory kind, TTFT and per-token time their loops' IQRs)."""
    shift = _median_shift(old, new, tol.get("drift") or 0.0)
    out = []
    for name, path, key, higher_better in PERF_METRICS:
        a, b = _number(lookup(old, path)), _number(lookup(new, path))
        if a is None or b is None:
            continue
        d = Delta(cell, name, a, b)
        limit = tol.get(key) if key else None
        if limit is not None and a > 0:
            worse = -d.rel if higher_better else d.rel
            if shift is not None and key in ("latency", "throughput"):
                beyond_noise = shift  # raw samples on both sides: the bootstrap interval decides
            else:
                beyond_noise = _beyond_noise(key, a, b, d.rel, old, new)
            d.tolerance = f"{'-' if higher_better else '+'}{limit:.0%}"
            if worse > limit:
                d.verdict = ("warning" if machine_differs else "regression") if beyond_noise else "noise"
            else:
                d.verdict = "improved" if -worse > limit and beyond_noise else "ok"
        out.append(d)
    return out


# ---------------------------------------------------------------- output


def render(result: CompareResult, base_label: str, new_label: str, show_all: bool = False) -> str:
    """The printed report: gated deltas (all with show_all), cell lists, then one verdict line."""
    lines = [f"compare: {new_label} against baseline {base_label}"]
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
    n_warn = sum(d.verdict == "warning" for d in result.deltas) + sum(v == "warning" for *_, v in result.status_changes)
    verdict = f"FAIL: {len(regressions)} regression(s)" if regressions else "OK: no regressions"
    lines += ["", f"{verdict}{f', {n_warn} perf warning(s)' if n_warn else ''}"]
    lines += [f"  {r}" for r in regressions]
    return "\n".join(lines)


def _format(df: pd.DataFrame) -> str:
    df = df.copy()
    for col in ("cell", "metric"):
        df[col] = df[col].str.ljust(df[col].str.len().max())
    for col in ("baseline", "new", "delta"):
        df[col] = df[col].map(lambda v: f"{v:.4g}")
    df["change_%"] = df["change_%"].map(lambda v: "" if pd.isna(v) else f"{v:+.1f}%")
    df["verdict"] = df["verdict"].map(lambda v: v.upper() if v in ("regression", "warning") else v)
    return df.to_string(index=False)


# ---------------------------------------------------------------- command line


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="regression gate: a run against a baseline (exit 1 on a regression)")
    p.add_argument("baseline", type=Path, metavar="BASELINE", help="a run folder or a baseline JSON file")
    p.add_argument("new", type=Path, metavar="NEW", nargs="?", help="a run folder or a baseline JSON file")
    p.add_argument("--models", nargs=2, metavar=("A", "B"),
                   help="instead of a gate: paired tests of model A against model B within the run BASELINE")
    p.add_argument("--tolerance", action="append", default=[], metavar="KEY=VALUE",
                   help="allowed change, e.g. accuracy=0.01 (absolute) latency=0.2 (relative); repeatable")
    p.add_argument("--all", action="store_true", help="print every delta, not only the gated ones")
    p.add_argument("--allow-missing", action="store_true",
                   help="a baseline cell missing from the new run is listed, not a failure")
    p.set_defaults(func=main)
    b = subparsers.add_parser("baseline", help="freeze a run folder's records into a baseline JSON file")
    b.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    b.add_argument("path", type=Path, metavar="OUT_JSON")
    b.add_argument("--kinds", default="quality,perf", help="record kinds to keep (default quality,perf)")
    b.set_defaults(func=main_baseline)


def main(args: argparse.Namespace) -> int:
    if getattr(args, "models", None) or args.new is None:
        from nlpbench.report.pairwise import main_models

        return main_models(args.baseline, args.models, args.new)
    tolerances = parse_tolerances(args.tolerance)
    problems = [f"compare: '{p}' does not exist" for p in (args.baseline, args.new) if not Path(p).exists()]
    if problems:
        raise BadInput(problems)
    base, new = load_side(args.baseline), load_side(args.new)
    result = compare(base, new, tolerances)
    result.allow_missing = getattr(args, "allow_missing", False)
    print(render(result, str(args.baseline), str(args.new), show_all=getattr(args, "all", False)))
    return result.exit_code


def main_baseline(args: argparse.Namespace) -> int:
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    bad = [k for k in kinds if k not in ("quality", "perf")]
    if bad:
        raise BadInput(f"--kinds: allowed quality, perf; given {', '.join(bad)}")
    path = write_baseline(args.run_dir, args.path, kinds)
    print(f"baseline: {path}")
    return 0
