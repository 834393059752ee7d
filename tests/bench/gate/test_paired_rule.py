"""The gate on another machine: a baseline written under one CPU capability, a run under another.

Kernel wobble (a few examples flip either way, BLEU moves by a fraction of a point) passes through the paired
statistical rule, which the verdict names; a truly worse model (a tenth of the predictions turned wrong, as
corrupted training labels do) fails under the same mismatch; the same fingerprint keeps the exact rule. The
two sides' records and predictions are written directly (what `nlpbench run` writes), so this takes seconds.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from nlpbench.cli import main as cli
from nlpbench.gate import compare as cmp
from nlpbench.gate.sides import FORMAT, write_baseline
from nlpbench.metrics import stats
from nlpbench.quality import predictions

CLS = "quality/classification/bert/test"
MT = "quality/translation/seq2seq/test"
WORDS = "le la una guno mogi tuti zamuta zusanan et litaen unas medeen rugose ladate valonon kadute".split()


def kernels(capability: str) -> dict:
    pins = {"ATEN_CPU_CAPABILITY": capability.lower()} if capability != "AVX512" else {}
    return {"cpu_capability": capability, "blas": "mkl", "mkl": "2024.2", "onednn": "3.12.0", "env": pins}


def run_json(capability: str) -> dict:
    return {"suite": "quick", "git_sha": "abc1234",
            "machine": {"device_name": "Xeon", "cpu_model": "Xeon", "threads": 1, "cuda": None, "torch": "2.13.0"},
            "environment": {"cpu": {"vendor": "GenuineIntel", "family": "6", "model": "143", "stepping": "8",
                                    "arch": "x86_64", "isa": ["avx2", "avx512f"]},
                            "kernels": kernels(capability)}}


def data(seed: int = 0) -> tuple[list[int], list[int], list[str], list[str]]:
    """A classifier right on ~85% of 300 examples, a translator close to 200 references."""
    rng = random.Random(seed)
    refs = [rng.randint(0, 1) for _ in range(300)]
    preds = [r if rng.random() < 0.85 else 1 - r for r in refs]
    mt_refs = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) for _ in range(200)]
    hyps = [" ".join(w if rng.random() < 0.9 else rng.choice(WORDS) for w in s.split()) for s in mt_refs]
    return preds, refs, hyps, mt_refs


def flip(preds: list[int], refs: list[int], n_worse: int, n_better: int, seed: int = 1) -> list[int]:
    """`n_worse` right predictions made wrong and `n_better` wrong ones made right."""
    rng = random.Random(seed)
    right = [i for i, (p, r) in enumerate(zip(preds, refs)) if p == r]
    wrong = [i for i, (p, r) in enumerate(zip(preds, refs)) if p != r]
    out = list(preds)
    for i in rng.sample(right, n_worse) + rng.sample(wrong, n_better):
        out[i] = 1 - out[i]
    return out


def garble(hyps: list[str], share: float, seed: int = 2) -> list[str]:
    """Each word of each hypothesis replaced with probability `share`."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) if rng.random() < share else w for w in s.split()) for s in hyps]


def wobble(hyps: list[str], refs: list[str], n: int = 12, seed: int = 3) -> list[str]:
    """Kernel wobble in a translator: `n` sentences decoded differently, half better (the reference), half worse."""
    rng = random.Random(seed)
    out = list(hyps)
    for k, i in enumerate(rng.sample(range(len(hyps)), n)):
        out[i] = refs[i] if k % 2 else garble([hyps[i]], 0.3, seed + i)[0]
    return out


def write(root: Path, name: str, capability: str, cls_preds, cls_refs, hyps, mt_refs) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(run_json(capability)))
    recs = []
    for cell, preds, refs, metrics in (
            (CLS, cls_preds, cls_refs, {"accuracy": stats.accuracy(cls_preds, cls_refs),
                                        "f1_macro": stats.f1_macro(cls_preds, cls_refs)}),
            (MT, hyps, mt_refs, {"bleu": stats.sacre_score("bleu", hyps, mt_refs),
                                 "chrf": stats.sacre_score("chrf", hyps, mt_refs)})):
        lines = [{"id": i, "input": "x", "prediction": p, "reference": r} for i, (p, r) in enumerate(zip(preds, refs))]
        recs.append({"cell": cell, "kind": "quality", "suite": "quick", "status": "ok", "metrics": metrics,
                     "n_eval": len(refs), "data_sha256": "ab" * 32,
                     "predictions": predictions.write(run, cell, lines)})
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return run


