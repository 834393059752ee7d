"""The regression gate: planted regressions are caught, noise and other machines are not failures."""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import pytest

from nlpbench.errors import BadInput
from nlpbench.gate import compare as cmp

MACHINE = {"hostname": "ci-1", "device_name": "Fake CPU 3000", "cpu_model": "Fake CPU 3000", "threads": 2,
           "cuda": None, "torch": "2.13.0"}
SHA_TEST, SHA_MT = "a1" * 32, "b2" * 32  # data identities of the two test splits


def quality(model: str, accuracy: float) -> dict:
    return {"cell": f"quality/classification/{model}/test", "kind": "quality", "suite": "quick",
            "task": "classification", "dataset": "synthetic", "split": "test", "model": model, "name": model,
            "status": "ok", "metrics": {"accuracy": accuracy, "accuracy_ci95": [accuracy - 0.02, accuracy + 0.02],
                                        "f1_macro": accuracy - 0.01},
            "n_params": 120000, "train_s": 3.0, "eval_examples_per_s": 900.0, "init": "random",
            "n_eval": 300, "data_sha256": SHA_TEST}


def translation(model: str, bleu: float) -> dict:
    return {"cell": f"quality/translation/{model}/test", "kind": "quality", "task": "translation", "model": model,
            "status": "ok", "metrics": {"bleu": bleu, "chrf": bleu + 20, "bleu_signature": "nrefs:1|tok:13a"},
            "n_eval": 200, "data_sha256": SHA_MT}


def perf(model: str, p50: float, iqr: float, batch: int = 8, seq: int = 128, status: str = "ok") -> dict:
    rec = {"cell": f"perf/{model}/forward/fp32/b{batch}/s{seq}", "kind": "perf", "model": model, "name": model,
           "mode": "forward", "dtype": "fp32", "compile": False, "batch_size": batch, "seq_len": seq,
           "status": status}
    if status == "ok":
        rec |= {"latency_ms": {"mean": p50, "p50": p50, "p90": p50 * 1.1, "p99": p50 * 1.2, "std": iqr / 1.35,
                               "iqr": iqr, "n": 30},
                "throughput": {"samples_per_s": batch / p50 * 1e3, "tokens_per_s": batch * seq / p50 * 1e3},
                "peak_memory_mb": 120.0, "memory_kind": "cpu_rss", "noisy": iqr / p50 > 0.1}
    return rec


def baseline_records() -> list[dict]:
    return [quality("lstm", 0.85), quality("bert", 0.90), translation("gru", 20.0),
            perf("lstm", 10.0, 0.2), perf("bert", 40.0, 0.5), perf("noisy", 10.0, 8.0),
            perf("fails", 10.0, 0.2), perf("gone", 10.0, 0.2)]


def write_run(root: Path, name: str, records: list[dict], machine: dict = MACHINE, torn: bool = False) -> Path:
    run = root / name
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"suite": "quick", "git_sha": "abc1234", "machine": machine}))
    text = "".join(json.dumps(r) + "\n" for r in records)
    (run / "records.jsonl").write_text(text + ('{"cell": "perf/x' if torn else ""))
    return run


def edited(records: list[dict], **changes) -> list[dict]:
    """A copy with per-cell edits: cell id -> function(record) -> record (None drops the cell)."""
    out = []
    for rec in copy.deepcopy(records):
        fn = changes.get(rec["cell"])
        rec = fn(rec) if fn else rec
        if rec is not None:
            out.append(rec)
    return out


def slower(factor: float):
    def edit(rec):
        lat, thr = rec["latency_ms"], rec["throughput"]
        for k in ("mean", "p50", "p90", "p99"):
            lat[k] *= factor
        thr["samples_per_s"] /= factor
        thr["tokens_per_s"] /= factor
        return rec
    return edit


def accuracy_minus(drop: float):
    def edit(rec):
        rec["metrics"]["accuracy"] -= drop
        return rec
    return edit


def verdicts(result, metric: str) -> dict[str, str]:
    return {d.cell: d.verdict for d in result.deltas if d.metric == metric}


@pytest.fixture
def baseline_file(tmp_path) -> Path:
    run = write_run(tmp_path, "quick-base", baseline_records())
    return cmp.write_baseline(run, tmp_path / "baselines" / "quick-cpu.json")


