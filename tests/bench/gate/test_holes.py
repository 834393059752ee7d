"""No silent pass: one test per way the gate used to say "OK" (or compare nothing) when it should not."""
from __future__ import annotations

import argparse
import json
import math

import pytest

import nlpbench
from nlpbench.cli import main as cli
from nlpbench.errors import BadInput
from nlpbench.gate import compare as cmp
from tests.bench.gate.test_compare import MACHINE, baseline_records, edited, perf, quality, write_run

LSTM = "quality/classification/lstm/test"
MT = "quality/translation/gru/test"
PERF = "perf/lstm/forward/fp32/b8/s128"
OTHER = MACHINE | {"device_name": "Other CPU", "cpu_model": "Other CPU", "threads": 8}


def args(base, new, *tolerances, **kw) -> argparse.Namespace:
    return argparse.Namespace(baseline=base, new=new, tolerance=list(tolerances), all=False,
                              **{"allow_missing": False, "force": False, **kw})


def setting(path: str, value):
    """An edit that sets a dotted field of a record."""
    def edit(rec):
        *head, last = path.split(".")
        target = rec
        for key in head:
            target = target[key]
        target[last] = value
        return rec
    return edit


@pytest.fixture
def base(tmp_path):
    return write_run(tmp_path, "base", baseline_records())


@pytest.mark.parametrize(("cell", "path", "value"), [
    (LSTM, "metrics.accuracy", math.nan), (MT, "metrics.bleu", math.nan), (MT, "metrics.chrf", math.inf),
    (PERF, "latency_ms.p50", math.nan), (PERF, "throughput.samples_per_s", math.nan)])
def test_a_non_finite_new_value_is_a_regression(tmp_path, base, cell, path, value, capsys):
    new = write_run(tmp_path, "new", edited(baseline_records(), **{cell: setting(path, value)}))
    assert cmp.main(args(base, new)) == 1
    out = capsys.readouterr().out
    assert "FAIL: 1 regression(s)" in out and f"{cell} " in out.split("FAIL")[1]
    # a NaN p50 says the measurement broke, not the machine: a regression on another machine too
    other = write_run(tmp_path, "other", edited(baseline_records(), **{cell: setting(path, value)}), machine=OTHER)
    assert not cmp.compare(base, other).ok


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_tolerance_is_bad_input(tmp_path, base, value, capsys):
    worse = write_run(tmp_path, "worse", edited(baseline_records(), **{LSTM: setting("metrics.accuracy", 0.30)}))
    assert cli(["compare", str(base), str(worse), "--tolerance", f"accuracy={value}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "accuracy must be a finite number" in err[0]
    with pytest.raises(BadInput, match="finite"):
        nlpbench.compare(base, worse, accuracy=float(value))


@pytest.mark.parametrize("status", ["error", "oom", "timeout", "skipped", "unsupported", "diverged"])
@pytest.mark.parametrize("machine", [MACHINE, OTHER])
def test_any_change_from_ok_to_another_status_is_a_regression_naming_it(tmp_path, base, status, machine):
    def broke(rec):
        return {k: rec[k] for k in ("cell", "kind", "model", "name")} | {"status": status, "error": "it broke"}
    new = write_run(tmp_path, "new", edited(baseline_records(), **{PERF: broke, LSTM: broke}), machine=machine)
    result = cmp.compare(base, new)
    assert result.exit_code == 1
    assert f"{PERF} status ok -> {status} (it broke)" in result.regressions
    assert f"{LSTM} status ok -> {status} (it broke)" in result.regressions


def test_one_failure_for_another_is_a_warning_and_a_recovery_an_improvement(tmp_path):
    failed = edited(baseline_records(), **{PERF: setting("status", "error")})
    base = write_run(tmp_path, "b", failed)
    assert cmp.compare(base, write_run(tmp_path, "n", edited(failed, **{PERF: setting("status", "oom")}))).ok
    back = cmp.compare(base, write_run(tmp_path, "ok", baseline_records()))
    assert back.ok and (PERF, "error", "ok", "improved") in back.status_changes


@pytest.mark.parametrize("allow_missing", [False, True])
def test_nothing_compared_is_bad_input(tmp_path, base, allow_missing, capsys):
    other = write_run(tmp_path, "other", [perf("elsewhere", 10.0, 0.2)])
    with pytest.raises(BadInput, match="nothing compared"):
        cmp.main(args(base, other, allow_missing=allow_missing))
    flag = ["--allow-missing"] if allow_missing else []
    assert cli(["compare", str(base), str(other), *flag]) == 2
    assert "nothing compared" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "text"), [
    ("empty.json", ""), ("no-records.json", '{"format": "nlpbench-baseline/1", "records": []}'),
    ("junk-records.json", '{"format": "nlpbench-baseline/1", "records": [1, "x", {"cell": 3}]}'),
    ("other-format.json", '{"format": "asv/2", "records": [{"cell": "a", "kind": "perf"}]}'),
    ("list.json", "[]")])
