"""Synthetic translation: a toy English-like source into an invented target language.

Deterministic (seeded), no files; a few hundred word types per side; source
sentences of 4-20 words. Every source word has exactly one target word, but
the order and forms differ, so a model must attend to the right source words
and agree forms across the sentence — copying or word-by-word glossing fails:

- clause order SVO -> SOV, with the prepositional phrase moved before the
  object and the adverb just before the verb (Subj PP Obj Adv Verb):
  "the bottles floated with the tiger again" -> "le kumaen la giga po temuka lemeson";
- noun phrases: Det Adj* N -> Art N Adj* with the adjectives mirrored
  (schematically "a big red car" -> "una car red big");
- prepositions become postpositions (NP Post);
- agreement: each target noun has a lexical gender (m/f) the source never
  shows; articles (definite/indefinite x gender x number) and adjective endings
  (-o -a -i -e) agree with their noun; the verb ending agrees with the subject's
  number and tense (present/past) — in the past tense the source verb carries no
  number ("helped"), so the target ending must come from the subject noun;
- clauses may be joined by "and", each clause reordered on its own.

`aligned(n, seed)` also returns, for each target word, the index of its source
word (tests use it to check that the order really changes).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

NOUNS = (
    "cat dog bird horse cow pig goat duck frog rat lion tiger bear wolf snake shark whale ant bee worm "
    "farmer baker teacher doctor singer pilot king queen girl boy friend student sailor soldier painter "
    "writer driver nurse clerk guard chef artist book apple car boat house chair table bottle door window "
    "tree flower cake ball hat shoe coat key ring letter lamp cup plate bike"
).split()
ADJECTIVES = (
    "big small red blue green old young tall short happy sad quick slow loud quiet dark bright warm cold "
    "clean dirty rich poor strong weak brave calm proud kind wild tired hungry angry funny lazy busy shy smart rough soft"
).split()
TRANSITIVE = (
    "help kick lift pull call visit follow paint want thank greet guard hunt warn attack cook count fear "
    "kill lick mark mock open pick play print rent sign test trust view"
).split()
INTRANSITIVE = "walk talk jump laugh rest wait yell cough dream shout float work listen return".split()
ADVERBS = "today again often slowly quickly quietly loudly early later twice alone here".split()
PREPOSITIONS = "with near under behind beside above".split()

ARTICLES = {  # (definite, gender, plural) -> target article
    (True, "m", False): "lo", (True, "f", False): "la",
    (True, "m", True): "li", (True, "f", True): "le",
    (False, "m", False): "un", (False, "f", False): "una",
    (False, "m", True): "unos", (False, "f", True): "unas",
}
ADJ_ENDING = {("m", False): "o", ("f", False): "a", ("m", True): "i", ("f", True): "e"}
VERB_ENDING = {(False, False): "at", (False, True): "an", (True, False): "ot", (True, True): "on"}  # (past, plural)
NOUN_PLURAL = "en"
CONJUNCTION = ("and", "et")
LEXICON_SEED = 20150901  # fixed: the languages never change; `seed` only picks sentences


@dataclass(frozen=True)
class Lexicon:
    noun: dict[str, tuple[str, str]]  # source noun -> (target stem, gender)
    adjective: dict[str, str]  # -> target stem (takes an agreement ending)
    verb: dict[str, str]  # -> target stem (takes a tense/number ending)
    adverb: dict[str, str]
    postposition: dict[str, str]


def _coin(rng: random.Random, taken: set[str], syllables: int, coda: bool) -> str:
    """A fresh pseudo-word of CV syllables (plus a final consonant when it takes endings)."""
    cons, vowels = "bdgklmnprstvz", "aeiou"
    while True:
        word = "".join(rng.choice(cons) + rng.choice(vowels) for _ in range(syllables))
        word += rng.choice("lmnrst") if coda else ""
        if word not in taken and word not in ARTICLES.values():
            taken.add(word)
            return word


def build_lexicon() -> Lexicon:
    rng, taken = random.Random(LEXICON_SEED), set(NOUNS + ADJECTIVES + TRANSITIVE + INTRANSITIVE)
    noun = {w: (_coin(rng, taken, 2, False), rng.choice("mf")) for w in NOUNS}
    adjective = {w: _coin(rng, taken, 2, True) for w in ADJECTIVES}
    verb = {w: _coin(rng, taken, 2, True) for w in TRANSITIVE + INTRANSITIVE}
    adverb = {w: _coin(rng, taken, 3, False) for w in ADVERBS}
    postposition = {w: _coin(rng, taken, 1, False) for w in PREPOSITIONS}
    return Lexicon(noun, adjective, verb, adverb, postposition)


Word = tuple[int, str, str]  # (unique id within the sentence, source form, target form)


class _Sentence:
    """Hands out word ids so each target word can point back at its source word."""

    def __init__(self, lex: Lexicon, rng: random.Random):
        self.lex, self.rng, self.next_id = lex, rng, 0

    def word(self, src: str, tgt: str) -> Word:
        self.next_id += 1
        return (self.next_id, src, tgt)

    def noun_phrase(self) -> tuple[list[Word], list[Word], bool]:
        """Returns (source order, target order, plural)."""
        rng, lex = self.rng, self.lex
        noun = rng.choice(NOUNS)
        stem, gender = lex.noun[noun]
        plural, definite = rng.random() < 0.4, rng.random() < 0.6
        det = "the" if definite else ("some" if plural else "a")
        adjs = rng.sample(ADJECTIVES, rng.choices([0, 1, 2], weights=[5, 3.5, 1.5])[0])
        art = self.word(det, ARTICLES[(definite, gender, plural)])
        mods = [self.word(a, lex.adjective[a] + ADJ_ENDING[(gender, plural)]) for a in adjs]
        head = self.word(noun + ("s" if plural else ""), stem + (NOUN_PLURAL if plural else ""))
        return [art, *mods, head], [art, head, *mods[::-1]], plural

    def clause(self) -> tuple[list[Word], list[Word]]:
        rng, lex = self.rng, self.lex
        subj_src, subj_tgt, plural = self.noun_phrase()
        transitive, past = rng.random() < 0.7, rng.random() < 0.5
        lemma = rng.choice(TRANSITIVE if transitive else INTRANSITIVE)
        form = lemma + ("ed" if past else ("" if plural else "s"))
        verb = self.word(form, lex.verb[lemma] + VERB_ENDING[(past, plural)])
        obj_src, obj_tgt = self.noun_phrase()[:2] if transitive else ([], [])
        pp_src, pp_tgt = [], []
        if rng.random() < 0.4:
            prep = rng.choice(PREPOSITIONS)
            np_src, np_tgt, _ = self.noun_phrase()
            p = self.word(prep, lex.postposition[prep])
            pp_src, pp_tgt = [p, *np_src], [*np_tgt, p]
        adv = [self.word(a, lex.adverb[a]) for a in ([rng.choice(ADVERBS)] if rng.random() < 0.3 else [])]
        src = subj_src + [verb] + obj_src + pp_src + adv
        tgt = subj_tgt + pp_tgt + obj_tgt + adv + [verb]
        return src, tgt

    def sentence(self) -> tuple[list[Word], list[Word]]:
        src, tgt = self.clause()
        if self.rng.random() < 0.2:
            src2, tgt2 = self.clause()
            conj = self.word(*CONJUNCTION)
            src, tgt = src + [conj] + src2, tgt + [conj] + tgt2
        return src, tgt


def aligned(n: int, seed: int, min_words: int = 4, max_words: int = 20) -> list[tuple[list[str], list[str], list[int]]]:
    """`n` distinct (source words, target words, source index of each target word) triples."""
    lex, rng = build_lexicon(), random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        src, tgt = _Sentence(lex, rng).sentence()
        key = " ".join(w[1] for w in src)
        if not min_words <= len(src) <= max_words or key in seen:
            continue  # rejection keeps lengths in range and splits disjoint
        seen.add(key)
        where = {w[0]: i for i, w in enumerate(src)}
        out.append(([w[1] for w in src], [w[2] for w in tgt], [where[w[0]] for w in tgt]))
    return out


def make_translation(n: int, seed: int) -> dict[str, list[str]]:
    """`n` distinct sentence pairs: {"src": [...], "tgt": [...]} (space-separated words)."""
    pairs = aligned(n, seed)
    return {"src": [" ".join(s) for s, _, _ in pairs], "tgt": [" ".join(t) for _, t, _ in pairs]}