def test_planted_regressions_fail_and_noise_does_not(tmp_path, baseline_file, capsys):
    new = edited(baseline_records(), **{
        "quality/classification/lstm/test": accuracy_minus(0.03),  # below the baseline's interval (-0.02)
        "perf/lstm/forward/fp32/b8/s128": slower(1.5),  # low noise: IQR 0.2 ms against +5 ms
        "perf/bert/forward/fp32/b8/s128": slower(1.05),  # inside the 10% tolerance
        "perf/noisy/forward/fp32/b8/s128": slower(1.5),  # +5 ms inside an IQR of 8 ms
    })
    result = cmp.compare(baseline_file, write_run(tmp_path, "quick-new", new))
    acc_v = verdicts(result, "accuracy")
    assert acc_v["quality/classification/lstm/test"] == "regression"
    assert acc_v["quality/classification/bert/test"] == "ok"
    lat = verdicts(result, "latency_p50_ms")
    assert lat["perf/lstm/forward/fp32/b8/s128"] == "regression"
    assert lat["perf/bert/forward/fp32/b8/s128"] == "ok"
    assert lat["perf/noisy/forward/fp32/b8/s128"] == "noise"  # beyond tolerance, within the spread
    thr = verdicts(result, "samples_per_s")
    assert thr["perf/lstm/forward/fp32/b8/s128"] == "regression"
    assert thr["perf/noisy/forward/fp32/b8/s128"] == "noise"
    assert result.exit_code == 1

    args = argparse.Namespace(baseline=baseline_file, new=tmp_path / "quick-new", tolerance=[], all=False)
    assert cmp.main(args) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "FAIL: 3 regression(s)" in out
    assert "quality/classification/lstm/test accuracy" in out


def test_a_quality_drop_inside_the_baseline_interval_passes_unless_a_tolerance_is_given(tmp_path, baseline_file):
    new = write_run(tmp_path, "quick-new", edited(baseline_records(), **{"quality/classification/lstm/test": accuracy_minus(0.015)}))
    (d,) = [d for d in cmp.compare(baseline_file, new).deltas if d.metric == "accuracy" and "lstm" in d.cell]
    assert d.verdict == "ok" and d.tolerance == "-0.02 (95% CI)"
    (d,) = [d for d in cmp.compare(baseline_file, new, {"accuracy": 0.005}).deltas if d.metric == "accuracy" and "lstm" in d.cell]
    assert d.verdict == "regression" and d.tolerance == "-0.005"
    (d,) = [d for d in cmp.compare(baseline_file, new).deltas if d.metric == "f1_macro" and "lstm" in d.cell]
    assert d.tolerance == "-0.005"  # no interval in this baseline: the task table's tolerance


def test_an_unchanged_run_passes(tmp_path, baseline_file, capsys):
    run = write_run(tmp_path, "same", baseline_records())
    args = argparse.Namespace(baseline=baseline_file, new=run, tolerance=[], all=True)
    assert cmp.main(args) == 0
    assert "OK: no regressions" in capsys.readouterr().out


def test_tolerances_from_the_command_line_loosen_the_gate(tmp_path, baseline_file):
    new = edited(baseline_records(), **{"quality/classification/lstm/test": accuracy_minus(0.02),
                                        "perf/lstm/forward/fp32/b8/s128": slower(1.5)})
    run = write_run(tmp_path, "new", new)
    tol = cmp.parse_tolerances(["accuracy=-0.03", "latency=0.6", "throughput=0.6"])
    assert tol == {"accuracy": 0.03, "latency": 0.6, "throughput": 0.6}
    assert cmp.compare(baseline_file, run, tol).exit_code == 0
    with pytest.raises(BadInput, match="did you mean 'accuracy'"):
        cmp.compare(baseline_file, run, {"acuracy": 0.1})
    with pytest.raises(BadInput) as err:
        cmp.parse_tolerances(["latency", "bleu=abc"])
    assert len(err.value.problems) == 2


def test_missing_new_and_status_changed_cells_are_listed(tmp_path, baseline_file, capsys):
    new = edited(baseline_records(), **{
        "perf/gone/forward/fp32/b8/s128": lambda r: None,
        "perf/fails/forward/fp32/b8/s128": lambda r: perf("fails", 0, 0, status="oom") | {"error": "out of memory"},
    }) + [perf("lstm", 20.0, 0.3, batch=32)]
    result = cmp.compare(baseline_file, write_run(tmp_path, "new", new))
    assert result.missing == ["perf/gone/forward/fp32/b8/s128"]
    assert result.new == ["perf/lstm/forward/fp32/b32/s128"]
    assert result.status_changes == [("perf/fails/forward/fp32/b8/s128", "ok", "oom", "regression")]
    assert result.exit_code == 1
    print(cmp.render(result, "base", "new"))
    out = capsys.readouterr().out
    assert "missing in new run (1):" in out and "new cells (not in baseline) (1):" in out
    assert "perf/fails/forward/fp32/b8/s128: ok -> oom (regression)" in out


