"""`sentiment-hard`: a synthetic sentiment grammar that small models do not saturate.

Built on the `sentiment` vocabulary, with what makes real reviews hard:
- the deciding clause may come first: "C2 , although C1" and "although C1 , C2"
  are both decided by C2; "C1 but C2" by C2;
- nested negation: "it is not true that the plot was not dull" (two flips);
- distractors: clauses about things other than the film ("the popcorn was
  awful", "my friend said it was great") carry sentiment words but never count;
- longer sentences, so the deciding words sit far from the end.
The label is the polarity of the deciding film clause after its flips. The old
`sentiment` generator is unchanged, so earlier runs stay reproducible.
"""
from __future__ import annotations

import random

from nlpbench.data.synthetic import (
    FLIPPERS,
    INTENSIFIERS,
    NEGATIVE,
    OPENERS,
    POSITIVE,
    SUBJECTS,
    VERBS,
    distinct_sentences,
    sentiment_sentence,
)

OTHERS = ("the popcorn,the seats,the parking,the ticket price,the weather,the crowd,the trailer before it,"
          "the snacks,the cinema,the bus ride home").split(",")
HEARSAY = ["my friend said", "a critic claimed", "the poster promised", "people online said", "my cousin thought"]
EASY = 0.5  # share of sentences drawn from the plain `sentiment` grammar: a learnable floor
NOT_TRUE = ["it is not true that", "nobody could say that", "it is false that"]


def _film_clause(rng: random.Random) -> tuple[list[str], int]:
    """A clause about the film and its polarity (1 positive) after every flip."""
    positive = rng.random() < 0.5
    words = [rng.choice(SUBJECTS), rng.choice(VERBS)]
    flips = 0
    if rng.random() < 0.35:
        words.append(rng.choice(FLIPPERS))
        flips += 1
    if rng.random() < 0.3:
        words.append(rng.choice(INTENSIFIERS))
    words.append(rng.choice(POSITIVE if positive else NEGATIVE))
    if rng.random() < 0.15:  # nested negation around the clause
        words = rng.choice(NOT_TRUE).split() + words
        flips += 1
    return words, int(positive) ^ (flips % 2)


def _distractor(rng: random.Random) -> list[str]:
    adj = rng.choice(POSITIVE + NEGATIVE)
    if rng.random() < 0.5:
        return rng.choice(HEARSAY).split() + ["it", "was", adj]
    return [rng.choice(OTHERS), rng.choice(VERBS), *([rng.choice(FLIPPERS)] if rng.random() < 0.3 else []), adj]


def _core(rng: random.Random) -> tuple[list[str], int]:
    """Two film clauses in one of four constructions; returns the words and the deciding polarity."""
    (c1, y1), (c2, y2) = _film_clause(rng), _film_clause(rng)
    while y2 == y1 and rng.random() < 0.7:  # mostly disagreeing clauses: their order must matter
        c2, y2 = _film_clause(rng)
    roll = rng.random()
    if roll < 0.2:
        return [*c1, "but", *c2], y2
    if roll < 0.35:
        return ["although", *c1, ",", *c2], y2
    if roll < 0.5:
        return [*c2, ",", "although", *c1], y2
    return c1, y1  # a single film clause (the second is dropped)


def sentiment_hard_sentence(rng: random.Random) -> tuple[str, int]:
    if rng.random() < EASY:
        return sentiment_sentence(rng)
    words, label = _core(rng)
    if rng.random() < 0.4:  # a distractor before or after, joined with "and" / "while"
        d = _distractor(rng)
        if rng.random() < 0.5:
            words = [*d, ",", "and", *words]
        else:
            words = [*words, ",", rng.choice(["while", "and"]), *d]
    opener = rng.choice(OPENERS)
    return " ".join([*opener.split(), *words, "."]), label


def make_sentiment_hard(n: int, seed: int) -> dict[str, list]:
    return distinct_sentences(sentiment_hard_sentence, n, seed)
