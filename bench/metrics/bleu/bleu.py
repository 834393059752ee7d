"""BLEU (Papineni et al., 2002) as computed by sacreBLEU (Post, 2018), with its signature.

Corpus BLEU of detokenised predictions against raw references (one per
prediction), sacreBLEU's default 13a tokenisation, cased — unless the caller
passes `tokenize` / `lowercase`. The signature string records exactly that, so
a score can be reproduced elsewhere.
"""
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
