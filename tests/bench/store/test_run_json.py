"""run.json as written when a run starts: the old keys unchanged, plus `environment` with the data's hashes."""
from __future__ import annotations

import json

import torch

from nlpbench import env
from nlpbench.context import Context
from nlpbench.data import load_all_data
from nlpbench.store.results import RecordStore
from nlpbench.store.run_json import write_run_json
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite


def test_run_json_records_environment_and_data_hashes(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPBENCH_DATA", str(tmp_path / "data"))
    suite = validate(tiny_suite())
    data = load_all_data(suite, None)
    ctx = Context(suite, tmp_path, torch.device("cpu"), "fp32", 0, False, RecordStore(tmp_path))
    write_run_json(ctx, ["run", "tiny"], {"config": suite.model_dump(mode="json")}, data)
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["machine"] == env.machine(torch.device("cpu"))  # the gate's fingerprint keeps its keys
    assert meta["versions"]["torch"] == torch.__version__
    e = meta["environment"]
    assert e["data_dir"] == str(tmp_path / "data")
    assert e["packages"]["torch"] == torch.__version__ and e["ram_gb"] > 0 and e["cores"]["logical"] >= 1
    splits = e["data"]["classification"]["splits"]
    assert {s: v["n"] for s, v in splits.items()} == {"train": 200, "validation": 50, "test": 50}
    assert all(len(v["sha256"]) == 64 for v in splits.values())


def test_run_json_without_data_still_has_environment(tmp_path):
    suite = validate(tiny_suite())
    ctx = Context(suite, tmp_path, torch.device("cpu"), "fp32", 0, False, RecordStore(tmp_path))
    write_run_json(ctx, [], {})  # older callers pass no data
    assert json.loads((tmp_path / "run.json").read_text())["environment"]["data"] == {}
