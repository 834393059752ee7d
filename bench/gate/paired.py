"""The paired statistical rule: quality cells measured on a machine whose kernels differ from the baseline's.

Another CPU (or another ATen capability, BLAS, oneDNN, thread count) trains another model from the same seed:
a few examples flip, BLEU moves by a point. Exactness can't hold there, and a fixed tolerance is too loose
for a real drop of a few examples and too tight for kernel wobble. So each gated metric of each quality cell
is tested on the baseline's own examples, paired example by example with the new run's predictions:

- accuracy: McNemar's one-sided mid-p on the discordant pairs (`paired-mcnemar`);
- every other metric (macro-F1, MCC, sacreBLEU's corpus BLEU and chrF of resampled sentence sets):
  a seeded paired bootstrap of the metric's own rescore, one-sided (`paired-bootstrap`);

p-values are Holm-corrected over every test of the comparison. A cell's metric is
- `regression` when the corrected p < alpha AND the drop exceeds the metric's minimum effect;
- `improved` when the gain exceeds the minimum effect and the 90% paired interval of the change lies above 0;
- `same` when that interval excludes any drop beyond the minimum effect (its lower end ≥ −min effect: a
  one-sided 5% test of non-inferiority; a gate asks "worse or not", so an interval that reaches past
  +min effect without a significant gain is still "same");
- `inconclusive` otherwise: the interval straddles −min effect without a significant drop (more examples
  would decide).
The minimum effect defaults to 4× the metric's exact-gate tolerance (accuracy and macro-F1 0.02, BLEU and
chrF 2 points, MCC 0.04); `--min-effect KEY=VALUE` sets it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nlpbench import metrics as metric_entries
from nlpbench.gate.verdict import INCONCLUSIVE, Delta
from nlpbench.metrics import stats

ALPHA = 0.05
LEVEL = 0.90  # the interval "same" is read from: two one-sided 95% bounds
MIN_EFFECT_FACTOR = 4  # default minimum effect: this many times the metric's tolerance (accuracy 0.005 -> 0.02)


@dataclass
class Pending:
    """One metric of one cell to test: the two sides' values and examples (same references, same order)."""
    delta: Delta
    preds_base: list
    preds_new: list
    refs: list


def min_effect(name: str, given: dict[str, float]) -> float:
    if name in given:
        return given[name]
    tol = metric_entries.get(name).tolerance
    return 0.0 if tol is None else MIN_EFFECT_FACTOR * tol  # no tolerance of its own: any significant drop


def resamples(n_tests: int, alpha: float) -> int:
    """Bootstrap resamples enough that Holm can reach `alpha` over `n_tests`: a bootstrap p is at least
    1/(n+1), and the smallest p is multiplied by n_tests (1000 up to 20 tests at 0.05, then more)."""
    return max(1000, math.ceil(2 * n_tests / alpha))


def test_one(p: Pending, n_boot: int = 1000) -> tuple[str, dict]:
    """(rule, {"delta", "ci", "p"}) of one metric: new against base on the same examples."""
    entry = metric_entries.get(p.delta.metric)
    rows_b, rows_n = entry.rows(p.preds_base, p.refs), entry.rows(p.preds_new, p.refs)
    boot = stats.paired_worse(entry.rescore, rows_b, rows_n, entry.higher_is_better, n_boot=n_boot, level=LEVEL)
    if p.delta.metric != "accuracy":
        return "paired-bootstrap", boot
    refs = np.asarray(p.refs)
    m = stats.mcnemar_worse(np.asarray(p.preds_base) == refs, np.asarray(p.preds_new) == refs)
    return "paired-mcnemar", {**boot, "p": m["p"], "b": m["b"], "c": m["c"]}


def judge(pending: list[Pending], given_min_effect: dict[str, float], alpha: float = ALPHA) -> list[Delta]:
    """Tests every pending metric, Holm-corrects the family, and sets each Delta's verdict, rule and reason."""
    n_boot = resamples(len(pending), alpha)
    results = [test_one(p, n_boot) for p in pending]
    adjusted = stats.holm([r["p"] for _, r in results])
    for p, (rule, r), p_holm in zip(pending, results, adjusted):
        d, m = p.delta, min_effect(p.delta.metric, given_min_effect)
        higher = metric_entries.get(d.metric).higher_is_better
        sign = 1 if higher else -1
        gain, lo, hi = sign * r["delta"], *sorted(sign * x for x in r["ci"])
        d.rule, d.p, d.p_holm, d.ci = rule, r["p"], p_holm, [float(x) for x in r["ci"]]
        d.tolerance = f"±{m:.3g} (min effect)"
        if -gain > m and p_holm < alpha:
            d.verdict = "regression"
        elif gain > m and lo > 0:
            d.verdict = "improved"
        elif lo >= -m:  # no drop beyond the minimum effect is left in the interval: not worse, for a gate
            d.verdict = "same"
        else:
            d.verdict = INCONCLUSIVE
        d.why = _why(d, r, m)
    return [p.delta for p in pending]


def _why(d: Delta, r: dict, m: float) -> str:
    """`p=0.41 (Holm 1), Δ -1.52 [90% -3.1, +0.2], min effect 2` (+ the discordant pairs for McNemar)."""
    pairs = f", {r['b']} worse/{r['c']} better" if "b" in r else ""
    lo, hi = d.ci
    return (f"p={stats.format_p(d.p)} (Holm {stats.format_p(d.p_holm)}), Δ {d.change:+.4g} "
            f"[{LEVEL:.0%} {lo:+.3g}, {hi:+.3g}], min effect {m:.3g}{pairs}")


def pending_for(cell: str, deltas: list[Delta], base_ex, new_ex) -> tuple[list[Pending], str | None]:
    """The paired tests of one quality cell's gated deltas; ([], why not) when the examples can't be paired."""
    if base_ex is None or new_ex is None:
        side = "baseline" if base_ex is None else "new run"
        return [], f"{cell}: no per-example predictions on the {side} side: judged by tolerance instead"
    (pb, rb), (pn, rn) = base_ex, new_ex
    if len(pb) != len(pn) or list(map(str, rb)) != list(map(str, rn)):
        return [], f"{cell}: the two sides' examples differ (count or references): judged by tolerance instead"
    out = [Pending(d, pb, pn, rb) for d in deltas
           if d.verdict != "info" and math.isfinite(d.new) and metric_entries.registry().get(d.metric)]
    return out, None
