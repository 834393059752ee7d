"""The tune report's tables from hand-made trial records: best of budget, crossings, time to target, configs."""
from __future__ import annotations

import pytest

from nlpbench.tune import report


def trial(model: str, n: int, score: float, study: int, reach_min: float | None = None) -> dict:
    hist = [{"score": score / 2, "minutes": 0.1, "flops": 1e9}, {"score": score, "minutes": reach_min or 0.5, "flops": 4e9}]
    return {"kind": "quality", "tune_role": "trial", "split": "validation", "tune_task": "cls", "space": "s",
            "tune_model": model, "trial": n, "study": study, "model": "dummy", "budget": {"flops": 4e9},
            "tune_params": {"train.lr": 0.1 * (n + 1)}, "fit": {"best_score": score, "history": hist}, "wall_s": 60.0}


RECS = [trial("a", 0, 0.5, 0), trial("a", 1, 0.9, 0), trial("a", 2, 0.6, 1), trial("a", 3, 0.7, 1),
        trial("b", 0, 0.8, 0), trial("b", 1, 0.8, 0), trial("b", 2, 0.75, 1), trial("b", 3, 0.8, 1)]


def test_best_of_budget_is_the_median_of_each_studys_best():
    by_model = report.groups(RECS)[("cls", "s")]
    df = report.best_of_budget(by_model, {"a": 0.55}).set_index("model")
    assert df.loc["a", "median_best"] == pytest.approx(0.8)  # studies' bests: 0.9 and 0.7
    assert (df.loc["a", "iqr_lo"], df.loc["a", "iqr_hi"]) == pytest.approx((0.75, 0.85))
    assert df.loc["a", "untuned"] == 0.55 and df.loc["b", "best"] == 0.8


def test_crossing_rows_carry_p_and_the_budget_spent():
    df = report.crossing_frame(report.groups(RECS)[("cls", "s")])
    # a: mean 0.675 < b's 0.7875 at n = 1; at n = 4, a's best 0.9 > b's 0.8: the curves cross in between
    assert df["curves_cross_here"].any() and set(df["n"]) >= {1, 4}
    last = df[df["n"] == 4].iloc[0]
    assert last["p_a_beats_b"] == 1.0 and last["budget_flops"] == 4 * 4e9


def test_time_to_target_takes_each_studys_fastest_trial():
    recs = [trial("a", 0, 0.9, 0, reach_min=2.0), trial("a", 1, 0.9, 0, reach_min=1.0), trial("a", 2, 0.5, 1)]
    df = report.time_to_target(report.groups(recs)[("cls", "s")], target=0.85)
    row = df.iloc[0]
    assert row["studies_reached"] == "1/2" and row["median_minutes"] == 1.0 and row["median_gflops"] == 4.0


def test_chosen_config_is_the_suite_entry_with_the_best_trials_keys():
    configs = report.chosen_configs(RECS, {("cls", "a"): {"adapter": "dummy", "name": "a", "train": {"epochs": 1}}})
    assert configs["cls/s/a"]["train"] == {"epochs": 1, "lr": pytest.approx(0.2)} and configs["cls/s/a"]["_trial"] == 1
