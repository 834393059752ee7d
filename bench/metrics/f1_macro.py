"""Macro-averaged F1: the unweighted mean of per-class F1 over the classes present.

Interval: a seeded percentile bootstrap over examples, except where every resample scores the same (a
perfect classifier: the bootstrap says [1, 1]), where it comes from a Jeffreys-Dirichlet posterior on the
confusion matrix (`stats.dirichlet_f1_macro_ci`); paired test: a paired bootstrap (interval and p).
"""
import numpy as np

from nlpbench.metrics import Metric, stats


def _module():
    """The evaluate.Metric that computes it, built on first use: importing evaluate takes seconds, and
    every command reads the metric registry."""
    import datasets
    import evaluate

    class F1Macro(evaluate.Metric):
        def _info(self):
            return evaluate.MetricInfo(
                description="Unweighted mean over classes of F1 = 2PR/(P+R).",
                citation="",
                inputs_description="predictions, references: lists of int class ids",
                features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            )

        def _compute(self, predictions, references):
            p, r = np.asarray(predictions), np.asarray(references)
            scores = []
            for c in np.union1d(p, r):
                tp = np.sum((p == c) & (r == c))
                denom = np.sum(p == c) + np.sum(r == c)
                scores.append(2 * tp / denom if denom else 0.0)
            return {"f1_macro": float(np.mean(scores)) if scores else float("nan")}

    return F1Macro


def _interval(preds, refs, seed: int) -> dict:
    return {"f1_macro_ci95": stats.f1_macro_ci(preds, refs, seed=seed)}


def _paired(preds_a, preds_b, refs, seed: int = 0, n_boot: int = 1000) -> dict:
    return stats.paired_bootstrap(stats.f1_macro, preds_a, preds_b, refs, n_boot=n_boot, seed=seed)


METRIC = Metric(
    "f1_macro", "macro-F1", tasks=("classification",), tolerance=0.005, module=_module, score=stats.f1_macro,
    interval=_interval, interval_method="percentile bootstrap over examples; at a boundary (all right or all "
    "wrong) a Jeffreys-Dirichlet posterior on the confusion matrix", paired=_paired,
    test="paired bootstrap",
)
