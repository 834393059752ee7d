"""What every part of a run shares: the suite, the run folder, the device, where records go; and `log`."""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from nlpbench import env

if TYPE_CHECKING:  # annotations only: the context sits below the suite and the store
    from nlpbench.store.results import RecordStore
    from nlpbench.suite.schema import Suite


@dataclass
class Context:
    suite: Suite
    run_dir: Path
    device: torch.device
    dtype: str
    seed: int
    progress: bool
    store: RecordStore
    peak_gflops: float | None = None  # matmul probe, for perf cells' fraction of peak
    # (task label, model label) -> the adapter trained in this process (best weights restored), for the
    # work that follows training and must measure the same model: perf pairing, variants, serving.
    # Cells skipped by --resume are absent here (reload them from the run folder).
    trained: dict = field(default_factory=dict)
    extra: dict = field(default_factory=lambda: {"launcher": "inline"})  # keys every quality record of this process gets
    data_dir: str | None = None  # --data-dir, for workers that load their own data

    def with_seed(self, seed: int) -> Context:
        """The same run at another seed (units of a `seeds` suite); `trained` stays shared."""
        return dataclasses.replace(self, seed=seed)

    def common(self, task: str, dataset: str, model, split: str | None, kind: str) -> dict:
        return {
            "kind": kind, "suite": self.suite.name, "task": task, "dataset": dataset, "split": split,
            "model": model.adapter, "name": model.label, "device": self.device.type,
            "device_name": env.device_name(self.device), "dtype": self.dtype, "seed": self.seed,
        }  # fmt: skip


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
