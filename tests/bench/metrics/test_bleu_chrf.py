"""The `bleu` and `chrf` evaluate modules give sacreBLEU's numbers and signatures."""
import sacrebleu

from nlpbench import metrics

PREDS = ["The cat sat on the mat.", "A dog barked loudly at the mailman!", "Nothing matches here", "Two men, one boat."]
REFS = ["The cat sat on the mat .", "a dog barked loudly at the postman!", "Completely different words",
        "Two men, one boat."]


def test_bleu_equals_sacrebleu_with_signature():
    out = metrics.compute("bleu", PREDS, REFS)
    assert out["bleu"] == sacrebleu.corpus_bleu(PREDS, [REFS]).score
    assert 0 < out["bleu"] < 100
    sig = out["bleu_signature"]
    assert "nrefs:1" in sig and "case:mixed" in sig and "tok:13a" in sig and f"version:{sacrebleu.__version__}" in sig


def test_bleu_passes_tokenize_and_lowercase_through():
    out = metrics.compute("bleu", PREDS, REFS, lowercase=True, tokenize="none")
    assert out["bleu"] == sacrebleu.corpus_bleu(PREDS, [REFS], lowercase=True, tokenize="none").score
    assert out["bleu"] != metrics.compute("bleu", PREDS, REFS)["bleu"]
    assert "case:lc" in out["bleu_signature"] and "tok:none" in out["bleu_signature"]


def test_chrf_equals_sacrebleu_with_signature():
    out = metrics.compute("chrf", PREDS, REFS)
    assert out["chrf"] == sacrebleu.corpus_chrf(PREDS, [REFS]).score
    assert "nc:6" in out["chrf_signature"] and "case:mixed" in out["chrf_signature"]
    plus = metrics.compute("chrf", PREDS, REFS, word_order=2, lowercase=True)
    assert plus["chrf"] == sacrebleu.CHRF(word_order=2, lowercase=True).corpus_score(PREDS, [REFS]).score
    assert "nw:2" in plus["chrf_signature"] and "case:lc" in plus["chrf_signature"]


def test_perfect_output_scores_100():
    assert abs(metrics.compute("bleu", REFS, REFS)["bleu"] - 100) < 1e-9
    assert abs(metrics.compute("chrf", REFS, REFS)["chrf"] - 100) < 1e-9
