"""`nlpbench compare BASELINE NEW`: the regression gate (exit 1 on a regression, 2 on bad input).

Cells are matched on their `cell` id, and compared only when they measured the same thing: the same suite
and, for quality cells, the same data (`data_sha256` of the split, `n_eval`) — a mismatch is a regression
naming both sides unless `--force`. Then every number present in both is compared; a gated number (a metric
with a tolerance, p50 latency, samples/s) that the baseline has and the new record lacks is a regression, so
renaming a field can't quietly switch the gate off, and so is a non-finite new value or a cell that was ok
and now is not (error, oom, timeout, skipped, ...). A quality metric may drop by as much as its baseline's
95% interval allows (value minus the interval's lower end: a drop inside the evaluation set's sampling noise
is not evidence), or by a fixed `--tolerance accuracy=0.005`; metrics without an interval use the task
table's. Perf timings get relative tolerances beyond their measured noise, and only on one machine
(fingerprint: device, CPU, threads, torch, CUDA); perf cost (parameters, FLOPs, weight/state/activation
bytes) is gated on any machine (nlpbench.gate.perf). Nothing compared at all is bad input, never a pass.

Which rule judges a quality cell depends on the two sides' kernel fingerprints (nlpbench.gate.fingerprint):
equal -> the tolerances above (`make regress` sets them to 0: exact); different, with per-example predictions
on both sides (a run folder's predictions/, a format /2 baseline's examples) -> the paired statistical rule
(nlpbench.gate.paired: McNemar / paired bootstrap, Holm-corrected, a minimum effect), whose states include
`inconclusive`. `--rule exact|paired` chooses one regardless of the machines.

Either side is a run folder or a baseline file (nlpbench.gate.sides); the verdict goes to the console and,
on request, to `--json` and `--markdown` files (nlpbench.gate.output).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from nlpbench import metrics as metric_entries
from nlpbench.errors import BadInput, unknown_name
from nlpbench.gate import checks, output, paired, perf
from nlpbench.gate import fingerprint as fp
from nlpbench.gate.checks import number
from nlpbench.gate.output import render
from nlpbench.gate.sides import COST_FIELDS, FORMAT, Side, by_cell, load_side, parse_kinds, write_baseline
from nlpbench.gate.verdict import CompareResult, Delta
from nlpbench.report.table_base import lookup
from nlpbench.store.records import PERF_GATED

__all__ = ["FORMAT", "CompareResult", "Delta", "Side", "compare", "load_side", "parse_tolerances", "render",
           "write_baseline"]
_by_cell, _noise = by_cell, perf.noise  # the names older callers and tests use

# Allowed change before a regression is called. Quality: absolute drop; perf: relative change.
# None = compared and shown, never gated (turn on with --tolerance memory=0.2).
# Quality tolerances and directions come from each metric's entry (nlpbench.metrics).
DEFAULT_TOLERANCES: dict[str, float | None] = {
    **{m.name: m.tolerance for m in metric_entries.registry().values()},
    "latency": 0.10, "throughput": 0.10, "memory": 0.10, "ttft": 0.10, "per_token": 0.10,
    # between-run drift of p50 on one machine (`python -m nlpbench.perf.check RUN_A RUN_B` measures it): a perf
    # change is noise unless the bootstrap interval of the ratio of medians clears 1 ± drift
    "drift": 0.03,
    # cost, on any machine (relative rise): the parameter count exactly; FLOPs, weight, state and serialized
    # bytes are arithmetic on the model, so 1% only absorbs a counter's rounding; activations are the CPU
    # allocator's (or CUDA's) own events, identical run to run on one machine (README quotes it), 5% leaves
    # room for another CPU's kernels choosing other scratch tensors
    "params": 0.0, "flops": 0.01, "weights": 0.01, "state": 0.01, "activations": 0.05, "size": 0.01,
}
# Quality-cell numbers other than `metrics`, shown for context only.
QUALITY_INFO = (("n_params", "n_params", False), ("train_s", "train_s", False),
                ("eval_examples_per_s", "eval_examples_per_s", True))


# ---------------------------------------------------------------- comparing


RULES = ("auto", "exact", "paired")


def compare(baseline: Path | Side, new: Path | Side, tolerances: dict[str, float] | None = None,
            force: bool = False, rule: str = "auto", min_effect: dict[str, float] | None = None,
            alpha: float = paired.ALPHA) -> CompareResult:  # fmt: skip
    """Cell-by-cell deltas of `new` against `baseline`, judged against `tolerances` (over DEFAULT_TOLERANCES;
    a key may also name any other quality metric). `force`: cells that measured different things (suite,
    data, n_eval) are compared anyway, the mismatch a warning. `rule`: auto (quality cells by the paired rule
    when the kernel fingerprints differ, else by tolerance), exact (tolerance always), paired (always where
    both sides have examples); `min_effect` and `alpha` tune the paired rule. BadInput when no cell is on
    both sides."""
    if rule not in RULES:
        raise BadInput(f"compare: rule must be one of {', '.join(RULES)}; given {rule!r}")
    base = baseline if isinstance(baseline, Side) else load_side(baseline)
    new = new if isinstance(new, Side) else load_side(new)
    named = {m for side in (base, new) for r in side.records.values() for m in (r.get("metrics") or {})}
    plugins = metric_entries.tolerances(named)  # a plugin metric's own, registered after this module loaded
    tol = _check_tolerances({**DEFAULT_TOLERANCES, **plugins, **(tolerances or {})}, base, new)
    explicit = set(tolerances or {})  # a quality key given here is a fixed tolerance; else the baseline's interval
    result = CompareResult()
    result.machine_differs = checks.machine_note(base.machine, new.machine, result.warnings)
    result.fingerprint_differs = fp.differences(base.fingerprint, new.fingerprint)
    result.missing = [c for c in base.records if c not in new.records]
    result.new = [c for c in new.records if c not in base.records]
    both = [c for c in base.records if c in new.records]
    if not both:
        raise BadInput(f"compare: nothing compared: no cell of {base.label} ({len(base.records)}) is in "
                       f"{new.label} ({len(new.records)}); are these runs of one suite?")
    result.compared = len(both)
    mismatched = _identity(base, new, both, result, force)
    use_paired = rule == "paired" or (rule == "auto" and bool(result.fingerprint_differs))
    pending: list[paired.Pending] = []
    unpaired: list[str] = []  # quality cells the paired rule could not judge, and why
    for cell in both:
        old, cur = base.records[cell], new.records[cell]
        if checks.status(old) != checks.status(cur):
            result.status_changes.append(checks.status_change(cell, old, cur))
            if cur.get("error"):
                result.errors[cell] = (str(cur["error"]).splitlines() or [""])[0]
        elif checks.status(old) == checks.OK and cell not in mismatched:
            _compare_cell(cell, old, cur, tol, explicit, result)
            if use_paired and old.get("kind") == "quality":
                pending += _pending(cell, base, new, result, unpaired)
    if pending:
        paired.judge(pending, min_effect or {}, alpha)
    if use_paired:
        result.warnings[:0] = [_rule_note(result, rule, len(pending))] + _unpaired_note(unpaired)
    return result


def _pending(cell: str, base: Side, new: Side, result: CompareResult, unpaired: list[str]) -> list[paired.Pending]:
    """The paired tests of one quality cell (its tolerance verdicts stand where its examples can't be paired)."""
    deltas = [d for d in result.deltas if d.cell == cell and d.rule]
    todo, why_not = paired.pending_for(cell, deltas, base.examples(cell), new.examples(cell))
    unpaired += [why_not] if why_not else []
    return todo


def _unpaired_note(lines: list[str]) -> list[str]:
    """One warning per reason (`no per-example predictions on the baseline side`), naming its cells."""
    by_reason: dict[str, list[str]] = {}
    for line in lines:
        cell, _, reason = line.partition(": ")
        by_reason.setdefault(reason, []).append(cell)
    return [f"{len(cells)} quality cell(s): {reason} ({', '.join(cells[:3])}{' ...' if len(cells) > 3 else ''})"
            + (" — rewrite the baseline with `make baseline` / `nlpbench baseline` (format /2 keeps examples)"
               if "baseline side" in reason else "")
            for reason, cells in by_reason.items()]


def _rule_note(result: CompareResult, rule: str, n: int) -> str:
    why = ("--rule paired" if rule == "paired" else
           f"the kernels differ ({'; '.join(result.fingerprint_differs[:4])})")
    return (f"{why}: {n} quality number(s) judged by the paired statistical rule (one-sided McNemar mid-p / "
            "paired bootstrap on the baseline's examples, Holm-corrected; a regression needs p < alpha and a "
            "drop beyond the minimum effect)")


def _identity(base: Side, new: Side, cells: list[str], result: CompareResult, force: bool) -> set[str]:
    """Checks the two sides measured the same thing; returns the cells not to compare (none with force)."""
    suites = {c: (checks.suite_name(base.records[c], base.suite), checks.suite_name(new.records[c], new.suite))
              for c in cells}
    lines = checks.suite_mismatches(set(suites.values()))
    bad = {c for c, (a, b) in suites.items() if a and b and a != b}
    no_sha: list[str] = []
    for cell in cells:
        line = checks.identity_mismatch(cell, base.records[cell], new.records[cell], no_sha)
        if line:
            lines.append(line)
            bad.add(cell)
    note = checks.missing_identity_note(no_sha)
    result.warnings += [note] if note else []
    if force:
        result.warnings += [f"{line} (compared anyway: --force)" for line in lines]
        return set()
    result.mismatches += [f"{line} (--force compares them anyway)" for line in lines]
    return bad


def _compare_cell(cell: str, old: dict, cur: dict, tol: dict, explicit: set, result: CompareResult) -> None:
    if old.get("kind") == "quality":
        result.deltas += _quality_deltas(cell, old, cur, tol, result.warnings, explicit)
    elif old.get("kind") == "perf":  # serve cells: load tests on a shared machine are listed, not gated
        result.deltas += perf.perf_deltas(cell, old, cur, tol, result.machine_differs)
        result.deltas += perf.cost_deltas(cell, old, cur, tol)
        note = perf.memory_kind_note(cell, old, cur)
        result.warnings += [note] if note else []
    result.lost += _lost_numbers(cell, old, cur, tol)


def _gated_paths(rec: dict, tol: dict) -> list[tuple[str, str]]:
    """(label, dotted path) of the numbers the gate checks in a record of its kind."""
    if rec.get("kind") == "quality":
        return [(name, f"metrics.{name}") for name, value in (rec.get("metrics") or {}).items()
                if number(value) is not None and tol.get(name) is not None]
    if rec.get("kind") == "perf":
        return list(PERF_GATED) + [(key, key) for key, t in COST_FIELDS if tol.get(t) is not None]
    return []


def _lost_numbers(cell: str, old: dict, new: dict, tol: dict) -> list[str]:
    return [f"{cell} {label}" for label, path in _gated_paths(old, tol)
            if number(lookup(old, path)) is not None and number(lookup(new, path)) is None]


def _check_tolerances(tol: dict, base: Side, new: Side) -> dict:
    metrics = {m for side in (base, new) for r in side.records.values()
               for m, v in (r.get("metrics") or {}).items() if number(v) is not None}
    allowed = set(DEFAULT_TOLERANCES) | metrics
    problems = [f"--tolerance: {unknown_name('key', k, allowed)}" for k in tol if k not in allowed]
    problems += [f"--tolerance: {k} must be a finite number; given {v}" for k, v in tol.items()
                 if v is not None and not math.isfinite(v)]  # a NaN limit would let every change through
    if problems:
        raise BadInput(problems)
    return tol


def quality_limit(name: str, old_metrics: dict, tol: dict, explicit: set) -> tuple[float | None, str]:
    """(allowed drop, how it was set) for one metric: a `--tolerance` given for it; else the baseline's
    95% interval on the side of a drop (its value minus the lower end, for higher-is-better), so a change
    within the sampling noise of the evaluation set is not called a regression; else the task table's."""
    ci, limit = old_metrics.get(f"{name}_ci95"), tol.get(name)
    value = number(old_metrics.get(name))
    if name in explicit or limit is None or value is None or not isinstance(ci, list | tuple) or len(ci) != 2:
        return limit, ""
    lo, hi = number(ci[0]), number(ci[1])
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
        a, b = number(m_old.get(name)), number(m_new.get(name))
        if a is None or b is None:
            continue
        d = Delta(cell, name, a, b)
        limit, how = quality_limit(name, m_old, tol, explicit)
        if limit is not None and not math.isfinite(b):
            d.tolerance, d.verdict = "finite", "regression"  # NaN compares false with every limit: never a pass
            d.rule = "finite"
        elif limit is not None and math.isfinite(a):
            higher = metric_entries.get(name).higher_is_better
            drop = (a - b) if higher else (b - a)
            d.tolerance = f"{'-' if higher else '+'}{limit:.3g}{how}" if limit else "exact"
            d.rule = "tolerance" if limit else "exact"
            d.verdict = "regression" if drop > limit + 1e-12 else "improved" if -drop > limit else "ok"
        out.append(d)
    for name, path, _ in QUALITY_INFO:
        a, b = number(lookup(old, path)), number(lookup(new, path))
        if a is not None and b is not None:
            out.append(Delta(cell, name, a, b))
    return out


def parse_tolerances(items: list[str] | None, flag: str = "--tolerance") -> dict[str, float]:
    """`KEY=VALUE` strings; a sign is ignored (accuracy=-0.01 and accuracy=0.01 both allow a 0.01 drop)."""
    out, problems = {}, []
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            out[key.strip()] = abs(float(value))
        except ValueError:
            problems.append(f"{flag}: expected KEY=NUMBER (e.g. accuracy=0.01, latency=0.2), given '{item}'")
    if problems:
        raise BadInput(problems)
    return out


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
    p.add_argument("--force", action="store_true",
                   help="compare cells that measured different things (suite, data_sha256, n_eval): a warning, "
                        "not a regression")
    p.add_argument("--rule", choices=RULES, default="auto",
                   help="how quality cells are judged: auto (exact/tolerance on the baseline's machine, the paired "
                        "statistical rule where the kernel fingerprints differ), exact, paired")
    p.add_argument("--min-effect", action="append", default=[], metavar="KEY=VALUE",
                   help="the paired rule's smallest drop that counts, e.g. accuracy=0.02 bleu=2 (default 4x the "
                        "metric's tolerance); repeatable")
    p.add_argument("--alpha", type=float, default=paired.ALPHA,
                   help=f"the paired rule's significance level after Holm's correction (default {paired.ALPHA})")
    p.add_argument("--fail-on-inconclusive", action="store_true",
                   help="exit 3 when no cell regressed but some are inconclusive (default: pass, with a loud line)")
    p.add_argument("--json", type=Path, metavar="FILE", dest="json_out",
                   help='write the verdict as JSON: {"ok", "compared", "regressions", "warnings", ...}')
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="write the verdict as Markdown, for a PR comment or $GITHUB_STEP_SUMMARY")
    p.set_defaults(func=main)
    b = subparsers.add_parser("baseline", help="freeze a run folder's records into a baseline JSON file")
    b.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    b.add_argument("path", type=Path, metavar="OUT_JSON")
    b.add_argument("--kinds", default="quality,perf",
                   help="record kinds to keep: quality, perf, cost (perf cells' machine-independent cost, no "
                        "timings); default quality,perf")
    b.set_defaults(func=main_baseline)


