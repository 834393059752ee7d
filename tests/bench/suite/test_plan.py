"""The plan and its time estimate, stated before anything runs (issue 33 item 8): `validate` prints it, `run`
logs it first and keeps it in run.json; a 10,000-cell perf grid is a warning line, an absurd one exit 2
unless `--allow-large`. Before: validate said nothing of a 10,000-cell grid's cost."""
from __future__ import annotations

import logging

import pytest

import nlpbench
from nlpbench.cli import main
from nlpbench.suite import plan as plan_module
from nlpbench.suite.plan import duration, make_plan
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite


def perf(batches: int, seqs: int, **more) -> dict:
    return {"batch_sizes": list(range(1, batches + 1)), "seq_lens": list(range(1, seqs + 1)), "min_seconds": 0.1,
            "rounds": 1, **more}


def data_of(suite):
    from nlpbench.data import load_all_data

    return load_all_data(suite, None)


def test_counts_and_estimate_of_a_small_suite():
    suite = validate(tiny_suite(seeds=[0, 1], perf=perf(2, 3, dtype=["fp32", "bf16"]), variants=["fp32", "bf16"]))
    plan = make_plan(suite, data_of(suite))
    assert (plan.units, plan.perf_cells, plan.variant_cells, plan.serve_cells) == (4, 2 * 2 * 3 * 2, 4, 0)
    assert plan.trials is None
    # dummy at its measured rate: 200 examples x 1 epoch per unit; perf: 24 cells x (1 x 0.1 s + 1 s setup)
    assert plan.seconds["training"] == pytest.approx(4 * 200 / plan_module.RATES[("dummy", "classification")])
    assert plan.seconds["perf"] == pytest.approx(24 * 1.1)
    first, estimate = plan.lines()
    assert first == "plan: 4 training unit(s), 24 perf cell(s), 4 variant cell(s), 0 serve cell(s)"
    assert estimate.startswith("estimate: about ") and "an estimate from the suite's budgets" in estimate


def test_max_minutes_caps_a_unit_and_an_unmeasured_adapter_is_said_so():
    suite = validate(tiny_suite(tasks=[{**tiny_suite()["tasks"][0], "models": [
        {"adapter": "dummy", "train": {"epochs": 1000, "max_minutes": 2}}]}]))  # fmt: skip
    assert make_plan(suite, data_of(suite)).seconds["training"] == pytest.approx(
        min(2 * 60, 1000 * 200 / plan_module.RATES[("dummy", "classification")]))
    plan_module.RATES.pop(("dummy", "classification"))
    try:
        assert "dummy assumed at 100/s" in make_plan(suite, data_of(suite)).lines()[1]
    finally:
        plan_module.RATES[("dummy", "classification")] = 20000


def test_a_tune_stage_hooks_its_trials(monkeypatch):
    monkeypatch.setattr(plan_module, "TRIALS", [lambda suite: 12])
    suite = validate(tiny_suite())
    assert "12 tune unit(s)" in make_plan(suite, data_of(suite)).lines()[0]


def test_the_plan_counts_a_tune_sections_units():
    """quick-tune: trials of every (model, space), each model's untuned config, the confirmation reruns."""
    from nlpbench.suite.schema import read_suite
    from nlpbench.tune.study import plan_line, unit_count

    suite = validate(read_suite("quick-tune"))
    n = unit_count(suite)
    counts = [int(w) for w in plan_line(suite).replace(",", "").split() if w.isdigit()]
    assert n == sum(counts[1:]) > 0  # trial + untuned + confirmation units, as validate's tune line says
    assert f"{n} tune unit(s)" in make_plan(suite, data_of(suite)).lines()[0]


def test_validate_warns_of_a_10000_cell_grid(write_suite, capsys):
    assert main(["validate", str(write_suite(tiny_suite(perf=perf(100, 50))))]) == 0
    out = capsys.readouterr().out
    assert "10000 perf cell(s)" in out
    assert "warning: 10,000 perf cells take at least 3.1 h" in out


def test_an_absurd_grid_is_refused_unless_allowed(write_suite, capsys):
    path = str(write_suite(tiny_suite(perf=perf(500, 250))))
    assert main(["validate", path]) == 2
    assert "plan: perf: 250,000 cells (more than 100,000); if that is really meant, pass --allow-large" in capsys.readouterr().err
    assert main(["validate", path, "--allow-large"]) == 0


def test_run_states_the_plan_first_and_keeps_it(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        run = nlpbench.run(tiny_suite(), out=tmp_path, models="d1", threads=1)
    first = [m for m in caplog.messages if m.startswith(("plan:", "estimate:"))]
    assert first[0] == "plan: 1 training unit(s), 0 perf cell(s), 0 variant cell(s), 0 serve cell(s)"
    assert caplog.messages.index(first[0]) < next(i for i, m in enumerate(caplog.messages) if m.startswith("run folder"))
    assert run.meta["plan"]["units"] == 1 and run.meta["plan"]["estimate_s"] >= 0


def test_run_refuses_an_absurd_grid_before_writing(tmp_path):
    with pytest.raises(nlpbench.BadInput, match="--allow-large"):
        nlpbench.run(tiny_suite(perf=perf(500, 250)), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_durations_read_naturally():
    assert [duration(s) for s in (5, 600, 7200, 4 * 86400)] == ["5 s", "10 min", "2.0 h", "4.0 days"]


def test_the_rates_are_the_committed_baselines_measurements():
    """RATES are typed in; they must be the baseline's measured train examples/s (refresh both together)."""
    import json
    from pathlib import Path

    baseline = Path(__file__).resolve().parents[3] / "results" / "baselines" / "quick-cpu.json"
    if not baseline.is_file():
        pytest.skip("no committed baseline beside this checkout")
    measured = {(r["model"], r["task"]): r["train_examples_per_s"] for r in json.loads(baseline.read_text())["records"]
                if r.get("kind") == "quality" and r.get("split") == "validation"}
    assert measured and all(plan_module.RATES[k] == round(v) for k, v in measured.items()), measured
