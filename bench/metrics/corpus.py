"""A sacreBLEU corpus metric (BLEU, chrF) as one entry, so each metric's file says only what differs.

What the two share: an `evaluate.Metric` over detokenised strings (one reference per prediction) that
returns the score and sacreBLEU's signature (`<name>`, `<name>_signature`), sacreBLEU's own bootstrap
interval with its signature (`<name>_ci95`, `<name>_ci95_signature`), its paired bootstrap test, and
rescoring from per-sentence sufficient statistics, all from `nlpbench.metrics.stats`. Translation
only, gated at 0.5 points, shown to one decimal.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from nlpbench.metrics import Metric, stats


def evaluate_module(cls_name: str, name: str, scorer: Callable, description: str, citation: str,
                    options: str) -> Callable[[], type]:
    """`Metric.module`: () -> the evaluate.Metric class named `cls_name` (evaluate names the module after the
    class: `Bleu` -> bleu). `scorer(**options)` builds the sacreBLEU metric; `options` describes them."""

    def module() -> type:
        # built on first use: importing evaluate takes seconds, and every command reads the metric registry
        import datasets
        import evaluate

        def _info(self):
            return evaluate.MetricInfo(
                description=description, citation=citation,
                inputs_description="predictions, references: lists of str (detokenised), one reference per "
                f"prediction; optional {options}",
                features=datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
                ),
            )

        def _compute(self, predictions, references, **kwargs):
            metric = scorer(**kwargs)
            score = metric.corpus_score(list(predictions), [list(references)])
            return {name: float(score.score), f"{name}_signature": str(metric.get_signature())}

        return type(cls_name, (evaluate.Metric,), {"_info": _info, "_compute": _compute})

    return module


def _interval(name: str, hyps, refs, seed: int) -> dict:
    """sacreBLEU's own bootstrap (its fixed seed, so `seed` is unused): the interval its signature describes."""
    ci = stats.sacrebleu_ci(name, hyps, refs)
    return {f"{name}_ci95": ci["ci95"], f"{name}_ci95_signature": ci["signature"]}


def sacrebleu_metric(name: str, label: str, module: Callable[[], type], **extra) -> Metric:
    """The entry of the sacreBLEU metric `name` (as `sacrebleu_ci` and friends spell it: bleu, chrf)."""
    return Metric(
        name, label, tasks=("translation",), tolerance=0.5, decimals=1, module=module,
        score=partial(stats.sacre_score, name),
        interval=partial(_interval, name), interval_method="sacreBLEU's bootstrap (n_bootstrap=1000)",
        paired=partial(stats.sacrebleu_paired, name), test="sacreBLEU paired bootstrap",
        sufficient=partial(stats.sacre_rows, name), from_rows=partial(stats.sacre_from_rows, name), **extra,
    )  # fmt: skip