def main(args: argparse.Namespace) -> int:
    if getattr(args, "models", None) or args.new is None:
        from nlpbench.report.pairwise import main_models

        return main_models(args.baseline, args.models, args.new)
    tolerances = parse_tolerances(args.tolerance)
    min_effect = parse_tolerances(getattr(args, "min_effect", None), "--min-effect")
    problems = [f"compare: '{p}' does not exist" for p in (args.baseline, args.new) if not Path(p).exists()]
    outs = {"--json": getattr(args, "json_out", None), "--markdown": getattr(args, "markdown", None)}
    problems += output.overwrites_input(outs, (args.baseline, args.new))
    problems += [f"--min-effect: {unknown_name('metric', k, sorted(metric_entries.registry()))}"
                 for k in min_effect if k not in metric_entries.registry()]
    alpha = getattr(args, "alpha", paired.ALPHA)
    if not 0 < alpha < 1:
        problems.append(f"--alpha: a level between 0 and 1 (e.g. 0.05); given {alpha}")
    if problems:
        raise BadInput(problems)
    base, new = load_side(args.baseline), load_side(args.new)
    result = compare(base, new, tolerances, force=getattr(args, "force", False),
                     rule=getattr(args, "rule", "auto"), min_effect=min_effect, alpha=alpha)
    result.allow_missing = getattr(args, "allow_missing", False)
    result.fail_on_inconclusive = getattr(args, "fail_on_inconclusive", False)
    labels = (str(args.baseline), str(args.new))
    print(render(result, *labels, show_all=getattr(args, "all", False)))
    if getattr(args, "json_out", None):
        output.write_json(result, args.json_out, *labels)
    if getattr(args, "markdown", None):
        output.write_markdown(result, args.markdown, *labels)
    return result.exit_code


def main_baseline(args: argparse.Namespace) -> int:
    path = write_baseline(args.run_dir, args.path, parse_kinds(args.kinds))
    print(f"baseline: {path}")
    side = load_side(path)
    bare = [c for c, r in side.records.items() if r.get("kind") == "quality" and side.examples(c) is None]
    if bare:  # their predictions/ files are gone: on another machine these cells fall back to the tolerance rule
        print(f"warning: {len(bare)} quality cell(s) without per-example predictions (no predictions/ file in "
              f"{args.run_dir}): another machine can judge them only by tolerance ({', '.join(bare[:3])})")
    return 0
