"""nlpbench.metrics.stats: intervals and paired tests, checked against known values and sacreBLEU's own CLI."""
import json
import random
import re
import subprocess
import sys

import numpy as np
import pytest

from nlpbench import metrics
from nlpbench.metrics import stats


def test_wilson_is_not_degenerate_at_the_edges():
    lo, hi = stats.wilson(300, 300)
    assert hi == 1.0 and 0.98 < lo < 0.995  # 300/300: [0.987, 1], not [1, 1]
    lo, hi = stats.wilson(0, 300)
    assert lo == 0.0 and 0.005 < hi < 0.02
    lo, hi = stats.wilson(50, 100)  # textbook value: [0.4038, 0.5962]
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)


def test_mcnemar_exact_on_a_known_table():
    # 1 pair where only A is right, 9 where only B is: two-sided exact p = 2 * 11/1024
    a = [True] * 20 + [True] + [False] * 9 + [False] * 5
    b = [True] * 20 + [False] + [True] * 9 + [False] * 5
    out = stats.mcnemar_exact(a, b)
    assert (out["b"], out["c"]) == (1, 9)
    assert out["p"] == pytest.approx(22 / 1024)
    assert stats.mcnemar_exact(a, a)["p"] == 1.0


def test_f1_macro_matches_the_metric_module():
    rng = np.random.default_rng(0)
    p, r = rng.integers(0, 3, 200).tolist(), rng.integers(0, 3, 200).tolist()
    assert stats.f1_macro(p, r) == pytest.approx(metrics.compute("f1_macro", p, r)["f1_macro"])


def test_bootstrap_ci_is_seeded_and_brackets_the_value():
    rng = np.random.default_rng(1)
    r = rng.integers(0, 2, 300)
    p = np.where(rng.random(300) < 0.8, r, 1 - r)
    ci = stats.bootstrap_ci(stats.f1_macro, p, r, seed=3)
    assert ci == stats.bootstrap_ci(stats.f1_macro, p, r, seed=3)
    assert ci[0] < stats.f1_macro(p, r) < ci[1] and ci[1] - ci[0] < 0.2


def test_paired_bootstrap_separates_a_real_gap_and_not_noise():
    rng = np.random.default_rng(2)
    r = rng.integers(0, 2, 400)
    good = np.where(rng.random(400) < 0.9, r, 1 - r)
    bad = np.where(rng.random(400) < 0.7, r, 1 - r)
    out = stats.paired_bootstrap(stats.f1_macro, good, bad, r, seed=0)
    assert out["p"] < 0.01 and out["ci95"][0] > 0
    same = stats.paired_bootstrap(stats.f1_macro, good, good, r, seed=0)
    assert same["delta"] == 0 and same["p"] == 1.0


def test_verdict_words():
    assert stats.verdict("transformer", "lstm", -0.05, 0.003) == "transformer < lstm, p = 0.003"
    assert stats.verdict("a", "b", 0.01, 0.4).startswith("no detectable difference")
    assert stats.verdict("a", "b", 0.2, 1 / 1001) == "a > b, p < 0.001"  # the bootstrap's floor, no false digits
    assert stats.format_p(0.0004) == "< 0.001" and stats.format_p(0.001) == "0.001"


def test_f1_macro_interval_is_not_a_point_at_a_perfect_score():
    refs = [i % 2 for i in range(300)]
    lo, hi = stats.f1_macro_ci(refs, refs)
    assert stats.bootstrap_ci(stats.f1_macro, refs, refs) == [1.0, 1.0]  # what the bootstrap alone says
    assert hi == 1.0 and 0.98 < lo < 0.995  # close to Wilson's [0.987, 1] for accuracy at 300/300
    wrong = [1 - r for r in refs]
    assert stats.f1_macro_ci(wrong, refs)[0] == 0.0 and 0 < stats.f1_macro_ci(wrong, refs)[1] < 0.05
    some = [r if i % 10 else 1 - r for i, r in enumerate(refs)]  # off the boundary: the bootstrap, as before
    assert stats.f1_macro_ci(some, refs, seed=3) == stats.bootstrap_ci(stats.f1_macro, some, refs, seed=3)


def test_holm_matches_the_step_down_procedure():
    raw = [0.01, 0.04, 0.03, 0.005, float("nan")]
    assert stats.holm(raw)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])  # 4·0.005, 3·0.01, 2·0.03, max(·, 0.04)
    assert np.isnan(stats.holm(raw)[4]) and stats.holm([0.5, 0.9]) == [1.0, 1.0]
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    assert stats.holm(raw[:4]) == pytest.approx(list(multitest.multipletests(raw[:4], method="holm")[1]))