def test_a_missing_cell_fails_the_gate_unless_allowed(tmp_path, baseline_file):
    new = edited(baseline_records(), **{"perf/gone/forward/fp32/b8/s128": lambda r: None})
    result = cmp.compare(baseline_file, write_run(tmp_path, "new", new))
    assert result.regressions == ["perf/gone/forward/fp32/b8/s128 missing in the new run"] and result.exit_code == 1
    result.allow_missing = True
    assert result.exit_code == 0
    args = argparse.Namespace(baseline=baseline_file, new=tmp_path / "new", tolerance=[], all=False, allow_missing=True)
    assert cmp.main(args) == 0
    assert cmp.main(argparse.Namespace(**{**vars(args), "allow_missing": False})) == 1


def test_other_machine_turns_perf_regressions_into_warnings(tmp_path, baseline_file, capsys):
    new = edited(baseline_records(), **{"perf/lstm/forward/fp32/b8/s128": slower(1.5)})
    other = MACHINE | {"device_name": "NVIDIA H200", "threads": 16}
    result = cmp.compare(baseline_file, write_run(tmp_path, "gpu", new, machine=other))
    assert result.machine_differs
    assert verdicts(result, "latency_p50_ms")["perf/lstm/forward/fp32/b8/s128"] == "warning"
    assert result.exit_code == 0
    print(cmp.render(result, "base", "gpu"))
    out = capsys.readouterr().out
    assert "different machine" in out and "threads 2 -> 16" in out and "OK: no regressions" in out
    # quality is still gated on another machine
    worse = edited(baseline_records(), **{"quality/classification/bert/test": accuracy_minus(0.4)})
    assert cmp.compare(baseline_file, write_run(tmp_path, "gpu2", worse, machine=other)).exit_code == 1


def test_baseline_file_round_trip_and_torn_run(tmp_path, baseline_file):
    data = json.loads(baseline_file.read_text())
    assert data["format"] == cmp.FORMAT and data["suite"] == "quick" and data["source_run"] == "quick-base"
    assert data["machine"]["cpu"] == "Fake CPU 3000" and "hostname" not in data["machine"]
    assert len(data["records"]) == len(baseline_records())
    torn = write_run(tmp_path, "torn", baseline_records(), torn=True)
    result = cmp.compare(baseline_file, torn)
    assert result.exit_code == 0 and not result.missing and not result.new and not result.warnings
    only_quality = cmp.write_baseline(torn, tmp_path / "q.json", kinds=("quality",))
    assert {r["kind"] for r in json.loads(only_quality.read_text())["records"]} == {"quality"}


def test_bleu_drop_and_signature_change(tmp_path, baseline_file):
    def edit(r):
        r["metrics"] |= {"bleu": 19.0, "bleu_signature": "nrefs:1|tok:intl"}
        return r
    result = cmp.compare(baseline_file, write_run(tmp_path, "new", edited(baseline_records(), **{
        "quality/translation/gru/test": edit})))
    assert verdicts(result, "bleu")["quality/translation/gru/test"] == "regression"
    assert verdicts(result, "chrf")["quality/translation/gru/test"] == "ok"
    assert any("BLEU signature changed" in w for w in result.warnings)


