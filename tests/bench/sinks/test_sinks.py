"""Tracker sinks (bench/sinks): each read back with the tool's own reader; each skips without its extra."""
from __future__ import annotations

import json
import sys

import pytest

from nlpbench.cli import main
from nlpbench.sinks import flatten, send
from nlpbench.store.results import read_records
from tests.bench.quality.test_trained import only_dir
from tests.bench.report.test_report import fake_records, make_run
from tests.conftest import tiny_suite


def test_flatten_splits_params_from_metrics():
    rec = next(r for r in fake_records() if r["kind"] == "perf" and r["status"] == "ok")
    p, m = flatten.params(rec), flatten.metrics(rec)
    assert p["cell"] == rec["cell"] and p["batch_size"] == str(rec["batch_size"]) and p["mode"] == rec["mode"]
    assert m["latency_ms.p50"] == rec["latency_ms"]["p50"] and m["throughput.tokens_per_s"] > 0
    assert "batch_size" not in m and "seed" not in m and not any(k.startswith("params.") for k in m)
    q = next(r for r in fake_records() if r["kind"] == "quality")
    assert flatten.metrics(q)["metrics.accuracy_ci95.1"] == q["metrics"]["accuracy_ci95"][1]
    assert flatten.params(q)["params.hidden_size"] == "64"


@pytest.fixture(scope="module")
def sent_run(tmp_path_factory):
    """A tiny real run sent with --log-to mlflow,tensorboard (file store and event files in tmp)."""
    pytest.importorskip("mlflow")
    pytest.importorskip("tensorboard")
    tmp = tmp_path_factory.mktemp("sinks")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", (tmp / "mlruns").as_uri())
    mp.setenv("NLPBENCH_TENSORBOARD_DIR", str(tmp / "tb"))
    suite = tmp / "suite.yaml"
    suite.write_text(json.dumps(tiny_suite()))
    try:
        assert main(["run", str(suite), "--no-progress", "--out", str(tmp / "runs"), "--log-to", "mlflow,tensorboard"]) == 0
    finally:
        mp.undo()
    run = only_dir(tmp / "runs")
    return tmp, run, {r["cell"]: r for r in read_records(run)}


def test_mlflow_file_store_reads_back_the_runs_metrics(sent_run):
    from mlflow.tracking import MlflowClient

    tmp, run, records = sent_run
    client = MlflowClient(tracking_uri=(tmp / "mlruns").as_uri())
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.info.run_name == run.name]
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert set(children) == set(records)
    cell = "quality/classification/d1/test"
    got = children[cell].data
    assert got.metrics["metrics.accuracy"] == pytest.approx(records[cell]["metrics"]["accuracy"])
    assert got.params["name"] == "d1" and got.params["split"] == "test" and "train.lr" in got.params
    curve = client.get_metric_history(children[cell].info.run_id, "validation_score")
    assert [m.step for m in curve] == [h["step"] for h in records[cell]["fit"]["history"]]
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"report.md", "run.json", "quality_classification.csv"} <= artifacts


def test_tensorboard_event_files_read_back(sent_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tmp, run, records = sent_run
    acc = EventAccumulator(str(tmp / "tb" / run.name))
    acc.Reload()
    cell = "quality/classification/d2/validation"
    (point,) = acc.Scalars(f"{cell}/metrics.accuracy")
    assert point.value == pytest.approx(records[cell]["metrics"]["accuracy"], abs=1e-6)
    assert len(acc.Scalars(f"{cell}/validation_score")) == len(records[cell]["fit"]["history"])


def test_wandb_offline_writes_its_files(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = make_run(tmp_path, "r1", fake_records())
    (run / "report.md").write_text("# report\n")
    where = send(run, ["wandb"], strict=True)["wandb"]
    assert where.startswith("offline run")
    (offline,) = (tmp_path / "wb" / "wandb").glob("offline-run-*")
    assert list(offline.glob("run-*.wandb"))  # the run's records, for `wandb sync`
    (table,) = offline.glob("files/media/table/records_*.table.json")
    data = json.loads(table.read_text())
    col = data["columns"].index("metrics.accuracy")
    assert sorted(row[col] for row in data["data"] if row[col] is not None) == sorted(
        r["metrics"]["accuracy"] for r in fake_records() if r.get("task") == "classification" and "metrics" in r)


def test_a_missing_extra_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if the extra were not installed
    suite = tmp_path / "suite.yaml"
    suite.write_text(json.dumps(tiny_suite()))
    assert main(["validate", str(suite), "log_to=[wandb]"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "pip install -e '.[wandb]'" in line and line.startswith("nlpbench: log_to: 'wandb'")
    assert main(["run", str(suite), "--log-to", "wandb", "--out", str(tmp_path / "runs")]) == 2
    assert not (tmp_path / "runs").exists()  # refused before anything ran
    assert main(["run", str(suite), "--log-to", "mlfow", "--out", str(tmp_path / "runs")]) == 2
    assert "mlflow" in capsys.readouterr().err
    run = make_run(tmp_path, "r1", fake_records())
    assert main(["report", str(run), "--to", "wandb"]) == 2
    assert not (run / "report.md").exists()


def test_a_failing_sink_warns_and_loses_nothing(tmp_path, monkeypatch, capsys):
    pytest.importorskip("tensorboard")
    from nlpbench.sinks import tensorboard_sink

    def down(run):
        raise ConnectionError("server down")

    monkeypatch.setattr(tensorboard_sink, "send", down)
    run = make_run(tmp_path, "r1", fake_records())
    before = (run / "records.jsonl").read_text()
    assert send(run, ["tensorboard"]) == {}
    err = capsys.readouterr().err
    assert "sink tensorboard failed: ConnectionError: server down" in err and "--to tensorboard" in err
    assert (run / "records.jsonl").read_text() == before
    with pytest.raises(ConnectionError):
        send(run, ["tensorboard"], strict=True)
