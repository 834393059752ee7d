"""Paired comparison of a variant with fp32 on the same examples, through the shared statistics (nlpbench.quality.stats).

- accuracy: Δ = acc(variant) − acc(fp32) with a 95% paired-bootstrap interval (the same resampled
  examples for both) and McNemar's exact test on the discordant pairs;
- BLEU: Δ with its paired-bootstrap interval over sacreBLEU's sufficient statistics and the p-value of
  sacreBLEU's own paired bootstrap test (`nlpbench.quality.stats.sacrebleu_paired`).
"""
from __future__ import annotations

import numpy as np

from nlpbench.quality import stats
from nlpbench.tasks import get_task

N_BOOT = 1000


def mcnemar_exact(fp32_correct, variant_correct) -> dict:
    """`nlpbench.quality.stats.mcnemar_exact` in the variants' words: lost = fp32 right & variant wrong, gained = the reverse."""
    test = stats.mcnemar_exact(fp32_correct, variant_correct)
    return {"lost": test["b"], "gained": test["c"], "p": test["p"]}


def paired_accuracy(preds_fp32, preds_variant, refs, seed: int = 0) -> dict:
    refs = np.asarray(refs)
    boot = stats.paired_bootstrap(stats.accuracy, preds_variant, preds_fp32, refs, n_boot=N_BOOT, seed=seed)
    test = mcnemar_exact(np.asarray(preds_fp32) == refs, np.asarray(preds_variant) == refs)
    return {"metric": "accuracy", "delta": boot["delta"], "delta_ci95": boot["ci95"],
            "p": test["p"], "test": "mcnemar-exact", "lost": test["lost"], "gained": test["gained"],
            "agreement": float((np.asarray(preds_fp32) == np.asarray(preds_variant)).mean()), "n": len(refs)}


def paired_bleu(hyps_fp32: list[str], hyps_variant: list[str], refs: list[str], seed: int = 0) -> dict:
    out = stats.sacrebleu_paired("bleu", hyps_variant, hyps_fp32, refs, n_samples=N_BOOT, seed=seed)
    # sacreBLEU's test gives p = 1/(n+1) for a system against itself (its statistic counts only strictly
    # larger differences); identical outputs differ by nothing
    p = 1.0 if hyps_fp32 == hyps_variant else out["p"]
    return {"metric": "bleu", "delta": out["delta"], "delta_ci95": out["ci95"], "p": p,
            "test": "sacrebleu-paired-bootstrap",
            "agreement": float(np.mean([x == y for x, y in zip(hyps_fp32, hyps_variant)])), "n": len(refs)}


def paired(task: str, preds_fp32: list, preds_variant: list, refs: list, seed: int = 0) -> dict:
    if get_task(task).generates:
        return paired_bleu(list(preds_fp32), list(preds_variant), list(refs), seed)
    return paired_accuracy(preds_fp32, preds_variant, refs, seed)
