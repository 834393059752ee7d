"""Pairwise tables and `compare RUN --models A B`, on run folders written by hand (no training)."""
import json
import random

import numpy as np
import pandas as pd
import pytest

from nlpbench.cli import main
from nlpbench.metrics import stats
from nlpbench.quality import predictions
from nlpbench.report import pairwise
from nlpbench.report.write import write_report
from nlpbench.store.results import read_records


def _write_run(tmp_path, cells: dict) -> object:
    """cells: (task, model, seed or None) -> (preds, refs, inputs)."""
    rd = tmp_path / "run"
    rd.mkdir()
    with open(rd / "records.jsonl", "w") as f:
        for (task, model, seed), (preds, refs) in cells.items():
            cell = f"quality/{task}/{model}/test" + ("" if seed is None else f"/seed{seed}")
            lines = [{"id": i, "input": f"x{i}", "prediction": p, "reference": r}
                     for i, (p, r) in enumerate(zip(preds, refs))]
            if task == "classification":
                for ln in lines:
                    ln["probs"] = [0.9, 0.1] if ln["prediction"] == 0 else [0.2, 0.8]
            names = ["accuracy", "f1_macro"] if task == "classification" else ["bleu", "chrf"]
            rec = {"cell": cell, "kind": "quality", "task": task, "dataset": "d", "split": "test", "model": model,
                   "name": model, "seed": seed or 0, "status": "ok", "metrics": {n: 0.0 for n in names},
                   "predictions": predictions.write(rd, cell, lines)}
            f.write(json.dumps(rec) + "\n")
    return rd


def _labels(n, acc, seed):
    rng = random.Random(seed)
    refs = [rng.randint(0, 1) for _ in range(n)]
    return [r if rng.random() < acc else 1 - r for r in refs], refs


def test_a_real_gap_is_called_and_matches_mcnemar(tmp_path):
    good, refs = _labels(300, 0.95, 1)
    bad, _ = _labels(300, 0.75, 1)
    rd = _write_run(tmp_path, {("classification", "lstm", None): (good, refs),
                               ("classification", "bow", None): (bad, refs)})
    (table,) = pairwise.tables(rd, read_records(rd))
    acc = table.frame.query("metric == 'accuracy'").iloc[0]
    want = stats.mcnemar_exact(np.array(good) == refs, np.array(bad) == refs)["p"]
    assert acc["p"] == stats._p(want) and want < 0.001
    assert acc["verdict"] == "lstm > bow, p < 0.001" and acc["delta_lo"] > 0  # Holm over 2 tests: still < 0.001
    assert acc["p_holm"] == "< 0.001" and "seed" not in table.frame
    path = write_report([rd])
    text = path.read_text()
    assert "## Pairwise: classification, d, test" in text and "lstm > bow" in text
    assert (rd / "pairwise_classification_test.csv").exists()


def test_identical_models_show_no_difference_seed_by_seed(tmp_path):
    preds, refs = _labels(100, 0.8, 2)
    other, _ = _labels(100, 0.8, 3)
    cells = {("classification", "a", s): (preds, refs) for s in (0, 1)}
    cells |= {("classification", "b", s): (p, refs) for s, p in ((0, preds), (1, other))}
    rd = _write_run(tmp_path, cells)
    (table,) = pairwise.tables(rd, read_records(rd))
    acc = table.frame.query("metric == 'accuracy'")
    assert list(acc["seed"]) == ["all 2", "0", "1", "ensemble"]
    head = acc.iloc[0]
    assert head["test"] == "two-level bootstrap (seeds, then examples)"
    assert head["verdict"].startswith("no detectable difference")
    assert acc.iloc[1]["delta"] == 0 and acc.iloc[1]["p"] == "1.000"  # seed 0: the same predictions
    assert acc.iloc[1:]["verdict"].isna().all() and acc.iloc[1:]["p_holm"].isna().all()  # descriptive rows
    assert "ensemble" in acc.iloc[3]["test"]


def test_translation_uses_sacrebleu_paired_bootstrap(tmp_path):
    rng = random.Random(0)
    words = "a cat sat on the mat and a dog ran".split()
    refs = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(80)]
    good = [r if rng.random() < 0.9 else "the the the" for r in refs]
    bad = [r if rng.random() < 0.4 else "the the the" for r in refs]
    rd = _write_run(tmp_path, {("translation", "s2s", None): (good, refs), ("translation", "tf", None): (bad, refs)})
    (table,) = pairwise.tables(rd, read_records(rd))
    bleu = table.frame.query("metric == 'bleu'").iloc[0]
    want = stats.sacrebleu_paired("bleu", good, bad, refs)
    assert bleu["delta"] == pytest.approx(want["delta"]) and bleu["p"] == stats._p(want["p"])
    assert bleu["verdict"].startswith("s2s > tf") and bleu["test"] == "sacreBLEU paired bootstrap"


def test_compare_models_prints_the_pair_and_rejects_unknown_names(tmp_path, capsys):
    good, refs = _labels(200, 0.9, 4)
    bad, _ = _labels(200, 0.6, 4)
    rd = _write_run(tmp_path, {("classification", "lstm", None): (good, refs),
                               ("classification", "bert", None): (bad, refs)})
    assert main(["compare", str(rd), "--models", "bert", "lstm"]) == 0
    out = capsys.readouterr().out
    assert "Pairwise: classification, d, test" in out and "bert < lstm, p " in out
    assert main(["compare", str(rd), "--models", "bert", "lstn"]) == 2
    assert "lstn" in capsys.readouterr().err
    assert main(["compare", str(rd)]) == 2


