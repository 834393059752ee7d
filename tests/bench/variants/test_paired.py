"""Paired tests of a variant against fp32: McNemar exact, Δ accuracy interval, BLEU paired bootstrap."""
from __future__ import annotations

import math

import pytest

from nlpbench.variants.paired import mcnemar_exact, paired_accuracy, paired_bleu


def test_mcnemar_exact_counts_discordant_pairs_and_matches_the_binomial():
    fp32 = [1, 1, 1, 1, 0, 0, 1, 1]
    var = [1, 0, 0, 0, 0, 1, 1, 1]
    out = mcnemar_exact(fp32, var)
    assert (out["lost"], out["gained"]) == (3, 1)
    assert out["p"] == pytest.approx(2 * (1 + 4) / 16)  # two-sided binomial, n=4 discordant, k=1


def test_mcnemar_without_discordant_pairs_is_p_one():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1])["p"] == 1.0


def test_paired_accuracy_delta_interval_and_p():
    refs = [0, 1] * 50
    fp32 = list(refs)
    var = [1 - r if i < 20 else r for i, r in enumerate(refs)]  # the variant gets 20 of 100 wrong
    out = paired_accuracy(fp32, var, refs, seed=0)
    assert out["delta"] == pytest.approx(-0.20)
    lo, hi = out["delta_ci95"]
    assert lo < -0.2 < hi < 0
    assert out["p"] == pytest.approx(2 / 2**20) and out["lost"] == 20 and out["agreement"] == pytest.approx(0.8)


def test_paired_bleu_identical_outputs_have_zero_delta_and_differing_ones_a_small_p():
    refs = ["the cat sat on the mat", "a dog runs in the park", "she reads a book"] * 20
    same = paired_bleu(refs, refs, refs)
    assert same["delta"] == 0 and same["delta_ci95"] == [0.0, 0.0] and same["p"] == 1.0
    worse = ["the cat sat", "a dog", "she reads"] * 20
    out = paired_bleu(refs, worse, refs)
    assert out["delta"] < -30 and out["delta_ci95"][1] < 0
    assert out["p"] is not None and out["p"] < 0.01 and not math.isnan(out["p"])
