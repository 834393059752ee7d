"""What every part of a run shares: the suite, the run folder, the device, where records go; and `log`.

`log` goes through Python `logging` (logger `nlpbench`): the console gets INFO and up (`-q`: warnings
only, `-v`: DEBUG too), and a run folder's `run.log` gets everything at DEBUG with timestamps
(`run_log`), so an inline run leaves a log file as worker units do.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
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


LOGGER = logging.getLogger("nlpbench")
LOG_FILE = "run.log"


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (pytest's capture, a redirected stream), not the one at setup."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass

    def emit(self, record):
        try:  # through tqdm: a line logged under a progress bar doesn't tear it
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def configure_logging(verbosity: int = 0) -> None:
    """The console handler: verbosity -1 (`-q`) warnings only, 0 info, 1+ (`-v`) debug. Idempotent."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    console = next((h for h in LOGGER.handlers if isinstance(h, _Stderr)), None)
    if console is None:
        console = _Stderr()
        console.setFormatter(logging.Formatter("%(message)s"))
        LOGGER.addHandler(console)
    console.setLevel(level)
    LOGGER.setLevel(logging.DEBUG)  # handlers filter; run.log wants everything
    LOGGER.propagate = False  # the caller's root logger would print every line twice


def log(msg: str, level: int = logging.INFO) -> None:
    if not LOGGER.handlers:  # the Python API without the CLI: print as before
        configure_logging()
    LOGGER.log(level, msg)


@contextlib.contextmanager
def run_log(run_dir: Path):
    """Everything logged while inside goes to RUN_DIR/run.log too (appended: a resumed run continues it)."""
    if not LOGGER.handlers:
        configure_logging()
    handler = logging.FileHandler(Path(run_dir) / LOG_FILE, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    LOGGER.addHandler(handler)
    try:
        yield handler
    except Exception:  # the traceback into the file only; the console gets the CLI's own line
        handler.handle(LOGGER.makeRecord(LOGGER.name, logging.ERROR, __file__, 0, "stopped by an exception", None,
                                         sys.exc_info()))
        raise
    finally:
        LOGGER.removeHandler(handler)
        handler.close()
