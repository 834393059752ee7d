"""MCC is added the way any metric is: its file bench/metrics/mcc.py and its name in a task's metric list.

The end-to-end test runs a tiny suite with `metrics: [accuracy, mcc]` and finds MCC in the quality table
with its interval, in the pairwise table with a test, and gated by `compare`.
"""
import json
import shutil

import pytest

import nlpbench
from nlpbench import metrics
from nlpbench.metrics.mcc import mcc
from nlpbench.report import pairwise
from nlpbench.report.tables import build_tables, display
from tests.conftest import tiny_suite


def test_mcc_values_match_its_definition():
    assert mcc([0, 1, 0, 1], [0, 1, 0, 1]) == 1.0
    assert mcc([1, 0, 1, 0], [0, 1, 0, 1]) == -1.0
    assert mcc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.0  # one predicted class: no correlation defined, 0
    # binary: (tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn)) with tp=3, tn=2, fp=1, fn=1
    assert mcc([1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 1, 0, 0]) == pytest.approx((3 * 2 - 1) / (4 * 4 * 3 * 3) ** 0.5)
    assert metrics.compute("mcc", [0, 1, 2, 2], [0, 1, 2, 1])["mcc"] == pytest.approx(mcc([0, 1, 2, 2], [0, 1, 2, 1]))


def test_mcc_is_registered_for_classification_only():
    assert "mcc" in metrics.available() and "mcc" in metrics.for_task("classification")
    assert "mcc" not in metrics.for_task("translation")


def test_a_suite_listing_mcc_gets_it_in_tables_intervals_pairwise_and_the_gate(tmp_path):
    suite = tiny_suite()
    suite["tasks"][0]["metrics"] = ["accuracy", "mcc"]
    run = nlpbench.run(suite, out=tmp_path / "runs", perf=None)
    rec = next(r for r in run.records if r.get("kind") == "quality" and r.get("split") == "test")
    lo, hi = rec["metrics"]["mcc_ci95"]
    assert lo <= rec["metrics"]["mcc"] <= hi and lo < hi

    quality = display(next(t for t in build_tables(run.records) if t.spec.name == "quality_classification"))
    assert "MCC [95% CI]" in quality.columns
    assert quality["MCC [95% CI]"].str.match(r"^-?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]$").all()

    table = next(t for t in pairwise.tables(run.dir, run.records) if t.spec.name.endswith("_test"))
    row = table.frame.query("metric == 'mcc'").iloc[0]
    assert row["test"] == "paired bootstrap" and row["p_holm"] and row["verdict"]

    worse = tmp_path / "worse"
    shutil.copytree(run.dir, worse)
    lines = [json.loads(line) for line in (worse / "records.jsonl").read_text().splitlines() if line.strip()]
    for r in lines:
        if r.get("kind") == "quality" and r.get("metrics"):
            r["metrics"]["mcc"] = r["metrics"]["mcc_ci95"][0] - 0.2  # below the baseline's interval
    (worse / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    verdict = nlpbench.compare(run.dir, worse)
    assert not verdict.ok and any(reg.endswith(" mcc") for reg in verdict.regressions)
    assert nlpbench.compare(run.dir, run.dir).ok