def _constructed_seeds(n: int = 1000) -> tuple[dict, list[int]]:
    """A is worse than B on every seed (0.80, 0.79, 0.78 vs 0.84), yet A's seeds err on different examples,
    so the ensemble of A (seed-averaged probabilities) is perfect and beats B's."""
    refs = [i % 2 for i in range(n)]
    flip = lambda wrong: [1 - r if i in wrong else r for i, r in enumerate(refs)]  # noqa: E731
    shared = set(range(160))  # B's errors, the same on every seed
    cells = {}
    start = 160
    for s, extra in enumerate((147, 157, 167)):  # A: a third of B's errors plus its own, disjoint across seeds
        third = set(range(s * 53, s * 53 + 53))
        cells[("classification", "A", s)] = (flip(third | set(range(start, start + extra))), refs)
        start += extra
    cells |= {("classification", "B", s): (flip(shared), refs) for s in range(3)}  # A first: the table's A
    return cells, refs


def test_a_model_worse_on_every_seed_is_called_worse_though_its_ensemble_wins(tmp_path):
    cells, refs = _constructed_seeds()
    per_seed = [np.mean(np.array(cells[("classification", "A", s)][0]) == refs) for s in range(3)]
    assert per_seed == pytest.approx([0.80, 0.79, 0.78])
    rd = _write_run(tmp_path, cells)
    (table,) = pairwise.tables(rd, read_records(rd))
    acc = table.frame.query("metric == 'accuracy'").set_index("seed")
    assert acc.loc["all 3", "verdict"].startswith("A < B, p ")  # the verdict over seeds, Holm-adjusted
    assert acc.loc["all 3", "delta"] == pytest.approx(-0.05) and acc.loc["all 3", "delta_hi"] < 0
    for s in ("0", "1", "2"):  # each seed visible with its own McNemar test
        assert acc.loc[s, "delta"] < 0 and acc.loc[s, "test"] == "McNemar exact"
        assert acc.loc[s, "p"] == "< 0.001" or float(acc.loc[s, "p"]) < 0.05
        assert pd.isna(acc.loc[s, "verdict"])
    ens = acc.loc["ensemble"]  # the old answer, shown only as a labelled row, with no verdict
    assert ens["a"] == 1.0 and ens["delta"] > 0 and "ensemble" in ens["test"] and pd.isna(ens["verdict"])


def test_holm_adjusts_within_the_table_and_verdicts_follow_it():
    rows = [{"model_a": "x", "model_b": "y", "metric": m, "delta": 0.02, "p": p, "family": True}
            for m, p in (("accuracy", 0.03), ("f1_macro", 0.04))]
    rows.append({"model_a": "x", "model_b": "y", "metric": "accuracy", "seed": "0", "delta": 0.02, "p": 0.001})
    out = pairwise.with_verdicts(rows)
    assert [r.get("p_holm") for r in out] == ["0.060", "0.060", None]  # 2·0.03, then max(0.06, 1·0.04)
    assert [r["p"] for r in out] == ["0.030", "0.040", "0.001"]
    assert all(r["verdict"].startswith("no detectable difference") for r in out[:2]) and "verdict" not in out[2]


def test_cost_columns_come_from_n_params_and_the_perf_records(tmp_path):
    good, refs = _labels(60, 0.9, 5)
    rd = _write_run(tmp_path, {("classification", "big", None): (good, refs),
                               ("classification", "small", None): (good, refs)})
    recs = read_records(rd)
    for r in recs:
        r["n_params"] = 2_590_000 if r["name"] == "big" else 74_600
    for name, p50s in (("big", (4.0, 9.0)), ("small", (1.0, 1.0))):
        recs += [{"cell": f"perf/{name}/forward/fp32/b8/s{seq}", "kind": "perf", "name": name, "model": name,
                  "mode": "forward", "dtype": "fp32", "batch_size": 8, "seq_len": seq, "status": "ok",
                  "latency_ms": {"p50": p50}} for seq, p50 in zip((32, 128), p50s)]
    (table,) = pairwise.tables(rd, recs)
    row = table.frame.iloc[0]
    assert (row["params_a"], row["params_b"]) == (2_590_000, 74_600)
    assert row["p50_ratio"] == pytest.approx(6.0)  # geometric mean of 4/1 and 9/1
    from nlpbench.report.tables import display

    shown = display(table).iloc[0]
    assert (shown["params A"], shown["params B"], shown["p50 A/B"]) == ("2.59M", "74.6k", "6.00×")
    (plain,) = pairwise.tables(rd, read_records(rd))  # no perf records: no ratio column
    assert "p50_ratio" not in plain.frame


def test_translation_with_seeds_pairs_seed_by_seed_without_an_ensemble(tmp_path):
    rng = random.Random(1)
    words = "a cat sat on the mat and a dog ran".split()
    refs = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(60)]
    cells = {("translation", m, s): ([r if rng.random() < keep else "the the" for r in refs], refs)
             for m, keep in (("s2s", 0.9), ("tf", 0.3)) for s in (0, 1)}
    rd = _write_run(tmp_path, cells)
    (table,) = pairwise.tables(rd, read_records(rd))
    bleu = table.frame.query("metric == 'bleu'")
    assert list(bleu["seed"]) == ["all 2", "0", "1"]
    assert bleu.iloc[0]["verdict"].startswith("s2s > tf") and bleu.iloc[0]["delta_lo"] > 0
    assert bleu.iloc[1]["test"] == "sacreBLEU paired bootstrap"
