"""The synthetic translation grammar: deterministic, reordering, agreement, not solvable by copying."""
import sacrebleu

from nlpbench.data.synthetic_translation import (
    ADJ_ENDING,
    ARTICLES,
    VERB_ENDING,
    aligned,
    build_lexicon,
    make_translation,
)


def test_deterministic_distinct_and_sized():
    a, b = make_translation(300, 7), make_translation(300, 7)
    assert a == b and set(a) == {"src", "tgt"} and len(a["src"]) == len(a["tgt"]) == 300
    assert make_translation(300, 8)["src"] != a["src"]
    assert len(set(a["src"])) == 300  # distinct, so splits cut from one stream never overlap
    assert all(4 <= len(s.split()) <= 20 for s in a["src"])
    big = make_translation(3000, 0)
    for side in ("src", "tgt"):
        types = {w for s in big[side] for w in s.split()}
        assert 200 <= len(types) <= 800, (side, len(types))


def test_word_order_changes():
    pairs = aligned(500, 1)
    assert all(sorted(al) == list(range(len(s))) for s, _, al in pairs)  # one target word per source word
    reordered = sum(al != sorted(al) for _, _, al in pairs)
    assert reordered / len(pairs) > 0.95
    # SOV: a one-clause target ends with its verb, which is never last in the source when an object follows.
    lex = build_lexicon()
    endings = tuple(VERB_ENDING.values())
    verb_stems = set(lex.verb.values())
    for src, tgt, _ in pairs:
        if "and" not in src:
            assert tgt[-1].endswith(endings) and tgt[-1][: -2] in verb_stems


def test_agreement_inflects_articles_adjectives_and_verbs():
    lex = build_lexicon()
    pairs = aligned(2000, 2)
    forms: dict[str, set[str]] = {}
    for src, tgt, al in pairs:
        for j, i in enumerate(al):
            forms.setdefault(src[i], set()).add(tgt[j])
    # One source adjective, four target forms (gender x number), all from one stem.
    assert forms["big"] == {lex.adjective["big"] + e for e in ADJ_ENDING.values()}
    # "the" takes the four definite articles; the past "helped" two endings (subject number).
    assert forms["the"] == {a for (definite, _, _), a in ARTICLES.items() if definite}
    assert forms["helped"] == {lex.verb["help"] + VERB_ENDING[(True, pl)] for pl in (False, True)}


def test_copying_or_monotone_glossing_cannot_solve_it():
    pairs = aligned(1000, 3)
    refs = [" ".join(t) for _, t, _ in pairs]
    copy = [" ".join(s) for s, _, _ in pairs]
    assert sacrebleu.corpus_bleu(copy, [refs]).score < 1
    # Even a perfect word-for-word translation (right forms, source order) scores poorly.
    gloss = []
    for src, tgt, al in pairs:
        words = [""] * len(src)
        for j, i in enumerate(al):
            words[i] = tgt[j]
        gloss.append(" ".join(words))
    assert sacrebleu.corpus_bleu(gloss, [refs]).score < 20
