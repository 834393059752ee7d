"""End-to-end: a tiny suite with `variants` through the real CLI; validation of the key."""
from __future__ import annotations

import sys

import pytest

from nlpbench.cli import main
from nlpbench.errors import BadInput
from nlpbench.report.tables import build_tables
from nlpbench.report.write import EXTRA_TABLES
from nlpbench.store.results import read_records
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite


def variant_suite(names):
    suite = tiny_suite(variants=names, variant_perf={"batch_size": 2, "seq_len": 8, "warmup": 0, "min_iters": 2,
                                                      "min_seconds": 0})
    suite["tasks"][0]["models"] = [{"adapter": "lstm", "params": {"embed_dim": 16, "hidden_size": 16},
                                    "train": {"epochs": 1}}]
    return suite


def test_variants_are_scored_paired_timed_and_tabled(write_suite, tmp_path):
    pytest.importorskip("torchao")
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(variant_suite(["fp32", "int8-dynamic", "fp16"]))), "--out", str(out)]) == 0
    (rd,) = [p for p in out.iterdir() if p.is_dir()]
    recs = {r["cell"]: r for r in read_records(rd)}
    assert "quality/classification/lstm/test" in recs  # fp32 keeps its id (baselines still match)
    q = recs["quality/classification/lstm@int8-dynamic/test"]
    assert q["status"] == "ok" and q["variant"] == "int8-dynamic" and q["name"] == "lstm@int8-dynamic"
    assert 0 <= q["metrics"]["accuracy"] <= 1 and q["vs_fp32"]["test"] == "McNemar exact"
    fp32_acc = recs["quality/classification/lstm/test"]["metrics"]["accuracy"]
    assert q["vs_fp32"]["delta"] == pytest.approx(q["metrics"]["accuracy"] - fp32_acc)  # paired against the real fp32
    p = recs["perf/classification/lstm@int8-dynamic/forward/b2/s8"]
    assert p["status"] == "ok" and p["quality_cell"] == "quality/classification/lstm@int8-dynamic/test"
    assert p["latency_ms"]["p50"] > 0 and p["size_mb"] < recs["perf/classification/lstm@fp32/forward/b2/s8"]["size_mb"]
    bad = recs["quality/classification/lstm@fp16/test"]
    assert bad["status"] == "unsupported" and "CUDA" in bad["error"]
    assert recs["perf/classification/lstm@fp16/forward/b2/s8"]["status"] == "unsupported"
    table = next(t for t in build_tables(list(recs.values()), EXTRA_TABLES) if t.spec.name == "deployment_classification")
    assert list(table.frame["variant"]) == ["fp32", "int8-dynamic", "fp16"]
    assert table.frame.set_index("variant").loc["fp16", "status"] == "unsupported"
    assert "Deployment variants" in (rd / "report.md").read_text()
    assert (rd / "plots" / "deployment_variants.png").exists()


def test_unknown_variant_and_missing_extra_are_exit_2_lines(monkeypatch):
    with pytest.raises(BadInput) as e:
        validate(variant_suite(["fp32", "int4"]))
    assert any("variants.1" in p and "int8-dynamic" in p for p in e.value.problems)
    for module in ("torchao", "onnx", "onnxruntime", "onnxscript"):  # as on a machine without the extra
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(BadInput) as e:
        validate(variant_suite(["fp32", "onnx", "int8-dynamic"]))
    assert [p.split(":")[0] for p in e.value.problems] == ["variants.1", "variants.2"]
    assert all("pip install -e '.[variants]'" in p for p in e.value.problems)


def test_variants_without_fp32_are_refused():
    with pytest.raises(BadInput, match="must include fp32"):
        validate(variant_suite(["int8-dynamic"]))


def test_compare_tolerates_unsupported_cells():
    from nlpbench.gate.compare import Side, compare

    def rec(status):
        r = {"cell": "quality/classification/lstm@onnx/test", "kind": "quality", "status": status}
        return r | ({"metrics": {"accuracy": 0.8}} if status == "ok" else {"error": "onnx: export failed"})

    machine = {"device": "cpu"}
    same = compare(Side("a", machine, {"c": rec("unsupported")}), Side("b", machine, {"c": rec("unsupported")}))
    assert same.exit_code == 0 and not same.status_changes and not same.deltas
    worse = compare(Side("a", machine, {"c": rec("ok")}), Side("b", machine, {"c": rec("unsupported")}))
    # issue 21: a cell that measured and no longer does is a regression, whatever the reason
    assert worse.exit_code == 1 and worse.status_changes == [("c", "ok", "unsupported", "regression")]
