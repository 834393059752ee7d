"""Noise that means something: the machine's drift from a fixed probe kernel, cells flagged only when noisier
than it (each with its reason), and adaptive rounds (precise | budget | cap). Fake kernels and clocks: no
timing is asserted."""

import math

import pytest

from nlpbench.launch.cells import sweep
from nlpbench.perf.noise import DriftProbe, flag, noise_fields, rejudge, spread
from nlpbench.perf.rounds import MIN_SETTLE_SAMPLES, half_width, stop_reason
from nlpbench.perf.trackers import Latency


def _probe(tick_ms: list[float]) -> DriftProbe:
    """A DriftProbe whose kernel 'takes' the next of `tick_ms` per call on a fake clock (1 rep per tick)."""
    clock, times = [0.0], iter(tick_ms)

    def kernel():
        clock[0] += next(times) / 1e3

    return DriftProbe(reps=1, kernel=kernel, clock=lambda: clock[0])


def test_drift_is_the_spread_of_the_probe_ticks_and_its_line_says_what_it_means():
    probe = _probe([10.0, 10.0, 12.0, 9.0, 10.0])
    for _ in range(5):
        probe.tick()
    s = probe.summary()
    assert s["ticks"] == 5 and s["tick_ms"] == pytest.approx([10.0, 10.0, 12.0, 9.0, 10.0])
    assert s["drift"] == pytest.approx(spread([10, 10, 12, 9, 10])) and 0.2 < s["drift"] < 0.3
    assert s["plus_minus"] == pytest.approx(s["drift"] / 2)
    assert "absolute figures here are good to ±" in s["line"] and "compare with `nlpbench ab`" in s["line"]
    assert spread([1.0, 2.0]) is None and "not measured" in _probe([1.0]).summary()["line"]


def test_a_cells_drift_is_the_machines_over_its_own_lifetime():
    probe = _probe([10.0, 10.0, 10.0, 20.0, 10.0, 10.0])
    probe.tick()
    for _ in range(2):
        probe.after_job(["a"])
    drift_a, n_a = probe.drift_for("a")  # asked as its record arrives: ticks 0-2, a steady machine
    assert drift_a == pytest.approx(0.0, abs=1e-9) and n_a == 3
    for _ in range(3):
        probe.after_job(["b"])
    drift_b, n_b = probe.drift_for("b")  # ticks 2-5: one of them twice as slow
    assert drift_b > 0.5 and n_b == 4
    assert _probe([10.0, 10.0]).drift_for("x") == (None, 0)  # nothing measured yet


def _lat(rel_spread: float, n: int = 10) -> Latency:
    return Latency.from_samples([100 * (1 + rel_spread * (i / (n - 1) - 0.5)) for i in range(n)])


def test_a_cell_is_noisy_only_when_noisier_than_the_machine_and_says_why():
    wide = noise_fields(_lat(0.5))  # its median's interval spans ~39% of it
    assert wide["noisy"] and "10% bar" in wide["noisy_reason"] and "no machine drift" in wide["noisy_reason"]
    judged = flag(wide["noise"], drift=0.6, ticks=20)  # the machine drifted more than that over the cell
    assert not judged["noisy"] and judged["noisy_reason"] is None and "machine's drift" in judged["noise"]["why_not"]
    judged = flag(wide["noise"], drift=0.2, ticks=20)
    assert judged["noisy"] and "machine's own drift over it (20%)" in judged["noisy_reason"]
    assert judged["noise"]["bar"] == 0.2 and judged["noise"]["machine_ticks"] == 20
    tight = noise_fields(_lat(0.02))
    assert not tight["noisy"] and "10% bar" in tight["noise"]["why_not"]
    odd = noise_fields(_lat(0.02), _lat(0.02), inconsistent=True)
    assert odd["noisy"] and "1-token loop" in odd["noisy_reason"]


def test_rejudge_uses_the_probe_and_leaves_failed_records_alone():
    probe = _probe([10.0, 15.0, 8.0, 12.0])
    probe.tick()
    for _ in range(3):
        probe.after_job(["c"])
    rec = {"cell": "c", "status": "ok", **noise_fields(_lat(0.5))}
    out = rejudge(rec, probe)
    assert out["noise"]["machine_drift"] == pytest.approx(probe.drift_for("c")[0])
    assert out["noise"]["machine_ticks"] == 4
    failed = {"cell": "c", "status": "oom"}
    assert rejudge(failed, probe) is failed and rejudge(rec, None) is rec


