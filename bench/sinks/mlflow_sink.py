"""MLflow: experiment = the suite name; a parent run per run folder holding the report files as artifacts,
and a nested run per cell with its params, metrics and learning curve (`validation_score` by step).

Sent with `MlflowClient` in batches, to `$MLFLOW_TRACKING_URI`, else a file store `./mlruns` (MLflow 3's
own default is a SQLite file, which mlflow-skinny can't open). MLflow 3 keeps its file store in maintenance
mode behind `MLFLOW_ALLOW_FILE_STORE=true`; a file-store URI (ours or yours) sets it for this process unless
it is already set."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from nlpbench.sinks import RunFolder
from nlpbench.sinks.flatten import curve, metrics, params, report_files

BATCH = 100  # MLflow's limit of params per log_batch call (metrics: 1000)


def tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI") or Path("mlruns").resolve().as_uri()
    if uri.startswith("file:") or "://" not in uri:  # a file store: still the one mlflow-skinny can write
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def key(name: str) -> str:
    """MLflow keys allow letters, digits, _ - . space and /."""
    return re.sub(r"[^\w\-. /]", "_", name)


def _batches(items: list, size: int = BATCH):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def send(run: RunFolder) -> str:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    uri = tracking_uri()
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(run.suite)
    exp_id = found.experiment_id if found else client.create_experiment(run.suite)
    tags = {f"nlpbench.{k}": str(run.meta.get(k)) for k in ("git_sha", "status", "device") if run.meta.get(k) is not None}
    parent = client.create_run(exp_id, run_name=run.name, tags={**tags, "nlpbench.run_dir": str(run.path.resolve())})
    pid, now = parent.info.run_id, int(time.time() * 1000)
    for rec in run.records:
        child = client.create_run(exp_id, run_name=str(rec.get("cell")), tags={"mlflow.parentRunId": pid})
        cid = child.info.run_id
        ms = [Metric(key(k), v, now, 0) for k, v in metrics(rec).items()]
        ms += [Metric("validation_score", score, now, step) for step, score in curve(rec)]
        for chunk in _batches([Param(key(k), v) for k, v in params(rec).items()]):
            client.log_batch(cid, params=chunk)
        for chunk in _batches(ms, 1000):
            client.log_batch(cid, metrics=chunk)
        client.set_terminated(cid, status="FINISHED" if rec.get("status") == "ok" else "FAILED")
    for f in report_files(run.path):
        client.log_artifact(pid, str(f), artifact_path="plots" if f.parent.name == "plots" else None)
    client.set_terminated(pid, status="FINISHED" if run.meta.get("status", "ok") == "ok" else "FAILED")
    return f"{uri}, experiment '{run.suite}', run {pid} ({len(run.records)} cells)"
