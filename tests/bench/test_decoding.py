"""Greedy and beam search against a toy model whose log-probs come from a fixed random table."""
import itertools
import math

import pytest
import torch

from nlpbench.decoding import beam_search, find_device, greedy_decode

BOS, EOS = 0, 1


class Toy:
    """log p(next | row, position, last token): a seeded table, so exact scores can be enumerated."""

    def __init__(self, batch: int, steps: int, vocab: int, seed: int = 0, sharp: float = 2.0):
        g = torch.Generator().manual_seed(seed)
        self.table = (torch.randn(batch, steps + 1, vocab, vocab, generator=g) * sharp).log_softmax(-1)
        self.batch = batch

    def state(self):
        return (torch.arange(self.batch), torch.zeros(self.batch, dtype=torch.long))

    def step(self, state, last):
        rows, pos = state
        return self.table[rows, pos, last], (rows, pos + 1)

    @staticmethod
    def reorder(state, index):
        return tuple(x.index_select(0, index) for x in state)

    def logprob(self, row: int, tokens: list[int], closed_by_eos: bool) -> float:
        seq, last, total = tokens + ([EOS] if closed_by_eos else []), BOS, 0.0
        for pos, tok in enumerate(seq):
            total += float(self.table[row, pos, last, tok])
            last = tok
        return total


def _greedy_one_row(toy: Toy, row: int, max_len: int) -> list[int]:
    last, out = BOS, []
    for pos in range(max_len):
        last = int(toy.table[row, pos, last].argmax())
        if last == EOS:
            break
        out.append(last)
    return out


def test_greedy_matches_row_by_row_reference_with_per_row_limits():
    toy = Toy(batch=6, steps=8, vocab=7, seed=1)
    limits = torch.tensor([8, 3, 0, 5, 8, 1])
    got = greedy_decode(toy.step, toy.state(), 6, BOS, EOS, limits)
    assert got == [_greedy_one_row(toy, r, int(n)) for r, n in enumerate(limits)]
    assert any(len(g) < n for g, n in zip(got, limits.tolist()))  # some rows really stopped at EOS


def test_greedy_fixed_length_never_stops_at_eos():
    toy = Toy(batch=5, steps=9, vocab=4, seed=2)
    free = greedy_decode(toy.step, toy.state(), 5, BOS, EOS, 9)
    assert any(len(seq) < 9 for seq in free)
    fixed = greedy_decode(toy.step, toy.state(), 5, BOS, EOS, 9, fixed_length=True)
    assert all(len(seq) == 9 and EOS not in seq for seq in fixed)
    per_row = greedy_decode(toy.step, toy.state(), 5, BOS, EOS, torch.tensor([1, 9, 4, 0, 2]), fixed_length=True)
    assert [len(s) for s in per_row] == [1, 9, 4, 0, 2]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_one_is_exactly_greedy(alpha):
    toy = Toy(batch=16, steps=12, vocab=9, seed=3, sharp=1.0)
    limits = torch.randint(1, 13, (16,), generator=torch.Generator().manual_seed(0))
    greedy = greedy_decode(toy.step, toy.state(), 16, BOS, EOS, limits)
    beam = beam_search(toy.step, toy.reorder, toy.state(), 16, BOS, EOS, 1, limits, length_penalty=alpha)
    assert beam == greedy


def test_wider_beam_never_scores_below_greedy():
    """Compared on raw model log-probability (length_penalty=0), EOS included."""
    toy = Toy(batch=32, steps=10, vocab=8, seed=4, sharp=1.5)
    greedy = greedy_decode(toy.step, toy.state(), 32, BOS, EOS, 10)
    g_scores = [toy.logprob(r, s, len(s) < 10) for r, s in enumerate(greedy)]
    for k in (2, 4):
        beam = beam_search(toy.step, toy.reorder, toy.state(), 32, BOS, EOS, k, 10, length_penalty=0.0)
        b_scores = [toy.logprob(r, s, len(s) < 10) for r, s in enumerate(beam)]
        assert all(b >= g - 1e-9 for b, g in zip(b_scores, g_scores))
        assert sum(b_scores) > sum(g_scores)  # and beam really finds better ones somewhere


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_huge_beam_finds_the_exact_best_sequence(alpha):
    """With more beams than prefixes, beam search is exhaustive: it must return the brute-force optimum."""
    vocab, max_len, batch = 5, 4, 3
    toy = Toy(batch=batch, steps=max_len, vocab=vocab, seed=5, sharp=1.0)
    got = beam_search(toy.step, toy.reorder, toy.state(), batch, BOS, EOS, 512, max_len, length_penalty=alpha)
    words = [t for t in range(vocab) if t != EOS]
    for row in range(batch):
        cands = [(list(p), True) for n in range(max_len) for p in itertools.product(words, repeat=n)]
        cands += [(list(p), False) for p in itertools.product(words, repeat=max_len)]  # cut at the limit

        def norm(c, row=row):
            tokens, closed = c
            return toy.logprob(row, tokens, closed) / (len(tokens) + closed) ** alpha

        best = max(cands, key=norm)
        assert math.isclose(norm((got[row], len(got[row]) < max_len)), norm(best), rel_tol=1e-9)


def test_length_penalty_favours_longer_outputs():
    toy = Toy(batch=32, steps=12, vocab=6, seed=6, sharp=1.0)
    short = beam_search(toy.step, toy.reorder, toy.state(), 32, BOS, EOS, 4, 12, length_penalty=0.0)
    long = beam_search(toy.step, toy.reorder, toy.state(), 32, BOS, EOS, 4, 12, length_penalty=2.0)
    assert sum(map(len, long)) > sum(map(len, short))


def test_zero_limit_and_dict_state():
    toy = Toy(batch=2, steps=3, vocab=5)
    rows, pos = toy.state()

    def step(state, last):
        lp, (r, p) = toy.step((state["rows"], state["pos"]), last)
        return lp, {"rows": r, "pos": p}

    def reorder(state, index):
        return {k: v.index_select(0, index) for k, v in state.items()}

    state = {"rows": rows, "pos": pos}
    assert greedy_decode(step, state, 2, BOS, EOS, 0) == [[], []]
    assert beam_search(step, reorder, state, 2, BOS, EOS, 3, 0) == [[], []]
    assert len(beam_search(step, reorder, state, 2, BOS, EOS, 3, 3)) == 2
    assert find_device(state) == torch.device("cpu")
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(step, reorder, state, 2, BOS, EOS, 0, 3)
