"""The record schema: one line of `records.jsonl` per finished cell, as typed models.

Every writer builds its record here (`quality_record`, `perf_record`, `failed_record`) and every reader
loads through `parse`, so a field the harness writes is declared once, with its type. Records are
open: a field a plugin or a newer version adds is kept as it is (`extra="allow"`), and a record an
older version wrote still loads, its missing optional fields defaulting to None.

`GATED` says which numbers the regression gate (`nlpbench.gate.compare`) checks per kind; a gated number the
baseline has and the new run lacks is a regression, so a renamed field can't switch the gate off.
"""
from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

KINDS = ("quality", "perf", "serve")
# unsupported: a deployment variant that can't run this model (the record says why)
# timeout: a training unit stopped past the suite's `timeout_minutes` (process/ray launchers); re-tried by --resume
# diverged: training met a non-finite loss (`diverged_step`, `diverged_loss`); the same suite diverges again
STATUSES = ("ok", "oom", "error", "skipped", "unsupported", "timeout", "diverged")
DONE = frozenset({"ok", "oom", "skipped", "unsupported", "diverged"})  # --resume re-tries only missing and `error` cells
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> str:
    """A record's and run.json's timestamps: UTC, ISO 8601, seconds."""
    return time.strftime(TIME_FORMAT, time.gmtime())


class Record(BaseModel):
    """Keys every cell has (see ../shared/design.md, "A record")."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    cell: str
    kind: str
    status: str = "ok"
    error: str | None = None  # the message, when status is not ok
    suite: str | None = None
    task: str | None = None
    dataset: str | None = None
    split: str | None = None
    model: str | None = None  # adapter name
    name: str | None = None  # the model's label in its suite
    params: dict[str, Any] | None = None
    device: str | None = None
    device_name: str | None = None
    dtype: str | None = None
    seed: int | None = None
    started_at: str | None = None
    wall_s: float | None = None


class QualityRecord(Record):
    metrics: dict[str, Any] | None = None  # {"accuracy": .., "accuracy_ci95": [lo, hi], ...}
    n_params: int | None = None
    init: str | None = None  # random | mlm:<steps> | pretrained:<checkpoint>
    setup_s: float | None = None
    train_s: float | None = None
    train_examples_per_s: float | None = None
    launcher: str | None = None  # inline | process | ray: where the unit trained (absent: inline, older runs)
    node: dict[str, Any] | None = None  # {hostname, device_name, pid} of the worker (process, ray)
    log: str | None = None  # the unit's log, relative to the run folder (process, ray)
    eval_examples_per_s: float | None = None
    n_eval: int | None = None
    data_sha256: str | None = None  # sha256 over the evaluated split (nlpbench.data.identity)
    train: dict[str, Any] | None = None  # resolved TrainConfig
    fit: dict[str, Any] | None = None  # steps, epochs, stop reason, validation history
    samples: list[dict[str, Any]] | None = None  # a few predictions to eyeball
    diverged_step: int | None = None  # status diverged: the optimiser step whose loss was not finite (1-based)
    diverged_loss: str | None = None  # ... and that loss, "nan", "inf" or "-inf" (JSON has no such numbers)
    train_flops: float | None = None  # training FLOPs spent (nlpbench.tune.budget.StepFlops; validation not counted)
    train_flops_complete: bool | None = None  # false: a matmul-like op had no FLOP formula
    train_gflops_per_s: float | None = None  # achieved, validation passes left out
    peak_gflops: float | None = None  # this worker's matmul probe (nlpbench.perf.probe.worker_peak)
    peak_fraction: float | None = None  # train_gflops_per_s / peak_gflops
    # the tune stage (nlpbench.tune): trial | default | confirm, and what the trial was
    tune_role: str | None = None
    trial: int | None = None
    study: int | None = None
    space: str | None = None
    tune_params: dict[str, Any] | None = None
    budget: dict[str, Any] | None = None


class PerfRecord(Record):
    mode: str | None = None  # forward | train_step | generate
    batch_size: int | None = None
    seq_len: int | None = None
    compile: bool | None = None
    compile_s: float | None = None
    latency_ms: dict[str, Any] | None = None  # mean, p50, p90, p99, std, iqr, n
    throughput: dict[str, Any] | None = None  # samples_per_s, tokens_per_s
    peak_memory_mb: float | None = None
    peak_reserved_mb: float | None = None
    memory_kind: str | None = None  # cuda_allocated | cuda_reserved | cpu_rss
    memory_method: str | None = None
    flops: float | None = None
    achieved_gflops: float | None = None
    peak_fraction: float | None = None
    noisy: bool | None = None
    time_to_first_token_ms: float | None = None
    per_token_ms: float | None = None
    timed_s: float | None = None
    n_params: int | None = None
    threads: int | None = None
    launcher: str | None = None


class ServeRecord(Record):
    """A trained model behind the dynamic batcher under MLPerf LoadGen (bench/serve): one scenario."""

    scenario: str | None = None  # SingleStream | Offline | Server
    verdict: str | None = None  # LoadGen's VALID / INVALID
    latency_ms: dict[str, Any] | None = None
    qps: float | None = None
    metrics: dict[str, Any] | None = None  # the task's metrics on the answers given under load
    agreement: float | None = None  # answers under load that equal the batch evaluation's


SCHEMAS: dict[str, type[Record]] = {"quality": QualityRecord, "perf": PerfRecord, "serve": ServeRecord}

# Numbers the gate checks, per kind: (label, dotted path, direction key). Quality metrics come from the
# record's own `metrics` and `nlpbench.tasks.METRICS`; these are the perf ones.
PERF_GATED = (
    ("latency_p50_ms", "latency_ms.p50"),
    ("samples_per_s", "throughput.samples_per_s"),
)


class RecordError(ValueError):
    """A record that does not fit its schema (a writer's bug, or a corrupt line)."""


def _validate(schema: type[Record], data: dict) -> Record:
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise RecordError(f"record {data.get('cell')!r}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def parse(data: dict) -> Record:
    """A stored record as its typed model (unknown kinds as a plain `Record`)."""
    return _validate(SCHEMAS.get(str(data.get("kind")), Record), data)


def _build(schema: type[Record], fields: dict) -> dict:
    return _validate(schema, fields).model_dump(mode="json", exclude_unset=True)


def quality_record(**fields) -> dict:
    """A quality cell's record, checked against `QualityRecord`, as the JSON-ready dict to store."""
    return _build(QualityRecord, {"kind": "quality", "status": "ok", **fields})


def perf_record(**fields) -> dict:
    return _build(PerfRecord, {"kind": "perf", "status": "ok", **fields})


def record(kind: str, **fields) -> dict:
    """Any kind's record (a plugin's kind is checked against the common fields only)."""
    return _build(SCHEMAS.get(kind, Record), {"kind": kind, "status": "ok", **fields})


def failed_record(kind: str, cell: str, status: str, error: str, **fields) -> dict:
    """A cell that did not produce numbers: status oom, error, skipped or unsupported, with its one-line reason."""
    if status not in STATUSES or status == "ok":
        raise RecordError(f"failed_record: status must be one of {', '.join(STATUSES[1:])}; given {status!r}")
    return record(kind, cell=cell, status=status, error=error, **fields)