EXACT = {k: 0.0 for k in ("accuracy", "f1_macro", "bleu", "chrf")}  # what make regress passes


@pytest.fixture
def baseline(tmp_path) -> Path:
    """A format /2 baseline written from a run under the default capability (AVX512)."""
    run = write(tmp_path, "base", "AVX512", *data())
    return write_baseline(run, tmp_path / "quick-cpu.json", ("quality",))


def rules(result) -> dict:
    return {(d.cell, d.metric): (d.rule, d.verdict) for d in result.deltas if d.rule}


def test_the_baseline_carries_the_fingerprint_and_each_cells_examples(baseline):
    data_ = json.loads(baseline.read_text())
    assert data_["format"] == FORMAT == "nlpbench-baseline/2"
    assert data_["fingerprint"]["cpu_capability"] == "AVX512" and data_["fingerprint"]["cpu_vendor"] == "GenuineIntel"
    cls = next(r for r in data_["records"] if r["cell"] == CLS)
    assert len(cls["examples"]["prediction"]) == len(cls["examples"]["reference"]) == 300
    assert "predictions" not in cls and "samples" not in cls  # no path into a run folder that isn't there


def test_kernel_wobble_under_another_capability_passes_through_the_paired_rule(tmp_path, baseline):
    preds, refs, hyps, mt_refs = data()
    other = write(tmp_path, "avx2", "AVX2", flip(preds, refs, 6, 4), refs, wobble(hyps, mt_refs), mt_refs)
    exact = cmp.compare(baseline, other, EXACT, rule="exact")
    assert not exact.ok  # what make regress said before: exact digits can't hold on other kernels
    result = cmp.compare(baseline, other, EXACT)
    assert result.ok, result.regressions
    assert result.fingerprint_differs and any("cpu_capability 'AVX512' -> 'AVX2'" in w for w in result.warnings)
    judged = rules(result)
    assert judged[(CLS, "accuracy")][0] == "paired-mcnemar" and judged[(MT, "bleu")][0] == "paired-bootstrap"
    assert all(v in ("same", "inconclusive") for _, v in judged.values()), judged
    assert result.exit_code == 0


@pytest.mark.parametrize("worse", ["classifier", "translator"])
def test_a_truly_worse_model_under_the_same_mismatch_fails(tmp_path, baseline, worse):
    preds, refs, hyps, mt_refs = data()
    if worse == "classifier":  # a tenth of the examples turned wrong: what corrupted training labels do
        preds = flip(preds, refs, 30, 0)
    else:
        hyps = garble(hyps, 0.25)
    bad = write(tmp_path, "avx2", "AVX2", preds, refs, hyps, mt_refs)
    result = cmp.compare(baseline, bad, EXACT)
    cell = CLS if worse == "classifier" else MT
    assert not result.ok and result.exit_code == 1
    assert any(r.startswith(cell) for r in result.regressions), result.regressions
    assert all(d.rule.startswith("paired-") for d in result.deltas if d.cell == cell and d.verdict == "regression")
    other = MT if worse == "classifier" else CLS
    assert not any(r.startswith(other) for r in result.regressions)  # Holm over the family: the rest stays clean


def test_the_same_fingerprint_keeps_the_exact_rule(tmp_path, baseline):
    preds, refs, hyps, mt_refs = data()
    same_machine = write(tmp_path, "again", "AVX512", flip(preds, refs, 1, 0), refs, hyps, mt_refs)
    result = cmp.compare(baseline, same_machine, EXACT)
    assert not result.fingerprint_differs
    assert rules(result)[(CLS, "accuracy")] == ("exact", "regression")  # one example is a change here


