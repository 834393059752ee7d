"""Paired comparison of a variant with fp32 on the same examples (a minimal helper
for the variants; the integrator may fold it into a shared statistics module).

- accuracy: Δ = acc(variant) − acc(fp32) with a 95% paired-bootstrap interval
  (the same resampled examples for both), and McNemar's exact test on the
  discordant pairs (two-sided binomial test, p = 1/2);
- BLEU: Δ with a 95% interval from resampling sentences (sacreBLEU's sufficient
  statistics, summed per resample, as its own paired bootstrap does), and the
  p-value of sacreBLEU's paired bootstrap test (`PairedTest`, test_type `bs`).
"""
from __future__ import annotations

import math

import numpy as np

N_BOOT = 1000


def mcnemar_exact(a_correct, b_correct) -> dict:
    """McNemar's exact test: b = fp32 right & variant wrong, c = fp32 wrong & variant right."""
    a, b = np.asarray(a_correct, bool), np.asarray(b_correct, bool)
    lost, gained = int((a & ~b).sum()), int((~a & b).sum())
    n = lost + gained
    k = min(lost, gained)
    p = 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)
    return {"lost": lost, "gained": gained, "p": p}


def paired_accuracy(preds_fp32, preds_variant, refs, seed: int = 0) -> dict:
    refs = np.asarray(refs)
    a, b = np.asarray(preds_fp32) == refs, np.asarray(preds_variant) == refs
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(refs), size=(N_BOOT, len(refs)))
    deltas = b[idx].mean(1) - a[idx].mean(1)
    lo, hi = np.quantile(deltas, [0.025, 0.975])
    test = mcnemar_exact(a, b)
    return {"metric": "accuracy", "delta": float(b.mean() - a.mean()), "delta_ci95": [float(lo), float(hi)],
            "p": test["p"], "test": "mcnemar-exact", "lost": test["lost"], "gained": test["gained"],
            "agreement": float((np.asarray(preds_fp32) == np.asarray(preds_variant)).mean()), "n": len(refs)}


def paired_bleu(hyps_fp32: list[str], hyps_variant: list[str], refs: list[str], seed: int = 0) -> dict:
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    bleu = BLEU()  # 13a, cased: the harness's BLEU settings
    base, var = bleu.corpus_score(hyps_fp32, [refs]).score, bleu.corpus_score(hyps_variant, [refs]).score
    # Δ interval: the same resampled sentences for both systems, scored from sufficient statistics
    stats_a = np.asarray(bleu._extract_corpus_statistics(hyps_fp32, [refs]), dtype=np.float64)
    stats_b = np.asarray(bleu._extract_corpus_statistics(hyps_variant, [refs]), dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(refs), size=(N_BOOT, len(refs)))
    deltas = [bleu._compute_score_from_stats(stats_b[i].sum(0)).score
              - bleu._compute_score_from_stats(stats_a[i].sum(0)).score for i in idx]
    lo, hi = np.quantile(deltas, [0.025, 0.975])
    if hyps_fp32 == hyps_variant:
        # sacreBLEU's test deliberately gives p = 1/(n+1) for a system against itself (its
        # statistic counts only strictly larger differences); identical outputs differ by nothing
        p = 1.0
    else:
        _, scores = PairedTest([("fp32", hyps_fp32), ("variant", hyps_variant)], {"BLEU": BLEU()}, [refs],
                               test_type="bs", n_samples=N_BOOT)()
        p = scores["BLEU"][1].p_value
    return {"metric": "bleu", "delta": var - base, "delta_ci95": [float(lo), float(hi)],
            "p": float(p) if p is not None else None, "test": "sacrebleu-paired-bootstrap",
            "agreement": float(np.mean([x == y for x, y in zip(hyps_fp32, hyps_variant)])), "n": len(refs)}


def paired(task: str, preds_fp32: list, preds_variant: list, refs: list, seed: int = 0) -> dict:
    if task == "classification":
        return paired_accuracy(preds_fp32, preds_variant, refs, seed)
    return paired_bleu(list(preds_fp32), list(preds_variant), list(refs), seed)
