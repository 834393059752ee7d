"""A PerfCellSpec factory for the perf tests; makes the test adapters importable by child processes."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def make_spec():
    from nlpbench.perf import PerfCellSpec

    def make(**over) -> PerfCellSpec:
        d = {
            "adapter": "dummy",
            "name": "dummy",
            "params": {},
            "task": "classification",
            "num_labels": 2,
            "mode": "forward",
            "batch_size": 4,
            "seq_len": 16,
            "dtype": "fp32",
            "compile": False,
            "warmup": 2,
            "min_iters": 5,
            "min_seconds": 0.02,
            "max_new_tokens": 4,
            "device": "cpu",
            "seed": 0,
        }
        d.update(over)
        d.setdefault("cell", f"perf/{d['name']}/{d['mode']}/{d['dtype']}/b{d['batch_size']}/s{d['seq_len']}")
        return PerfCellSpec(**d)

    return make


@pytest.fixture
def child_path(monkeypatch):
    """Lets a `process` launcher child import perf_test_adapters (spec.imports)."""
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    return HERE
