"""Statistics for honest comparisons: intervals for every metric and paired tests between models.

Pure functions over per-example predictions (no I/O):
- `wilson`: score interval of a proportion (accuracy), sensible at 0/n and n/n
  where a percentile bootstrap collapses to a point;
- `bootstrap_ci`: seeded percentile bootstrap over examples of any corpus-level
  metric (macro-F1);
- `sacrebleu_ci`: BLEU/chrF with sacreBLEU's own bootstrap (`n_bootstrap`), so the
  interval is the one its signature (`bs:`, `rs:`) describes;
- `mcnemar_exact`: McNemar's exact test on paired correctness (two-sided binomial
  on the discordant pairs);
- `paired_bootstrap`: Δ of a corpus metric between two systems on the same
  examples, its percentile interval and a two-sided p (null-centred bootstrap);
- `sacrebleu_paired`: sacreBLEU's paired bootstrap / approximate randomisation
  (`sacrebleu.significance.PairedTest`, what `sacrebleu --paired-bs/--paired-ar`
  runs), plus a paired-bootstrap interval of Δ from the same sufficient statistics;
- `seed_bootstrap`: Δ over seeds, seed by seed, by a two-level bootstrap (seeds, then examples);
- `holm`: Holm–Bonferroni adjusted p-values of one family of tests;
- `mcnemar_worse`, `paired_worse`: the regression gate's one-sided paired tests of a new system against a
  baseline on the baseline's own examples (McNemar's mid-p; a paired bootstrap of any metric's rescore).
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Sequence
from statistics import NormalDist

import numpy as np

SACREBLEU_SEED = 12345  # sacreBLEU's own default seed (SACREBLEU_SEED), so CLI and harness agree


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(k: int, n: int, level: float = 0.95) -> list[float]:
    """Wilson score interval of k successes in n trials (nan when n == 0)."""
    if n <= 0:
        return [math.nan, math.nan]
    z, p = _z(level), k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    return [0.0 if k == 0 else lo, 1.0 if k == n else hi]  # exact ends (rounding leaves 0.9999999)


def f1_macro(preds, refs) -> float:
    """Macro-F1 over the classes present in either side (as `bench/metrics/f1_macro`), fast enough to bootstrap."""
    p, r = np.asarray(preds), np.asarray(refs)
    classes = np.union1d(p, r)
    if not len(classes):
        return math.nan
    tp = np.array([np.sum((p == c) & (r == c)) for c in classes], dtype=float)
    denom = np.array([np.sum(p == c) + np.sum(r == c) for c in classes], dtype=float)
    return float(np.mean(np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)))


def accuracy(preds, refs) -> float:
    p, r = np.asarray(preds), np.asarray(refs)
    return float((p == r).mean()) if len(r) else math.nan


def _indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_ci(fn: Callable, preds: Sequence, refs: Sequence, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of `fn(preds, refs)`, resampling examples (seeded)."""
    p, r = np.asarray(preds), np.asarray(refs)
    if not len(r):
        return [math.nan, math.nan]
    scores = [fn(p[i], r[i]) for i in _indices(len(r), n_boot, seed)]
    lo, hi = np.quantile(scores, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


def dirichlet_f1_macro_ci(preds: Sequence, refs: Sequence, n_draws: int = 1000, seed: int = 0,
                          level: float = 0.95) -> list[float]:
    """Macro-F1's interval from a Jeffreys posterior on the confusion matrix: cell probabilities drawn from
    Dirichlet(counts + 1/2) over the K×K cells of the classes present, macro-F1 of each draw, the central
    `level` quantiles widened to hold the observed score. Unlike a bootstrap, not a point at 1.0 when every
    prediction is right (nor at 0 when every one is wrong)."""
    p, r = np.asarray(preds), np.asarray(refs)
    if not len(r):
        return [math.nan, math.nan]
    classes = np.union1d(p, r)
    counts = np.array([[np.sum((r == a) & (p == b)) for b in classes] for a in classes], dtype=float)
    draws = np.random.default_rng(seed).dirichlet(counts.ravel() + 0.5, size=n_draws).reshape(n_draws, *counts.shape)
    diag = np.diagonal(draws, axis1=1, axis2=2)
    f1 = (2 * diag / (draws.sum(axis=2) + draws.sum(axis=1))).mean(axis=1)
    lo, hi = np.quantile(f1, [(1 - level) / 2, (1 + level) / 2])
    observed = f1_macro(p, r)
    return [float(min(lo, observed)), float(max(hi, observed))]


def f1_macro_ci(preds: Sequence, refs: Sequence, seed: int = 0) -> list[float]:
    """Macro-F1's 95% interval: the seeded percentile bootstrap over examples, or, where every resample scores
    the same (all right, all wrong: the bootstrap says [1, 1]), `dirichlet_f1_macro_ci`."""
    lo, hi = bootstrap_ci(f1_macro, preds, refs, seed=seed)
    return dirichlet_f1_macro_ci(preds, refs, seed=seed) if lo == hi else [lo, hi]


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """McNemar's exact test: b = A right & B wrong, c = A wrong & B right; two-sided
    binomial p of min(b, c) under Binomial(b + c, 1/2) (1.0 when there are no discordant pairs)."""
    a, b_ = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b, c = int(np.sum(a & ~b_)), int(np.sum(~a & b_))
    return {"b": b, "c": c, "p": binom_two_sided(min(b, c), b + c)}


def binom_two_sided(k: int, n: int) -> float:
    """Exact two-sided p of k or fewer (and as extreme above) successes in n fair coin flips."""
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(fn: Callable, preds_a: Sequence, preds_b: Sequence, refs: Sequence, n_boot: int = 1000,
                     seed: int = 0, level: float = 0.95) -> dict:
    """Δ = fn(A) − fn(B) on the same examples, its percentile interval, and a two-sided p:
    the share of null-centred resampled deltas at least as far from 0 as the observed one."""
    a, b, r = np.asarray(preds_a), np.asarray(preds_b), np.asarray(refs)
    delta = fn(a, r) - fn(b, r)
    diffs = np.array([fn(a[i], r[i]) - fn(b[i], r[i]) for i in _indices(len(r), n_boot, seed)])
    return _delta_summary(delta, diffs, level)


def _delta_summary(delta: float, diffs: np.ndarray, level: float) -> dict:
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    extreme = np.sum(np.abs(diffs - diffs.mean()) >= abs(delta) - 1e-12)
    return {"delta": float(delta), "ci95": [float(lo), float(hi)], "p": float((extreme + 1) / (len(diffs) + 1))}


# ---------------------------------------------------------------- sacreBLEU


def sacre_metric(name: str):
    import sacrebleu

    return {"bleu": sacrebleu.BLEU, "chrf": sacrebleu.CHRF}[name]()


@contextlib.contextmanager
def _sacre_seed(seed: int):
    """sacreBLEU reads its resampling seed from $SACREBLEU_SEED; set it for the call only."""
    old = os.environ.get("SACREBLEU_SEED")
    os.environ["SACREBLEU_SEED"] = str(seed)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SACREBLEU_SEED", None)
        else:
            os.environ["SACREBLEU_SEED"] = old


def sacrebleu_ci(name: str, hyps: Sequence[str], refs: Sequence[str], n_boot: int = 1000,
                 seed: int = SACREBLEU_SEED) -> dict:
    """`name` (bleu|chrf) with sacreBLEU's bootstrap: {score, ci95: [μ − ci, μ + ci], signature (with bs, rs)}.

    sacreBLEU reports `μ ± ci` with ci half the width of its 95% percentile range; the
    interval here is exactly that, so it matches `sacrebleu --confidence` on the same files."""
    metric = sacre_metric(name)
    with _sacre_seed(seed):
        score = metric.corpus_score(list(hyps), [list(refs)], n_bootstrap=n_boot)
    return {"score": float(score.score), "ci95": [float(score._mean - score._ci), float(score._mean + score._ci)],
            "signature": str(metric.get_signature())}


def sacrebleu_paired(name: str, hyps_a: Sequence[str], hyps_b: Sequence[str], refs: Sequence[str],
                     test: str = "bs", n_samples: int = 0, seed: int = SACREBLEU_SEED, level: float = 0.95) -> dict:
    """Δ = A − B of bleu|chrf: p from sacreBLEU's PairedTest (B is its baseline, as `sacrebleu REF -i B A
    --paired-bs`), Δ's interval from a paired bootstrap over the same per-sentence sufficient statistics."""
    from sacrebleu.significance import PairedTest

    metric = sacre_metric(name)
    same = list(hyps_a) == list(hyps_b)
    with _sacre_seed(seed):
        sigs, scores = PairedTest([("B", list(hyps_b)), ("A", list(hyps_a))], {name: metric}, [list(refs)],
                                  test_type=test, n_samples=n_samples)()
    key = next(k for k in scores if k != "System")
    base, sys_ = scores[key]
    stats_a = np.array(metric._extract_corpus_statistics(list(hyps_a), [list(refs)]), dtype="float32")
    stats_b = np.array(metric._extract_corpus_statistics(list(hyps_b), [list(refs)]), dtype="float32")
    diffs = np.array([metric._compute_score_from_stats(stats_a[i].sum(0)).score
                      - metric._compute_score_from_stats(stats_b[i].sum(0)).score
                      for i in _indices(len(refs), 1000, seed)])
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    # sacreBLEU's test gives p = 1/(n+1) for a system against itself (its statistic counts only strictly
    # larger differences); identical outputs differ by nothing
    return {"delta": float(sys_.score - base.score), "ci95": [float(lo), float(hi)],
            "p": 1.0 if same else float(sys_.p_value),
            "a": float(sys_.score), "b": float(base.score), "signature": str(sigs[key])}


def sacre_score(name: str, hyps: Sequence[str], refs: Sequence[str]) -> float:
    return float(sacre_metric(name).corpus_score(list(hyps), [list(refs)]).score)


def sacre_rows(name: str, hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    """Per-sentence sufficient statistics of bleu|chrf: any subset of rows, summed, gives that subset's score."""
    return np.array(sacre_metric(name)._extract_corpus_statistics(list(hyps), [list(refs)]), dtype="float32")


def sacre_from_rows(name: str, rows: np.ndarray) -> float:
    return float(_scorer(name)._compute_score_from_stats(rows.sum(0)).score)


@functools.cache
def _scorer(name: str):
    """One sacreBLEU object per metric for rescoring summed statistics (a bootstrap calls it thousands of times)."""
    return sacre_metric(name)


def seed_bootstrap(rescore: Callable, rows_a: Sequence[np.ndarray], rows_b: Sequence[np.ndarray], n_boot: int = 1000,
                   seed: int = 0, level: float = 0.95) -> dict:
    """Δ = mean over seeds of metric(A, seed s) − metric(B, seed s), paired seed by seed, with a two-level
    bootstrap: each replicate draws seeds with replacement (a new set of training runs), then examples with
    replacement (a new test set, the same one for every drawn seed and both models), so Δ's interval and
    its two-sided p (null-centred, as `paired_bootstrap`) hold both the training-seed and the test-set
    variance. `rows_*[s]`: one seed's per-example rows (`Metric.rows`), `rescore` a subset's metric."""
    k, n = len(rows_a), len(rows_a[0])
    delta = float(np.mean([rescore(a) - rescore(b) for a, b in zip(rows_a, rows_b)]))
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        seeds, idx = rng.integers(0, k, size=k), rng.integers(0, n, size=n)
        diffs[i] = np.mean([rescore(rows_a[s][idx]) - rescore(rows_b[s][idx]) for s in seeds])
    return _delta_summary(delta, diffs, level)


def mcnemar_worse(correct_base: Sequence[bool], correct_new: Sequence[bool]) -> dict:
    """One-sided McNemar mid-p that the new system is right less often than the baseline on the same examples:
    b = base right & new wrong, c = base wrong & new right, p = P(X > b) + P(X = b)/2 for X ~ Binomial(b + c,
    1/2) (the mid-p: the exact test's conservatism halved at the observed count; 1.0 when nothing is
    discordant)."""
    a, n_ = np.asarray(correct_base, bool), np.asarray(correct_new, bool)
    b, c = int(np.sum(a & ~n_)), int(np.sum(~a & n_))
    n = b + c
    if n == 0:
        return {"b": b, "c": c, "p": 1.0}
    above = sum(math.comb(n, i) for i in range(b + 1, n + 1))
    return {"b": b, "c": c, "p": float((above + math.comb(n, b) / 2) / 2**n)}


def paired_worse(rescore: Callable, rows_base: np.ndarray, rows_new: np.ndarray, higher_is_better: bool = True,
                 n_boot: int = 1000, seed: int = 0, level: float = 0.90) -> dict:
    """Δ = metric(new) − metric(base) over the same examples (per-example `rows`, `rescore` a subset's metric:
    sacreBLEU's corpus BLEU/chrF of the resampled sentences, macro-F1 of the resampled pairs), its `level`
    percentile interval from a seeded paired bootstrap, and the one-sided p that new is worse: the share of
    null-centred resampled deltas at least as far on the worse side as the observed one."""
    delta = rescore(rows_new) - rescore(rows_base)
    diffs = np.array([rescore(rows_new[i]) - rescore(rows_base[i]) for i in _indices(len(rows_base), n_boot, seed)])
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    centred = diffs - diffs.mean()
    worse = np.sum(centred <= delta + 1e-12) if higher_is_better else np.sum(centred >= delta - 1e-12)
    return {"delta": float(delta), "ci": [float(lo), float(hi)], "p": float((worse + 1) / (n_boot + 1))}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values (as statsmodels' `multipletests(method="holm")`, not
    installed here): the i-th smallest p times (m − i), made monotone, capped at 1; nan stays nan."""
    p = np.asarray(pvalues, dtype=float)
    ok = ~np.isnan(p)
    out = np.full(len(p), np.nan)
    q = p[ok]
    order = np.argsort(q, kind="stable")
    scaled = np.minimum(1.0, np.maximum.accumulate(q[order] * (len(q) - np.arange(len(q)))))
    adjusted = np.empty(len(q))
    adjusted[order] = scaled
    out[ok] = adjusted
    return out.tolist()


def verdict(a: str, b: str, delta: float, p: float, alpha: float = 0.05) -> str:
    """'transformer < lstm, p = 0.003' or 'no detectable difference (p = 0.41)'."""
    if p is None or math.isnan(p) or p >= alpha or delta == 0:
        return f"no detectable difference (p = {format_p(p)})"
    shown = format_p(p)
    return f"{a} {'>' if delta > 0 else '<'} {b}, p {shown if shown.startswith('<') else '= ' + shown}"


def format_p(p: float | None) -> str:
    """'0.041', '< 0.001', 'n/a'."""
    if p is None or math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"  # a bootstrap's floor is 1/(n+1): no more digits than that


_p = format_p  # the older name, kept for callers outside this package


def ratio_of_medians(base: Sequence[float], new: Sequence[float], n_boot: int = 2000, seed: int = 0,
                     level: float = 0.99) -> dict:
    """median(new) / median(base) with a percentile bootstrap interval (each side resampled on its own:
    two runs' timing samples are not paired)."""
    a, b = np.asarray(base, float), np.asarray(new, float)
    rng = np.random.default_rng(seed)
    ma = np.median(a[rng.integers(0, len(a), size=(n_boot, len(a)))], axis=1)
    mb = np.median(b[rng.integers(0, len(b), size=(n_boot, len(b)))], axis=1)
    lo, hi = np.quantile(mb / ma, [(1 - level) / 2, (1 + level) / 2])
    return {"ratio": float(np.median(b) / np.median(a)), "ci": [float(lo), float(hi)]}


def compact(samples: Sequence[float], keep: int = 512) -> list[float]:
    """At most `keep` samples for a record: all of them, or evenly spaced quantiles (the median is kept)."""
    x = np.asarray(samples, float)
    if len(x) > keep:
        x = np.quantile(x, np.linspace(0, 1, keep))
    return [round(float(v), 5) for v in x]


def mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample sd (nan for one value) and n of the non-missing values."""
    x = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))], float)
    if not len(x):
        return math.nan, math.nan, 0
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else math.nan, int(len(x))