def test_stop_reason_precise_budget_and_cap():
    steady, ragged = [10.0 + 0.01 * i for i in range(12)], [10.0 * (1 + (i % 5) / 4) for i in range(12)]
    assert half_width(steady) < 0.01 and half_width(ragged) > 0.1 and math.isinf(half_width([]))
    assert stop_reason(steady, 1, 3, 5.0, 0.025, None) is None  # one stretch of the machine: not yet
    assert stop_reason(steady, 2, 3, 5.0, 0.025, None) == "precise"  # known to ±2.5% after 2 of 3 rounds
    assert stop_reason(steady[: MIN_SETTLE_SAMPLES - 1], 2, 3, 5.0, 0.025, None) is None  # too few for a 95% interval
    assert stop_reason(ragged, 2, 3, 5.0, 0.025, None) is None
    assert stop_reason(ragged, 3, 3, 5.0, 0.025, None) == "budget"  # no cap: today's budget is the most it gets
    assert stop_reason(ragged, 3, 3, 5.0, None, 60.0) == "budget"  # no precision asked: fixed rounds
    assert stop_reason(ragged, 3, 3, 5.0, 0.025, 60.0) is None  # a cap: more rounds
    assert stop_reason(ragged, 5, 3, 61.0, 0.025, 60.0) == "cap"
    assert stop_reason(ragged, 12, 3, 5.0, 0.025, 60.0) == "cap"  # MAX_ROUNDS


def test_adaptive_rounds_stop_early_or_extend_to_the_cap_in_a_sweep(make_spec, monkeypatch):
    from nlpbench.perf import rounds

    spec = make_spec(min_iters=12, min_seconds=0.0, warmup=1)  # 4 samples a round: 8 after two
    loose, strict, fixed = [], [], []
    with monkeypatch.context() as m:
        m.setattr(rounds, "half_width", lambda samples: 0.0)  # a median known exactly (a busy machine can't)
        sweep([spec], "inline", loose.append, progress=False, rounds=3, precision=0.025)
    sweep([spec], "inline", fixed.append, progress=False, rounds=3)
    sweep([spec], "inline", strict.append, progress=False, rounds=3, precision=1e-12, max_seconds=1e-9)
    assert loose[0]["rounds"] == 2 and loose[0]["sampling"]["stopped"] == "precise"
    assert fixed[0]["rounds"] == 3 and fixed[0]["sampling"]["stopped"] == "budget"
    assert strict[0]["sampling"]["stopped"] == "cap" and strict[0]["rounds"] == 3  # already past a tiny cap
    assert all(r["status"] == "ok" and "noisy_reason" in r and "p50_ci95_ms" in r["noise"] for r in loose + fixed)


def test_an_imprecise_cell_gets_extra_rounds_up_to_its_cap(make_spec, monkeypatch):
    from nlpbench.perf import rounds

    monkeypatch.setattr(rounds, "half_width", lambda samples: 1.0)  # never precise
    spec = make_spec(min_iters=3, min_seconds=0.0, warmup=1)
    out = []
    sweep([spec], "inline", out.append, progress=False, rounds=3, precision=0.025, max_seconds=1e6)
    assert out[0]["rounds"] == rounds.MAX_ROUNDS and out[0]["sampling"]["stopped"] == "cap"


def test_a_drift_probe_ticks_after_every_round_and_judges_each_record(make_spec):
    specs = [make_spec(batch_size=b, min_iters=4, min_seconds=0.0, warmup=1) for b in (1, 2)]
    probe = _probe([10.0] * 100)  # a perfectly steady machine
    out = []
    sweep(specs, "inline", out.append, progress=False, rounds=3, drift=probe)
    assert len(probe.ticks) == 1 + 2 * 3  # before the sweep, then after each of the 6 cell rounds
    assert all(r["noise"]["machine_drift"] == pytest.approx(0.0, abs=1e-9) and r["noise"]["bar"] == 0.1 for r in out)
