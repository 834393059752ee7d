"""One training unit in a child interpreter or a Ray task (`run_unit`, the entry of its job: nlpbench.launch.units).

The spec (`unit_spec`) carries the validated suite, the unit, the run folder
and the data dir, so the worker needs nothing from the driver's memory: it
loads its task's data (seeded, as the driver does), trains, scores and writes
predictions, checkpoint and tokenizer cache into the run folder, and returns
the unit's finished records (nlpbench.quality.units.finish) for the driver to append.

Where the run folder is not visible (a Ray node on another machine: no
`run.json` at that path), the worker writes into a temporary folder instead
and returns its files as a tar archive (`files_tar`), which the driver unpacks
into the run folder (`unpack`): a shared folder is faster, nothing else differs.
"""
from __future__ import annotations

import dataclasses
import io
import os
import shutil
import socket
import tarfile
import tempfile
from importlib import import_module
from pathlib import Path

import torch

from nlpbench import env
from nlpbench.quality.units import Unit, failure, finish, unit_records

LOG_DIR = "logs"  # RUN_DIR/logs/<task>-<model>[-seed<k>].log and .status.json


def unit_spec(suite, unit: Unit, run_dir: Path, data_dir: str | None, threads: int, launcher: str, imports=()) -> dict:
    return {
        "suite": suite.model_dump(mode="json"), "unit": dataclasses.asdict(unit), "run_dir": str(Path(run_dir).resolve()),
        "data_dir": data_dir, "threads": threads, "launcher": launcher, "imports": list(imports),
    }  # fmt: skip


def worker_imports(suite, unit: Unit) -> list[str]:
    """Modules a worker imports before the unit: where its adapter was registered, unless built in."""
    from nlpbench.registry import adapters

    model = suite.tasks[unit.task_index].models[unit.model_index]
    cls = adapters().get(model.adapter)
    module = cls.__module__ if cls else "nlpbench.models"
    return [] if module == "nlpbench.models" or module.startswith("nlpbench.models.") else [module]


def log_path(run_dir: Path, unit: Unit) -> Path:
    return Path(run_dir) / LOG_DIR / f"{unit.file_stem}.log"


def status_path(run_dir: Path, unit: Unit) -> Path:
    return Path(run_dir) / LOG_DIR / f"{unit.file_stem}.status.json"


def node_info(device: torch.device) -> dict:
    return {"hostname": socket.gethostname(), "pid": os.getpid(), "device_name": env.device_name(device)}


def lost_unit(ctx, data, unit: Unit, status: str, message: str, started: str, wall_s: float, launcher: str,
              node: dict) -> list[dict]:
    """The records of a unit whose worker returned none (died, timed out, lost): `status` and why, per split."""
    return finish(ctx.with_seed(unit.seed), unit, failure(unit, status, message), data[unit.task_index].dataset,
                  started, wall_s, launcher=launcher, node=node, log=str(log_path(Path("."), unit)))  # fmt: skip


def run_unit(spec: dict) -> dict:
    """Trains and scores the spec's unit here; {records, failed, files_tar (only when the run folder is not visible)}."""
    from nlpbench.context import Context
    from nlpbench.data import load_task_data
    from nlpbench.store.results import RecordStore
    from nlpbench.suite.schema import Suite

    for module in spec["imports"]:  # plugins and test adapters register themselves on import
        import_module(module)
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    suite, unit = Suite.model_validate(spec["suite"]), Unit.from_json(spec["unit"])
    run_dir = Path(spec["run_dir"])
    shared = (run_dir / "run.json").is_file()
    work = run_dir if shared else Path(tempfile.mkdtemp(prefix="nlpbench-unit-"))
    task = suite.tasks[unit.task_index]
    data: list = [None] * len(suite.tasks)
    data[unit.task_index] = load_task_data(task, spec["data_dir"], suite.seed, at=f"tasks.{unit.task_index}.dataset")
    device = env.resolve_device(suite.device)
    ctx = Context(suite, work, device, suite.dtype, unit.seed, False, RecordStore(work))
    ctx.extra = {"launcher": spec["launcher"], "node": node_info(device),
                 "log": str(log_path(Path("."), unit))}  # fmt: skip
    records, failed = unit_records(ctx, unit, data)
    out = {"records": records, "failed": failed}
    if not shared:
        out["files_tar"] = pack(work)
        shutil.rmtree(work, ignore_errors=True)
    return out


def pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("predictions", "checkpoints", "cache", LOG_DIR, "errors.log"):
            if (folder / name).exists():
                tar.add(folder / name, arcname=name)
    return buf.getvalue()


def unpack(data: bytes, run_dir: Path) -> None:
    """A remote worker's files into the run folder (errors.log appended, not replaced)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.name == "errors.log":
                text = tar.extractfile(member).read().decode("utf-8", "replace")
                with open(Path(run_dir) / "errors.log", "a") as f:
                    f.write(text)
            else:
                tar.extract(member, run_dir, filter="data")