def test_an_undecided_drop_is_inconclusive_passing_unless_asked(tmp_path, baseline, capsys):
    preds, refs, hyps, mt_refs = data()
    # 9 worse, 2 better: a 2.3-point drop, past the 2-point minimum effect, but 11 discordant pairs
    # don't make it significant after Holm
    new = write(tmp_path, "avx2", "AVX2", flip(preds, refs, 9, 2), refs, hyps, mt_refs)
    args = ["compare", str(baseline), str(new), "--json", str(tmp_path / "v.json")]
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert "INCONCLUSIVE: " in out and "paired-mcnemar" in out
    verdict = json.loads((tmp_path / "v.json").read_text())
    assert f"{CLS} accuracy" in verdict["inconclusive"] and verdict["ok"] is True
    cell = next(d for d in verdict["deltas"] if d["cell"] == CLS and d["metric"] == "accuracy")
    assert cell["verdict"] == "inconclusive" and cell["rule"] == "paired-mcnemar" and 0 < cell["p_holm"] <= 1
    assert cli(args + ["--fail-on-inconclusive"]) == 3
    md = tmp_path / "v.md"
    assert cli(["compare", str(baseline), str(new), "--markdown", str(md)]) == 0
    text = md.read_text()
    assert "INCONCLUSIVE: 1 cell(s) (2 number(s))" in text and "paired-mcnemar+paired-bootstrap: 1 cell(s); paired-bootstrap: 1 cell(s)" in text
    assert "| paired-mcnemar | inconclusive | p=" in text
    # a larger minimum effect makes the same evidence "same"; a smaller alpha never makes it a regression
    assert cli(args + ["--fail-on-inconclusive", "--min-effect", "accuracy=0.1", "--min-effect", "f1_macro=0.1"]) == 0


def test_an_old_baseline_without_examples_is_judged_by_tolerance_with_a_warning(tmp_path, baseline):
    data_ = json.loads(baseline.read_text())
    data_["format"] = "nlpbench-baseline/1"
    for r in data_["records"]:
        r.pop("examples")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data_))
    preds, refs, hyps, mt_refs = data()
    new = write(tmp_path, "avx2", "AVX2", preds, refs, hyps, mt_refs)
    result = cmp.compare(old, new, EXACT)
    assert result.ok and rules(result)[(CLS, "accuracy")] == ("exact", "ok")
    assert any("no per-example predictions on the baseline side" in w for w in result.warnings)


def test_the_python_api_gives_the_three_states(tmp_path, baseline):
    import nlpbench

    preds, refs, hyps, mt_refs = data()
    new = write(tmp_path, "avx2", "AVX2", flip(preds, refs, 9, 2), refs, hyps, mt_refs)
    verdict = nlpbench.compare(baseline, new, fail_on_inconclusive=True, accuracy=0.0)
    assert verdict.ok and verdict.inconclusive and verdict.exit_code == 3
    assert set(verdict.table()["verdict"]) >= {"inconclusive", "same"}


def test_end_to_end_a_baseline_under_one_capability_gates_a_run_under_another(tmp_path, monkeypatch):
    """Real runs of the dummy adapter through the API and the CLI: a run + baseline at this machine's capability,
    then a run that records another capability and pin, compared against it — the paired rule judges and says
    so. (ATen fixes its capability at the process's first kernel, so in-process the second run's is the
    recorded one: the record -> baseline -> rule path is tested here, the statistics above.)"""
    import torch

    import nlpbench
    from tests.conftest import tiny_suite

    suite = tiny_suite(perf=None, threads=1)
    for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR"):
        monkeypatch.delenv(k, raising=False)
    here = nlpbench.run(suite, models="d1", out=tmp_path / "a").dir
    assert cli(["baseline", str(here), str(tmp_path / "b.json"), "--kinds", "quality"]) == 0
    fingerprint = json.loads((tmp_path / "b.json").read_text())["fingerprint"]
    assert fingerprint["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and fingerprint["pins"] == {}
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "zvector")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "ZVECTOR")
    other = nlpbench.run(suite, models="d1", out=tmp_path / "b").dir
    assert cli(["compare", str(tmp_path / "b.json"), str(other), "--json", str(tmp_path / "v.json")]) == 0
    verdict = json.loads((tmp_path / "v.json").read_text())
    assert any("-> 'ZVECTOR'" in d for d in verdict["kernels_differ"])
    assert set(verdict["rules"].values()) == {"paired-mcnemar+paired-bootstrap"}
    assert verdict["ok"] and not verdict["regressions"]


def test_enough_resamples_that_holm_can_reach_alpha_over_a_large_family():
    from nlpbench.gate.paired import resamples

    for n_tests in (1, 20, 60, 400):
        n = resamples(n_tests, 0.05)
        assert n >= 1000 and n_tests / (n + 1) < 0.05  # the smallest bootstrap p, Holm-scaled, can pass


def test_a_baseline_from_a_run_without_predictions_says_so(tmp_path, capsys):
    run = write(tmp_path, "base", "AVX512", *data())
    for f in (run / predictions.DIR).iterdir():
        f.unlink()
    assert cli(["baseline", str(run), str(tmp_path / "b.json"), "--kinds", "quality"]) == 0
    assert "2 quality cell(s) without per-example predictions" in capsys.readouterr().out
