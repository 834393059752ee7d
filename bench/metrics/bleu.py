"""BLEU (Papineni et al., 2002) as computed by sacreBLEU (Post, 2018), with its signature.

Corpus BLEU of detokenised predictions against raw references (one per
prediction), sacreBLEU's default 13a tokenisation, cased — unless the caller
passes `tokenize` / `lowercase`. The signature string records exactly that, so
a score can be reproduced elsewhere.
"""
from nlpbench.metrics import Metric, stats


def _module():
    """The evaluate.Metric that computes it, built on first use: importing evaluate takes seconds, and
    every command reads the metric registry."""
    import datasets
    import evaluate
    import sacrebleu

    class Bleu(evaluate.Metric):
        def _info(self):
            return evaluate.MetricInfo(
                description="Corpus BLEU from sacreBLEU, with its signature string.",
                citation="Post, 2018. A Call for Clarity in Reporting BLEU Scores.",
                inputs_description="predictions, references: lists of str (detokenised), one reference per prediction; "
                "optional tokenize (sacreBLEU name, default 13a), lowercase (default False)",
                features=datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
                ),
            )

        def _compute(self, predictions, references, tokenize=None, lowercase=False):
            bleu = sacrebleu.BLEU(tokenize=tokenize, lowercase=lowercase)
            score = bleu.corpus_score(list(predictions), [list(references)])
            return {"bleu": float(score.score), "bleu_signature": str(bleu.get_signature())}

    return Bleu


def _interval(hyps, refs, seed: int) -> dict:
    ci = stats.sacrebleu_ci("bleu", hyps, refs)
    return {"bleu_ci95": ci["ci95"], "bleu_ci95_signature": ci["signature"]}


METRIC = Metric(
    "bleu", "BLEU", tasks=("translation",), tolerance=0.5, decimals=1, module=_module,
    score=lambda hyps, refs: stats.sacre_score("bleu", hyps, refs),
    interval=_interval, interval_method="sacreBLEU's bootstrap (n_bootstrap=1000)",
    paired=lambda a, b, refs, **kw: stats.sacrebleu_paired("bleu", a, b, refs, **kw),
    test="sacreBLEU paired bootstrap",
    sufficient=lambda hyps, refs: stats.sacre_rows("bleu", hyps, refs),
    from_rows=lambda rows: stats.sacre_from_rows("bleu", rows), shown=("bleu_signature",),
)