def test_seed_bootstrap_pairs_seed_by_seed():
    rng = np.random.default_rng(0)
    refs = rng.integers(0, 2, 400)
    entry = metrics.get("accuracy")
    good = [entry.rows(np.where(rng.random(400) < 0.9, refs, 1 - refs), refs) for _ in range(3)]
    bad = [entry.rows(np.where(rng.random(400) < 0.7, refs, 1 - refs), refs) for _ in range(3)]
    out = stats.seed_bootstrap(entry.rescore, good, bad, n_boot=300)
    assert 0.15 < out["delta"] < 0.25 and out["ci95"][0] > 0 and out["p"] < 0.01
    same = stats.seed_bootstrap(entry.rescore, good, good, n_boot=300)
    assert same["delta"] == 0 and same["p"] == 1.0


@pytest.fixture(scope="module")
def mt_files(tmp_path_factory):
    rng = random.Random(1)
    words = "the cat sat on a mat dog ran in park with big red ball".split()
    refs, a, b = [], [], []
    for _ in range(60):
        s = [rng.choice(words) for _ in range(rng.randint(4, 10))]
        refs.append(" ".join(s))
        a.append(" ".join(w if rng.random() > 0.2 else rng.choice(words) for w in s))
        b.append(" ".join(w if rng.random() > 0.35 else rng.choice(words) for w in s))
    d = tmp_path_factory.mktemp("mt")
    for name, lines in (("ref", refs), ("a", a), ("b", b)):
        (d / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return d, refs, a, b


def _cli(d, *args) -> str:
    cmd = [sys.executable, "-m", "sacrebleu", str(d / "ref.txt"), "-i", *args, "-w", "4"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def test_paired_ar_matches_sacrebleu_cli(mt_files):
    d, refs, a, b = mt_files
    out = json.loads(_cli(d, str(d / "b.txt"), str(d / "a.txt"), "-m", "bleu", "chrf", "--paired-ar",
                          "--paired-ar-n", "2000", "-f", "json"))
    for name, key in (("bleu", "BLEU"), ("chrf", "chrF2")):
        mine = stats.sacrebleu_paired(name, a, b, refs, test="ar", n_samples=2000)
        assert mine["p"] == pytest.approx(out[1][key]["p_value"])
        assert mine["delta"] == pytest.approx(out[1][key]["score"] - out[0][key]["score"])
        assert mine["ci95"][0] < mine["delta"] < mine["ci95"][1]


def test_paired_bs_and_confidence_match_sacrebleu_cli(mt_files):
    d, refs, a, b = mt_files
    text = _cli(d, str(d / "b.txt"), str(d / "a.txt"), "-m", "bleu", "--paired-bs", "-f", "text")
    assert stats.sacrebleu_paired("bleu", a, b, refs, test="bs")["p"] == pytest.approx(
        float(re.search(r"p = ([\d.]+)", text).group(1)), abs=5e-5)
    conf = json.loads(_cli(d, str(d / "a.txt"), "-m", "bleu", "--confidence", "-f", "json"))
    mine = stats.sacrebleu_ci("bleu", a, refs)
    mean, half = conf["confidence_mean"], conf["confidence_var"]
    assert mine["ci95"] == pytest.approx([mean - half, mean + half], abs=0.06)  # CLI rounds to 4 decimals
    assert "bs:1000" in mine["signature"] and mine["score"] == pytest.approx(conf["score"], abs=1e-4)


def test_mcnemar_worse_is_the_one_sided_mid_p():
    # 5 worse, 0 better: P(X > 5) + P(X = 5)/2 with X ~ Bin(5, 1/2) = 1/64
    assert stats.mcnemar_worse([True] * 5, [False] * 5)["p"] == pytest.approx(1 / 64)
    assert stats.mcnemar_worse([False] * 5, [True] * 5)["p"] == pytest.approx(1 - 1 / 64)
    assert stats.mcnemar_worse([True] * 3, [True] * 3)["p"] == 1.0


def test_paired_worse_is_one_sided_and_its_interval_holds_the_change():
    acc = metrics.get("accuracy")
    refs = np.arange(200) % 2
    base = refs.copy()
    worse = refs.copy()
    worse[:20] = 1 - worse[:20]  # 20 examples turned wrong
    rows_b, rows_w = acc.rows(base, refs), acc.rows(worse, refs)
    down = stats.paired_worse(acc.rescore, rows_b, rows_w)
    assert down["delta"] == pytest.approx(-0.1) and down["p"] < 0.01 and down["ci"][1] < 0
    up = stats.paired_worse(acc.rescore, rows_w, rows_b)  # the other way round: better, not worse
    assert up["p"] > 0.99
    assert stats.paired_worse(acc.rescore, rows_b, rows_b)["p"] == 1.0
    assert stats.paired_worse(acc.rescore, rows_b, rows_w, higher_is_better=False)["p"] > 0.99
