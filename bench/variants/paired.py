"""Paired comparison of a variant with fp32 on the same examples, on the task's selection metric, through
that metric's own paired test (its entry in nlpbench.metrics):
- accuracy: Δ = acc(variant) − acc(fp32) with a 95% paired-bootstrap interval (the same resampled
  examples for both) and McNemar's exact test on the discordant pairs;
- BLEU: Δ with its paired-bootstrap interval over sacreBLEU's sufficient statistics and the p-value of
  sacreBLEU's own paired bootstrap test (`nlpbench.metrics.stats.sacrebleu_paired`).
"""
from __future__ import annotations

import numpy as np

from nlpbench import metrics
from nlpbench.metrics import stats
from nlpbench.tasks import get_task


def mcnemar_exact(fp32_correct, variant_correct) -> dict:
    """`nlpbench.metrics.stats.mcnemar_exact` in the variants' words: lost = fp32 right & variant wrong, gained = the reverse."""
    test = stats.mcnemar_exact(fp32_correct, variant_correct)
    return {"lost": test["b"], "gained": test["c"], "p": test["p"]}


def paired_on(metric: str, preds_fp32: list, preds_variant: list, refs: list, seed: int = 0,
              class_ids: bool = False) -> dict:
    """Δ = variant − fp32 on `metric` by its entry's paired test; with class ids, also the examples lost and gained."""
    entry = metrics.get(metric)
    test = entry.paired(list(preds_variant), list(preds_fp32), list(refs), seed=seed)
    out = {"metric": entry.name, "delta": test["delta"], "delta_ci95": test["ci95"], "p": test["p"],
           "test": entry.test}
    if class_ids:
        r = np.asarray(refs)
        counts = mcnemar_exact(np.asarray(preds_fp32) == r, np.asarray(preds_variant) == r)
        out |= {"lost": counts["lost"], "gained": counts["gained"]}
    agreement = float(np.mean([x == y for x, y in zip(preds_fp32, preds_variant)])) if len(refs) else float("nan")
    return {**out, "agreement": agreement, "n": len(refs)}


def paired_accuracy(preds_fp32, preds_variant, refs, seed: int = 0) -> dict:
    return paired_on("accuracy", preds_fp32, preds_variant, refs, seed, class_ids=True)


def paired_bleu(hyps_fp32: list[str], hyps_variant: list[str], refs: list[str], seed: int = 0) -> dict:
    return paired_on("bleu", hyps_fp32, hyps_variant, refs, seed)


def paired(task: str, preds_fp32: list, preds_variant: list, refs: list, seed: int = 0) -> dict:
    kind = get_task(task)
    return paired_on(kind.select_metric, preds_fp32, preds_variant, refs, seed, class_ids=not kind.generates)
