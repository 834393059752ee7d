"""Matthews correlation coefficient (multi-class: Gorodkin's R_K), from the confusion matrix.

(c·s − Σ p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)) with c correct, s examples, p_k predicted and t_k true
counts of class k; 0 when either side has a single class (sklearn's convention; sklearn isn't installed).
Interval: a seeded percentile bootstrap over examples; paired test: a paired bootstrap (interval and p).
"""
import numpy as np

from nlpbench.metrics import Metric, stats


def mcc(preds, refs) -> float:
    p, r = np.asarray(preds), np.asarray(refs)
    if not len(r):
        return float("nan")
    classes = np.union1d(p, r)
    pk = np.array([np.sum(p == c) for c in classes], dtype=float)
    tk = np.array([np.sum(r == c) for c in classes], dtype=float)
    s, c = float(len(r)), float(np.sum(p == r))
    denom = np.sqrt((s * s - pk @ pk) * (s * s - tk @ tk))
    return float((c * s - pk @ tk) / denom) if denom > 0 else 0.0


def _module():
    """The evaluate.Metric that computes it, built on first use (importing evaluate takes seconds)."""
    import datasets
    import evaluate

    class Mcc(evaluate.Metric):
        def _info(self):
            return evaluate.MetricInfo(
                description="Matthews correlation coefficient (multi-class R_K) of predicted and true class ids.",
                citation="Gorodkin, 2004. Comparing two K-category assignments by a K-category correlation coefficient.",
                inputs_description="predictions, references: lists of int class ids",
                features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            )

        def _compute(self, predictions, references):
            return {"mcc": mcc(predictions, references)}

    return Mcc


METRIC = Metric(
    "mcc", "MCC", tasks=("classification",), tolerance=0.01, module=_module, score=mcc,
    interval=lambda preds, refs, seed: {"mcc_ci95": stats.bootstrap_ci(mcc, preds, refs, seed=seed)},
    interval_method="percentile bootstrap over examples",
    paired=lambda a, b, refs, seed=0, n_boot=1000: stats.paired_bootstrap(mcc, a, b, refs, n_boot=n_boot, seed=seed),
    test="paired bootstrap",
)
