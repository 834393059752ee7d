"""Built-in deterministic data generators: the offline default of `make bench`.

`sentiment` is a small grammar where word order decides the label, so a bag of
words can't solve it:
- negation flips a clause ("was not good" is negative, "was not bad" positive);
- "but"-contrast: the clause after "but" decides ("dull but moving" is
  positive, "moving but dull" negative: the same bag of words, opposite labels);
- intensifiers ("very", "truly") keep polarity; downtoners ("hardly",
  "barely") flip it, like negation.
Splits are drawn from one stream of distinct sentences, so no sentence is in
two splits.
"""
from __future__ import annotations

import random

SUBJECTS = "the movie,the film,the plot,the acting,the script,the ending,the cast,the soundtrack,the director,the story,the dialogue,the pacing,this picture,the premise,the camera work".split(",")
VERBS = ["was", "is", "seemed", "felt", "looked", "proved", "remained"]
POSITIVE = "good,great,moving,funny,clever,charming,brilliant,gripping,delightful,touching,smart,fresh,beautiful,powerful,witty,engaging,superb,memorable,warm,thrilling".split(",")
NEGATIVE = "bad,dull,boring,weak,clumsy,tedious,awful,flat,stale,silly,lifeless,bland,messy,shallow,predictable,forgettable,tiresome,painful,cheap,sloppy".split(",")
INTENSIFIERS = ["very", "truly", "really", "extremely", "quite"]
FLIPPERS = ["not", "never", "hardly", "barely"]
OPENERS = ["", "", "", "honestly ,", "overall ,", "in the end ,", "frankly ,"]
DEFAULT_SIZES = {"train": 4000, "validation": 500, "test": 500}


def _clause(rng: random.Random) -> tuple[str, int]:
    positive = rng.random() < 0.5
    adj = rng.choice(POSITIVE if positive else NEGATIVE)
    words = [rng.choice(SUBJECTS), rng.choice(VERBS)]
    flip = rng.random() < 0.35
    if flip:
        words.append(rng.choice(FLIPPERS))
    if rng.random() < 0.3:
        words.append(rng.choice(INTENSIFIERS))
    words.append(adj)
    return " ".join(words), int(positive != flip)


def sentiment_sentence(rng: random.Random) -> tuple[str, int]:
    first, label = _clause(rng)
    roll = rng.random()
    if roll < 0.4:  # contrast: the second clause decides, and usually disagrees with the first
        second, label2 = _clause(rng)
        while label2 == label and rng.random() < 0.8:
            second, label2 = _clause(rng)
        first, label = f"{first} but {second}", label2
    elif roll < 0.55:  # agreement: both clauses share a polarity
        second, label2 = _clause(rng)
        while label2 != label:
            second, label2 = _clause(rng)
        first = f"{first} and {second}"
    opener = rng.choice(OPENERS)
    return (f"{opener} {first} .".strip(), label)


def label_text(text: str) -> int:
    """The grammar's label of a sentence, by parsing it (1 positive, 0 negative)."""

    def clause(words: list[str]) -> int:
        adj = words[-1]
        flipped = any(w in FLIPPERS for w in words)
        return int((adj in POSITIVE) != flipped)

    body = text.rstrip(" .").split(" , ")[-1]
    clauses = body.split(" but ")[-1].split(" and ")  # after "but", the last clause decides
    return clause(clauses[-1].split())


def make_sentiment(n: int, seed: int) -> dict[str, list]:
    return distinct_sentences(sentiment_sentence, n, seed)


def distinct_sentences(sentence, n: int, seed: int) -> dict[str, list]:
    """`n` distinct labelled sentences from `sentence(rng) -> (text, 0|1)`, seeded (shared by the grammars)."""
    rng = random.Random(seed)
    seen, text, label = set(), [], []
    while len(text) < n:
        s, y = sentence(rng)
        if s not in seen:
            seen.add(s)
            text.append(s)
            label.append(["negative", "positive"][y])
    return {"text": text, "label": label}
