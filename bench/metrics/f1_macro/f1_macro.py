"""Macro-averaged F1: the unweighted mean of per-class F1 over the classes present."""
import datasets
import evaluate
import numpy as np


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
