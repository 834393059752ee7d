"""nlpbench.serve under real MLPerf LoadGen: a tiny trained dummy classifier behind the batcher.

Skipped cleanly without the `.[serve]` extra. Each LoadGen test runs a fraction of a second.
"""
import dataclasses
import json
from types import SimpleNamespace

import pytest

pytest.importorskip("mlperf_loadgen")

from nlpbench.adapter import TaskInfo  # noqa: E402
from nlpbench.cli import main  # noqa: E402
from nlpbench.data import load_task_data  # noqa: E402
from nlpbench.models.dummy import DummyAdapter, DummyConfig  # noqa: E402
from nlpbench.quality.train import fit  # noqa: E402
from nlpbench.serve import require_loadgen  # noqa: E402
from nlpbench.serve.batcher import Fault  # noqa: E402
from nlpbench.serve.cells import knobs_for, run_serve, serve_model  # noqa: E402
from nlpbench.store.results import RecordStore, read_records  # noqa: E402
from nlpbench.suite.schema import ServeSpec, TaskSpec, train_config  # noqa: E402
from tests.conftest import tiny_suite  # noqa: E402

SERVE = {"max_batch": 8, "max_wait_ms": 1, "min_duration_ms": 100, "min_query_count": 40, "search_steps": 2,
         "target_p99_ms": 500}
TASK = {"task": "classification", "dataset": {"source": "synthetic", "name": "sentiment",
                                              "size": {"train": 300, "validation": 60, "test": 60}},
        "models": [{"adapter": "dummy", "name": "d1", "train": {"epochs": 3}}]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    task = TaskSpec.model_validate(TASK)
    data = load_task_data(task, None, 0)
    adapter = DummyAdapter(DummyConfig(), TaskInfo(num_labels=data.num_labels, progress=False))
    adapter.setup(data.train)
    fit(adapter, adapter.encode(data.train), train_config(DummyAdapter, {"epochs": 3}), progress=False)
    return task, data, adapter


def serve(trained, tmp_path, scenarios, fault=None, **over):
    task, data, adapter = trained
    spec = ServeSpec.model_validate({**SERVE, **over})
    ctx = SimpleNamespace(suite=SimpleNamespace(serve=spec), run_dir=tmp_path, dtype="fp32", seed=0)
    knobs = dataclasses.replace(knobs_for(spec, "d1", "fp32"), fault=fault or Fault(), grace_s=0.3)
    return {r["scenario"]: r for r in serve_model(require_loadgen(), ctx, task, task.models[0], data, "test",
                                                     adapter, scenarios, knobs)}


def test_clean_run_answers_every_query_as_the_batch_evaluation_does(trained, tmp_path):
    recs = serve(trained, tmp_path, ["SingleStream", "Offline"])
    for scenario, rec in recs.items():
        assert rec["status"] == "ok", rec.get("error")
        assert rec["verdict"] in ("VALID", "INVALID") and rec["dropped"] == 0
        assert rec["agreement"] == 1.0 and rec["quality"] == pytest.approx(rec["metrics"]["accuracy"])
        assert sum(rec["batch_sizes"].values()) >= 1 and rec["latency_ms"]["p50"] > 0
        assert sum(int(k) * v for k, v in rec["batch_sizes"].items()) == rec["n_answers"]
        assert (tmp_path / "serve" / "d1" / scenario / "mlperf_log_summary.txt").is_file()
        assert (tmp_path / "serve" / "d1" / scenario / "mlperf_log_detail.txt").is_file()
    assert set(recs["SingleStream"]["batch_sizes"]) == {1}  # one request at a time
    assert max(recs["Offline"]["batch_sizes"]) == 8  # everything at once: full batches
    assert recs["Offline"]["quality"] == pytest.approx(recs["Offline"]["eval_quality"], abs=0.1)
    assert recs["Offline"]["query_lengths"]["n"] == 60
    pad = recs["Offline"]["padding_cost"]
    assert pad["random_order"]["padding_fraction"] > pad["length_sorted"]["padding_fraction"] >= 0
    assert pad["slowdown"] > 0 and pad["random_order"]["samples_per_s"] > 0


@pytest.mark.parametrize("scenario", ["SingleStream", "Offline"])
def test_a_dropped_answer_is_never_a_clean_result(trained, tmp_path, scenario):
    rec = serve(trained, tmp_path, [scenario], fault=Fault(drop=1))[scenario]
    assert rec["dropped"] == 1 and rec["status"] == "error"
    assert "1 answer(s) dropped" in rec["error"]
    assert rec["agreement"] < 1.0  # the dropped answer scores as wrong


def test_reordered_answers_are_caught(trained, tmp_path):
    clean = serve(trained, tmp_path / "clean", ["Offline"])["Offline"]
    rec = serve(trained, tmp_path / "bad", ["Offline"], fault=Fault(reorder=True))["Offline"]
    assert rec["dropped"] == 0 and rec["status"] == "error" and "reordered" in rec["error"]
    assert rec["agreement"] < 0.9
    assert rec["quality"] < clean["quality"]


def test_server_search_records_every_test(trained, tmp_path):
    rec = serve(trained, tmp_path, ["Server"], qps_min=20, qps_max=400)["Server"]
    assert rec["status"] == "ok", rec.get("error")
    assert 1 <= len(rec["search"]) <= 2 and rec["search"][0]["offered_qps"] == 400
    assert all(t["verdict"] in ("VALID", "INVALID") for t in rec["search"])
    assert rec["qps"] in (None, *[t["offered_qps"] for t in rec["search"] if t["verdict"] == "VALID"])
    for t in rec["search"]:
        assert (tmp_path / "serve" / "d1" / "Server" / t["log_dir"] / "mlperf_log_summary.txt").is_file()


def test_a_model_with_no_trained_weights_records_skipped(trained, tmp_path):
    task, data, _ = trained
    spec = ServeSpec.model_validate({**SERVE, "scenarios": ["Offline"]})
    suite = SimpleNamespace(serve=spec, tasks=[task], name="t")
    ctx = SimpleNamespace(suite=suite, run_dir=tmp_path, dtype="fp32", seed=0, store=RecordStore(tmp_path),
                          trained={}, common=lambda *a, **k: {"kind": "serve"})
    assert run_serve(ctx, [data]) == []
    (rec,) = read_records(tmp_path)
    assert rec["cell"] == "serve/classification/d1/Offline" and rec["status"] == "skipped"
    assert "no trained model" in rec["error"]  # not in memory, no checkpoint in the run folder to rebuild it from


def test_run_writes_serve_records_table_and_plot(write_suite, tmp_path):
    serve_section = {**SERVE, "qps_min": 20, "qps_max": 300, "models": ["d1"]}
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(tiny_suite(serve=serve_section))), "--out", str(out), "--no-progress"]) == 0
    (rd,) = [p for p in out.iterdir() if p.is_dir()]
    serve = {r["cell"]: r for r in read_records(rd) if r["kind"] == "serve"}
    assert set(serve) == {f"serve/classification/d1/{s}" for s in ("SingleStream", "Offline", "Server")}
    assert all(r["model"] == "dummy" and r["name"] == "d1" and r["split"] == "validation" for r in serve.values())
    assert "Serving (MLPerf LoadGen)" in (rd / "report.md").read_text()
    assert (rd / "serve.csv").is_file() and (rd / "plots" / "serve_p99_vs_qps.png").is_file()
    json.dumps(list(serve.values()))  # records are plain JSON
