"""Accuracy: the fraction of predictions equal to their reference label.

Interval: Wilson's score interval (sensible at 300/300, where a bootstrap says [1, 1]); paired test:
McNemar's exact test on the discordant examples, Δ's interval by a paired bootstrap over examples.
"""
import numpy as np

from nlpbench.metrics import Metric, stats


def _module():
    """The evaluate.Metric that computes it, built on first use: importing evaluate takes seconds, and
    every command reads the metric registry."""
    import datasets
    import evaluate

    class Accuracy(evaluate.Metric):
        def _info(self):
            return evaluate.MetricInfo(
                description="Fraction of predictions equal to the reference label.",
                citation="",
                inputs_description="predictions, references: lists of int class ids",
                features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            )

        def _compute(self, predictions, references):
            p, r = np.asarray(predictions), np.asarray(references)
            return {"accuracy": float((p == r).mean()) if len(r) else float("nan")}

    return Accuracy


def _interval(preds, refs, seed: int) -> dict:
    return {"accuracy_ci95": stats.wilson(int(np.sum(np.asarray(preds) == np.asarray(refs))), len(refs))}


def _paired(preds_a, preds_b, refs, seed: int = 0, n_boot: int = 1000) -> dict:
    out = stats.paired_bootstrap(stats.accuracy, preds_a, preds_b, refs, n_boot=n_boot, seed=seed)
    r = np.asarray(refs)
    return {**out, "p": stats.mcnemar_exact(np.asarray(preds_a) == r, np.asarray(preds_b) == r)["p"]}


METRIC = Metric(
    "accuracy", "accuracy", tasks=("classification",), tolerance=0.005, module=_module, score=stats.accuracy,
    interval=_interval, interval_method="Wilson score interval", paired=_paired, test="McNemar exact",
)
