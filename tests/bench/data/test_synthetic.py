
from nlpbench.data.synthetic import label_text, make_sentiment


def test_deterministic_and_distinct():
    a, b = make_sentiment(300, seed=3), make_sentiment(300, seed=3)
    assert a == b
    assert len(set(a["text"])) == 300
    assert make_sentiment(300, seed=4) != a


def test_balanced_enough():
    labels = make_sentiment(2000, seed=0)["label"]
    assert 0.4 < labels.count("positive") / len(labels) < 0.6


def test_labels_follow_the_grammar():
    data = make_sentiment(5000, seed=1)
    assert all(label_text(t) == ("positive", "negative").index(y) ^ 1 for t, y in zip(data["text"], data["label"]))


def test_negation_flips_a_clause():
    assert label_text("the movie was good .") == 1
    assert label_text("the movie was not good .") == 0
    assert label_text("the movie was hardly very bad .") == 1


def test_a_bag_of_words_cannot_solve_it():
    """Swapping the clauses around "but" keeps the bag of words and flips the label."""
    data = make_sentiment(3000, seed=0)
    swapped = 0
    for text, label in zip(data["text"], data["label"]):
        body = text.rstrip(" .")
        if " but " not in body or "," in body:
            continue
        a, b = body.split(" but ")
        if label_text(a) != label_text(b):
            other = f"{b} but {a} ."
            assert sorted(other.split()) == sorted(text.split())
            assert label_text(other) != ("negative", "positive").index(label)
            swapped += 1
    assert swapped > 100
