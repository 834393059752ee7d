"""chrF (Popović, 2015) as computed by sacreBLEU, with its signature.

Character n-gram F-score (n <= 6, beta = 2) of detokenised predictions against
raw references (one per prediction), cased unless `lowercase` is passed;
`word_order=2` gives chrF++.
"""
from nlpbench.metrics import Metric, stats


def _module():
    """The evaluate.Metric that computes it, built on first use: importing evaluate takes seconds, and
    every command reads the metric registry."""
    import datasets
    import evaluate
    import sacrebleu

    class Chrf(evaluate.Metric):
        def _info(self):
            return evaluate.MetricInfo(
                description="Corpus chrF from sacreBLEU, with its signature string.",
                citation="Popović, 2015. chrF: character n-gram F-score for automatic MT evaluation.",
                inputs_description="predictions, references: lists of str (detokenised), one reference per prediction; "
                "optional lowercase (default False), word_order (0 = chrF, 2 = chrF++)",
                features=datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
                ),
            )

        def _compute(self, predictions, references, lowercase=False, word_order=0):
            chrf = sacrebleu.CHRF(lowercase=lowercase, word_order=word_order)
            score = chrf.corpus_score(list(predictions), [list(references)])
            return {"chrf": float(score.score), "chrf_signature": str(chrf.get_signature())}

    return Chrf


def _interval(hyps, refs, seed: int) -> dict:
    ci = stats.sacrebleu_ci("chrf", hyps, refs)
    return {"chrf_ci95": ci["ci95"], "chrf_ci95_signature": ci["signature"]}


METRIC = Metric(
    "chrf", "chrF", tasks=("translation",), tolerance=0.5, decimals=1, module=_module,
    score=lambda hyps, refs: stats.sacre_score("chrf", hyps, refs),
    interval=_interval, interval_method="sacreBLEU's bootstrap (n_bootstrap=1000)",
    paired=lambda a, b, refs, **kw: stats.sacrebleu_paired("chrf", a, b, refs, **kw),
    test="sacreBLEU paired bootstrap",
    sufficient=lambda hyps, refs: stats.sacre_rows("chrf", hyps, refs),
    from_rows=lambda rows: stats.sacre_from_rows("chrf", rows),
)
