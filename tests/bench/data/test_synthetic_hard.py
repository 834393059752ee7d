"""`sentiment-hard`: deterministic, balanced, and its labels follow the grammar (checked by an independent parser)."""
from nlpbench.data.synthetic import FLIPPERS, OPENERS, POSITIVE, make_sentiment
from nlpbench.data.synthetic_hard import HEARSAY, NOT_TRUE, OTHERS, make_sentiment_hard


def parse_label(text: str) -> int:
    """The last film clause not introduced by "although" decides; flips: negators and "it is false that"."""
    pieces = [p for p in text.rstrip(" .").split(" , ") if p not in {o.rstrip(" ,") for o in OPENERS}]
    clauses = [c for p in pieces for c in p.split(" but ")]
    deciding = None
    for c in clauses:
        for part in c.split(" and "):
            part = part.removeprefix("and ").removeprefix("while ").strip()
            if not part or part.startswith("although ") or part.startswith(tuple(OTHERS + HEARSAY)):
                continue
            deciding = part
    flips = 0
    for phrase in NOT_TRUE:
        if deciding.startswith(phrase):
            deciding, flips = deciding.removeprefix(phrase), 1
    words = deciding.split()
    flips += sum(w in FLIPPERS for w in words)
    return int(words[-1] in POSITIVE) ^ (flips % 2)


def test_deterministic_distinct_and_balanced():
    a = make_sentiment_hard(1000, seed=3)
    assert a == make_sentiment_hard(1000, seed=3) and len(set(a["text"])) == 1000
    assert 0.4 < a["label"].count("positive") / 1000 < 0.6


def test_labels_follow_the_grammar():
    data = make_sentiment_hard(3000, seed=1)
    wrong = [(t, y) for t, y in zip(data["text"], data["label"]) if parse_label(t) != (y == "positive")]
    assert not wrong, wrong[:3]


def test_it_has_the_hard_constructions_and_leaves_sentiment_unchanged():
    text = " ".join(make_sentiment_hard(2000, seed=0)["text"])
    for marker in (", although", "although", "it is false that", "the popcorn", "said it was"):
        assert marker in text
    assert make_sentiment(5, seed=0)["text"][0] == "frankly , the movie seemed shallow ."  # as before this generator existed
