"""chrF (Popović, 2015) as computed by sacreBLEU, with its signature.

Character n-gram F-score (n <= 6, beta = 2) of detokenised predictions against
raw references (one per prediction), cased unless `lowercase` is passed;
`word_order=2` gives chrF++.
"""
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