def test_bad_paths_are_bad_input(tmp_path):
    args = argparse.Namespace(baseline=tmp_path / "nope.json", new=tmp_path / "nope", tolerance=[], all=False)
    with pytest.raises(BadInput) as err:
        cmp.main(args)
    assert len(err.value.problems) == 2
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(BadInput, match="not JSON"):
        cmp.load_side(tmp_path / "junk.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="no records.jsonl"):
        cmp.load_side(tmp_path / "empty")


def test_cli_registration_parses_repeatable_tolerances():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command")
    cmp.register(sub)
    args = ap.parse_args(["compare", "a.json", "runs/x", "--tolerance", "accuracy=0.01", "--tolerance", "latency=0.2"])
    assert args.func is cmp.main and args.tolerance == ["accuracy=0.01", "latency=0.2"]
    args = ap.parse_args(["baseline", "runs/x", "out.json"])
    assert args.func is cmp.main_baseline


def test_a_renamed_metric_fails_the_gate_naming_it(tmp_path, capsys):
    """A copy of a run whose writer renamed `accuracy` (and a perf field): the gate must not go quiet."""
    base = write_run(tmp_path, "base", baseline_records())

    def rename_accuracy(r):
        r["metrics"]["acc"] = r["metrics"].pop("accuracy")
        return r

    def rename_p50(r):
        r["latency_ms"]["median"] = r["latency_ms"].pop("p50")
        return r

    copy_ = write_run(tmp_path, "copy", edited(baseline_records(), **{
        "quality/classification/lstm/test": rename_accuracy, "perf/bert/forward/fp32/b8/s128": rename_p50}))
    args = argparse.Namespace(baseline=base, new=copy_, tolerance=[], all=False)
    assert cmp.main(args) == 1
    out = capsys.readouterr().out
    assert "quality/classification/lstm/test accuracy missing in the new record" in out
    assert "perf/bert/forward/fp32/b8/s128 latency_p50_ms missing in the new record" in out
    assert cmp.main(argparse.Namespace(baseline=base, new=base, tolerance=[], all=False)) == 0


def _verdicts(result, metric: str) -> dict:
    return {d.cell: d.verdict for d in result.deltas if d.metric == metric}


def test_peak_memory_is_gated_only_past_its_floor_and_within_one_memory_kind():
    base = [perf("big", 10.0, 0.2), perf("tiny", 10.0, 0.2), perf("kind", 10.0, 0.2)]
    base[1]["peak_memory_mb"] = 2.0
    new = copy.deepcopy(base)
    new[0]["peak_memory_mb"] = 150.0  # +25%, 30 MB: a regression
    new[1]["peak_memory_mb"] = 2.6  # +30% but 0.6 MB: under the floor
    new[2] |= {"peak_memory_mb": 150.0, "memory_kind": "cpu_allocated"}  # another way of measuring
    v = _verdicts(cmp.compare(cmp.Side("a", MACHINE, cmp._by_cell(base)), cmp.Side("b", MACHINE, cmp._by_cell(new))),
                  "peak_memory_mb")
    assert v == {"perf/big/forward/fp32/b8/s128": "regression", "perf/tiny/forward/fp32/b8/s128": "noise",
                 "perf/kind/forward/fp32/b8/s128": "noise"}


def test_ttft_and_per_token_are_gated_against_their_own_loops_spread():
    def gen(ttft: float, per_token: float, ttft_iqr: float) -> dict:
        rec = perf("mt", 20.0, 0.4)
        return rec | {"time_to_first_token_ms": ttft, "per_token_ms": per_token,
                      "time_to_first_token_iqr_ms": ttft_iqr, "max_new_tokens": 9}
    base, quiet, noisy = gen(4.0, 2.0, 0.1), gen(5.0, 2.5, 0.1), gen(5.0, 2.05, 3.0)
    side = lambda r: cmp.Side("x", MACHINE, {r["cell"]: r})  # noqa: E731
    r1 = cmp.compare(side(base), side(quiet))
    assert _verdicts(r1, "ttft_ms") == {base["cell"]: "regression"}  # +25%, spread 0.1 ms
    assert _verdicts(r1, "per_token_ms") == {base["cell"]: "regression"}  # +25%, spread (0.4+0.1)/8 ms
    r2 = cmp.compare(side(base), side(noisy))
    assert _verdicts(r2, "ttft_ms") == {base["cell"]: "noise"}  # +25% inside a 3 ms spread

def _sampled(model: str, p50: float, spread: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    samples = (p50 * (1 + spread * rng.standard_normal(200))).tolist()
    rec = perf(model, float(np.median(samples)), float(np.subtract(*np.percentile(samples, [75, 25]))))
    return rec | {"latency_samples_ms": samples}


def test_perf_gate_judges_a_shift_by_the_bootstrap_of_the_ratio_of_medians(tmp_path):
    base = write_run(tmp_path, "base", [_sampled("lstm", 10.0, 0.01, 0)])
    shifted = write_run(tmp_path, "shifted", [_sampled("lstm", 11.5, 0.01, 1)])  # +15% p50, low noise
    result = cmp.compare(base, shifted)
    lat = next(d for d in result.deltas if d.metric == "latency_p50_ms")
    assert lat.verdict == "regression" and result.exit_code == 1
    assert cmp.compare(base, base).exit_code == 0
    # a wide IQR used to hide a real shift (here +15%, IQR 38% of p50; interval of the ratio 1.04-1.24)
    noisy_base = write_run(tmp_path, "nb", [_sampled("lstm", 10.0, 0.25, 2)])
    noisy_new = write_run(tmp_path, "nn", [_sampled("lstm", 11.3, 0.25, 3)])
    lat = next(d for d in cmp.compare(noisy_base, noisy_new).deltas if d.metric == "latency_p50_ms")
    iqr_new = cmp._noise(cmp.load_side(noisy_new).records[lat.cell])[0]
    assert lat.verdict == "regression" and abs(lat.new - lat.base) < iqr_new  # the IQR rule called this noise
    loose = cmp.compare(noisy_base, noisy_new, {"drift": 0.05})  # a machine that drifts 5% between runs
    assert next(d for d in loose.deltas if d.metric == "latency_p50_ms").verdict == "noise"
