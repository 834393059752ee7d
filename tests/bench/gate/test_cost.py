"""Cost in the baseline (`nlpbench baseline --kinds quality,cost`): machine-independent, gated on any machine."""
from __future__ import annotations

import json

import pytest

from nlpbench.cli import main as cli
from nlpbench.gate import compare as cmp
from tests.bench.gate.test_compare import MACHINE, baseline_records, edited, perf, write_run
from tests.bench.gate.test_holes import PERF, cost, setting

OTHER = MACHINE | {"device_name": "Other CPU", "cpu_model": "Other CPU", "threads": 8, "torch": "2.14.0"}


def records() -> list[dict]:
    return [r if r["kind"] != "perf" or r["status"] != "ok" else cost(r) for r in baseline_records()]


@pytest.fixture
def cost_baseline(tmp_path):
    run = write_run(tmp_path, "quick-base", records())
    path = tmp_path / "baselines" / "quick-cpu.json"
    assert cli(["baseline", str(run), str(path), "--kinds", "quality,cost"]) == 0
    return path


def test_a_cost_baseline_keeps_cost_and_no_timings(cost_baseline):
    data = json.loads(cost_baseline.read_text())
    assert data["kinds"] == ["quality", "cost"]
    rec = {r["cell"]: r for r in data["records"]}[PERF]
    assert rec["kind"] == "perf" and rec["flops"] == 2.0e9 and rec["activations_mb"] == 3.0
    assert rec["n_params"] == 120000 and rec["weights_mb"] == 0.46 and rec["memory_kind"] == "cpu_allocated"
    assert not {"latency_ms", "throughput", "peak_memory_mb", "latency_samples_ms", "noisy"} & set(rec)
    assert {r["kind"] for r in data["records"]} == {"quality", "perf"}


def test_flops_up_20_percent_on_another_machine_fails_the_gate(tmp_path, cost_baseline, capsys):
    more = edited(records(), **{PERF: setting("flops", 2.4e9)})
    new = write_run(tmp_path, "new", more, machine=OTHER)
    assert cli(["compare", str(cost_baseline), str(new)]) == 1
    out = capsys.readouterr().out
    assert "different machine" in out and f"{PERF} flops" in out.split("FAIL")[1]
    # the same run's timings, 3x slower on that machine, are no regression: only cost is held across machines
    slow = edited(records(), **{PERF: setting("latency_ms.p50", 30.0)})
    assert cli(["compare", str(cost_baseline), str(write_run(tmp_path, "slow", slow, machine=OTHER))]) == 0


@pytest.mark.parametrize(("field", "value", "ok"), [
    ("n_params", 120001, False), ("weights_mb", 0.50, False), ("activations_mb", 3.1, True),
    ("activations_mb", 3.3, False), ("flops", 2.01e9, True), ("flops", 1.0e9, True)])
def test_each_cost_figure_has_a_tight_tolerance(tmp_path, cost_baseline, field, value, ok):
    new = write_run(tmp_path, "new", edited(records(), **{PERF: setting(field, value)}), machine=OTHER)
    assert cmp.compare(cost_baseline, new).ok is ok


def test_zero_tolerances_make_cost_exact_and_a_lost_figure_fails(tmp_path, cost_baseline):
    new = write_run(tmp_path, "new", edited(records(), **{PERF: setting("activations_mb", 3.0001)}))
    assert cmp.compare(cost_baseline, new).ok
    assert not cmp.compare(cost_baseline, new, {"activations": 0.0}).ok

    def lose(rec):
        rec.pop("flops")
        return rec
    gone = cmp.compare(cost_baseline, write_run(tmp_path, "gone", edited(records(), **{PERF: lose})))
    assert f"{PERF} flops missing in the new record (renamed, or no longer written?)" in gone.regressions


def test_an_old_perf_baseline_loads_and_bad_kinds_are_bad_input(tmp_path, capsys):
    run = write_run(tmp_path, "quick-base", baseline_records())
    old = tmp_path / "old.json"
    assert cli(["baseline", str(run), str(old)]) == 0  # default kinds quality,perf, as before
    assert cli(["compare", str(old), str(run)]) == 0
    assert cli(["baseline", str(run), str(tmp_path / "x.json"), "--kinds", "quality,costs"]) == 2
    assert "allowed quality, perf, cost" in capsys.readouterr().err
