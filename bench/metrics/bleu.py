"""BLEU (Papineni et al., 2002) as computed by sacreBLEU (Post, 2018), with its signature.

Corpus BLEU of detokenised predictions against raw references (one per
prediction), sacreBLEU's default 13a tokenisation, cased — unless the caller
passes `tokenize` / `lowercase`. The signature string records exactly that, so
a score can be reproduced elsewhere. What it shares with chrF: `corpus.py`.
"""
from nlpbench.metrics.corpus import evaluate_module, sacrebleu_metric


def _scorer(tokenize=None, lowercase=False):
    import sacrebleu  # with evaluate: only when a score is computed

    return sacrebleu.BLEU(tokenize=tokenize, lowercase=lowercase)


METRIC = sacrebleu_metric("bleu", "BLEU", evaluate_module(
    "Bleu", "bleu", _scorer,
    description="Corpus BLEU from sacreBLEU, with its signature string.",
    citation="Post, 2018. A Call for Clarity in Reporting BLEU Scores.",
    options="tokenize (sacreBLEU name, default 13a), lowercase (default False)",
), shown=("bleu_signature",))
