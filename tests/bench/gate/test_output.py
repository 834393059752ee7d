"""`compare --json FILE` and `--markdown FILE`: the verdict for CI steps, PR comments and job summaries."""
from __future__ import annotations

import json
import math

from nlpbench.cli import main as cli
from tests.bench.gate.test_compare import MACHINE, baseline_records, edited, write_run
from tests.bench.gate.test_holes import LSTM, PERF, setting


def test_json_and_markdown_carry_the_verdict(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    base = write_run(tmp_path, "base", baseline_records())
    new = write_run(tmp_path, "new", edited(baseline_records(), **{
        LSTM: setting("metrics.accuracy", 0.30), PERF: setting("latency_ms.p50", math.nan)}),
        machine=MACHINE | {"threads": 16})
    js, md = tmp_path / "out" / "verdict.json", tmp_path / "out" / "verdict.md"
    assert cli(["compare", str(base), str(new), "--json", str(js), "--markdown", str(md)]) == 1
    data = json.loads(js.read_text())  # strict JSON: the NaN is written as a string
    assert data["ok"] is False and data["compared"] == 8
    assert data["regressions"] == [f"{LSTM} accuracy", f"{PERF} latency_p50_ms is nan (baseline 10)"]
    assert any("different machine" in w for w in data["warnings"])
    assert {"cell": PERF, "metric": "latency_p50_ms", "baseline": 10.0, "new": "nan", "tolerance": "finite",
            "verdict": "regression", "rule": ""} in data["deltas"]
    text = md.read_text()
    assert text.startswith("❌ **nlpbench: 2 regression(s)**")
    assert f"| {LSTM} | accuracy | 0.85 | 0.3 | -64.7% |" in text and "**regression**" in text
    assert "**Warnings**" in text and "- different machine" in text


def test_a_passing_gate_writes_ok_and_the_step_summary_is_appended(tmp_path, monkeypatch):
    base = write_run(tmp_path, "base", baseline_records())
    summary = tmp_path / "summary.md"
    summary.write_text("## earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    js = tmp_path / "v.json"
    assert cli(["compare", str(base), str(base), "--json", str(js), "--markdown", str(summary)]) == 0
    assert json.loads(js.read_text())["ok"] is True and json.loads(js.read_text())["regressions"] == []
    text = summary.read_text()
    assert text.startswith("## earlier step\n✅ **nlpbench: no regressions**") and "8 cells compared" in text
    other = tmp_path / "pr.md"  # any other file is written afresh
    other.write_text("stale\n")
    assert cli(["compare", str(base), str(base), "--markdown", str(other)]) == 0
    assert not other.read_text().startswith("stale")
