"""The expected-max estimator and P(A > B) against brute-force enumeration of subsets and draws."""
from __future__ import annotations

from itertools import combinations, product

import numpy as np
import pytest

from nlpbench.tune import curves

CASES = [[0.3], [0.5, 0.1], [0.2, 0.9, 0.4, 0.4], [0.71, 0.65, 0.65, 0.8, 0.3, 0.77], [3.0, 1.0, 2.0, 2.0, 5.0]]


@pytest.mark.parametrize("values", CASES)
def test_without_replacement_is_the_mean_over_every_subset(values):
    for n in range(1, len(values) + 1):
        brute = np.mean([max(s) for s in combinations(values, n)])
        assert curves.expected_max(values, n) == pytest.approx(brute, abs=1e-12)


@pytest.mark.parametrize("values", CASES)
def test_with_replacement_is_the_mean_over_every_draw(values):
    for n in range(1, min(len(values), 4) + 1):
        brute = np.mean([max(s) for s in product(values, repeat=n)])
        assert curves.expected_max(values, n, replace=True) == pytest.approx(brute, abs=1e-12)


def test_curve_rises_to_the_best_and_starts_at_the_mean():
    v = [0.2, 0.9, 0.4, 0.5]
    c = curves.curve(v)
    assert c[0] == pytest.approx(np.mean(v)) and c[-1] == pytest.approx(max(v))
    assert all(x <= y + 1e-12 for x, y in zip(c, c[1:]))


def test_p_beats_matches_enumeration_with_ties():
    a, b = [0.5, 0.7, 0.7, 0.2], [0.6, 0.7, 0.1]
    for n in (1, 2, 3):
        wins = [(max(x) > max(y)) + 0.5 * (max(x) == max(y)) for x in combinations(a, n) for y in combinations(b, n)]
        assert curves.p_beats(a, b, n) == pytest.approx(np.mean(wins), abs=1e-12)
    assert curves.p_beats(a, b, 2) + curves.p_beats(b, a, 2) == pytest.approx(1.0)


def test_band_holds_the_curve_and_is_seeded():
    v = [0.61, 0.7, 0.65, 0.8, 0.55, 0.72]
    lo, hi = curves.band(v, n_boot=300, seed=1)
    assert (lo, hi) == curves.band(v, n_boot=300, seed=1)
    c = curves.curve(v)
    assert all(lo_ <= x + 1e-9 and x <= hi_ + 1e-9 for lo_, x, hi_ in zip(lo, c, hi))


def test_crossings_name_where_the_order_flips():
    assert curves.crossings([0.5, 0.6, 0.7], [0.55, 0.6, 0.65]) == [3]
    assert curves.crossings([0.5, 0.6], [0.4, 0.5]) == []
