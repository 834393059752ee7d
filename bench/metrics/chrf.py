"""chrF (Popović, 2015) as computed by sacreBLEU, with its signature.

Character n-gram F-score (n <= 6, beta = 2) of detokenised predictions against
raw references (one per prediction), cased unless `lowercase` is passed;
`word_order=2` gives chrF++. What it shares with BLEU: `corpus.py`.
"""
from nlpbench.metrics.corpus import evaluate_module, sacrebleu_metric


def _scorer(lowercase=False, word_order=0):
    import sacrebleu  # with evaluate: only when a score is computed

    return sacrebleu.CHRF(lowercase=lowercase, word_order=word_order)


METRIC = sacrebleu_metric("chrf", "chrF", evaluate_module(
    "Chrf", "chrf", _scorer,
    description="Corpus chrF from sacreBLEU, with its signature string.",
    citation="Popović, 2015. chrF: character n-gram F-score for automatic MT evaluation.",
    options="lowercase (default False), word_order (0 = chrF, 2 = chrF++)",
))
