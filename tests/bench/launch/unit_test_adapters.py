"""Test adapters for training units in worker processes (imported by the workers through `imports`).

`unit_fault`: the dummy classifier, plus a `marker` file that, while it exists, makes setup SIGKILL its own
process once (the marker is removed first, so a resumed run trains normally), `sleep_s` before setup, and a
`hold` file: setup waits while it exists (a unit kept running until the test lets it go).
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from nlpbench.models.dummy import DummyAdapter, DummyConfig
from nlpbench.registry import register_adapter


@dataclass
class UnitFaultConfig(DummyConfig):
    marker: str = ""  # a file: while it exists, setup kills this process (SIGKILL) after removing it
    sleep_s: float = 0.0  # seconds setup sleeps first (a unit that outlives a timeout)
    hold: str = ""  # a file: setup waits while it exists


@register_adapter("unit_fault")
class UnitFaultAdapter(DummyAdapter):
    Config = UnitFaultConfig

    def setup(self, train=None) -> None:
        if self.cfg.marker and os.path.exists(self.cfg.marker):
            os.remove(self.cfg.marker)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.cfg.sleep_s)
        while self.cfg.hold and os.path.exists(self.cfg.hold):
            time.sleep(0.1)
        super().setup(train)