def test_an_empty_or_invalid_baseline_is_bad_input(tmp_path, base, name, text, capsys):
    (tmp_path / name).write_text(text)
    assert cli(["compare", str(tmp_path / name), str(base)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]


def test_an_empty_run_folder_is_bad_input(tmp_path, base):
    empty = write_run(tmp_path, "empty", [])
    for a, b in ((empty, base), (base, empty)):
        with pytest.raises(BadInput, match="holds no records"):
            cmp.main(args(a, b))


def test_another_suite_is_a_regression_naming_both_unless_forced(tmp_path, base):
    renamed = [r | {"suite": "sst2"} for r in baseline_records()]
    new = write_run(tmp_path, "new", renamed)
    result = cmp.compare(base, new)
    assert not result.ok and any("baseline 'quick', new 'sst2'" in r for r in result.regressions)
    assert not [d for d in result.deltas if d.cell == LSTM]  # cells of other suites are not compared
    forced = cmp.compare(base, new, force=True)
    assert forced.ok and any("'quick'" in w and "'sst2'" in w for w in forced.warnings)
    assert nlpbench.compare(base, new, force=True).ok and not nlpbench.compare(base, new).ok


def test_other_data_or_another_n_eval_is_a_regression_naming_both_sides_unless_forced(tmp_path, base, capsys):
    new = write_run(tmp_path, "new", edited(baseline_records(), **{
        LSTM: setting("data_sha256", "ff" * 32), MT: setting("n_eval", 150)}))
    assert cmp.main(args(base, new)) == 1
    out = capsys.readouterr().out
    assert f"{LSTM}: measured other data (data_sha256 a1a1a1a1a1a1 -> ffffffffffff)" in out
    assert f"{MT}: measured other data (n_eval 200 -> 150)" in out
    assert cmp.main(args(base, new, force=True)) == 0
    assert "compared anyway: --force" in capsys.readouterr().out


def test_a_record_without_data_sha256_is_a_warning_not_a_regression(tmp_path, base):
    def older(rec):
        rec.pop("data_sha256")
        return rec
    result = cmp.compare(base, write_run(tmp_path, "old", edited(baseline_records(), **{LSTM: older})))
    assert result.ok and any(f"1 quality cell(s) without data_sha256" in w and LSTM in w for w in result.warnings)


def cost(rec, activations=3.0, kind="cpu_allocated", flops=2.0e9):
    return rec | {"n_params": 120000, "flops": flops, "weights_mb": 0.46, "state_mb": 0.0,
                  "activations_mb": activations, "memory_kind": kind}


def test_activations_are_gated_and_a_changed_memory_kind_is_reported(tmp_path):
    base = write_run(tmp_path, "b", [cost(perf("lstm", 10.0, 0.2))])
    grew = write_run(tmp_path, "grew", [cost(perf("lstm", 10.0, 0.2), activations=3.5)])  # +17%
    result = cmp.compare(base, grew)
    assert [d.metric for d in result.deltas if d.verdict == "regression"] == ["activations_mb"]
    kind = write_run(tmp_path, "kind", [cost(perf("lstm", 10.0, 0.2), activations=9.0, kind="cpu_rss")])
    result = cmp.compare(base, kind)
    assert result.ok and any(f"{PERF}: memory_kind cpu_allocated -> cpu_rss" in w for w in result.warnings)
    assert not [d for d in result.deltas if d.metric == "activations_mb"]  # other kinds of figure: not compared


def test_zero_tolerances_are_exact_as_make_regress_runs_them(tmp_path, base):
    zero = cmp.parse_tolerances(["accuracy=0", "f1_macro=0", "bleu=0", "chrf=0"])
    same = cmp.compare(base, write_run(tmp_path, "same", baseline_records()), zero)
    assert same.ok and {d.tolerance for d in same.deltas if d.metric == "accuracy"} == {"exact"}
    tiny = edited(baseline_records(), **{MT: setting("metrics.chrf", 40.0 - 1e-6)})  # within the interval
    assert cmp.compare(base, write_run(tmp_path, "tiny", tiny)).ok
    assert cmp.compare(base, write_run(tmp_path, "tiny2", tiny), zero).regressions == [f"{MT} chrf"]
