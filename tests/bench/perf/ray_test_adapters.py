"""A dummy adapter whose process dies once, for the Ray crash test (imported by Ray workers via spec.imports).

`ray_crash_once`: the cell with `batch_size == crash_batch` kills its own
process with SIGKILL (as the OOM killer would) while `crash_file` exists,
deleting the file first; so the cell crashes once and succeeds when resumed.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from nlpbench.models.dummy import DummyAdapter, DummyConfig
from nlpbench.registry import register_adapter


@dataclass
class CrashOnceConfig(DummyConfig):
    crash_file: str | None = None
    crash_batch: int = 0


@register_adapter("ray_crash_once")
class CrashOnceAdapter(DummyAdapter):
    Config = CrashOnceConfig

    def synthetic_batch(self, batch_size, seq_len, generator) -> dict:
        if batch_size == self.cfg.crash_batch and self.cfg.crash_file:
            try:
                os.unlink(self.cfg.crash_file)  # atomic: only one process can win it
            except FileNotFoundError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().synthetic_batch(batch_size, seq_len, generator)
