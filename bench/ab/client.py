"""The driver's handle on one side's worker process (nlpbench.ab.worker): start, ask, stop.

A worker that dies is started again for the next cell, so one crashing cell
costs that cell only; its answer becomes a `WorkerError` the caller records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "worker.py"  # run by path: it imports the side's nlpbench, not ours


class WorkerError(RuntimeError):
    """The worker answered with an error, or died; `oom` when it ran out of memory."""

    def __init__(self, message: str, oom: bool = False):
        super().__init__(message)
        self.oom = oom


class Worker:
    """One side's long-lived worker: `ask({"op": ...})` -> its answer (raises WorkerError)."""

    def __init__(self, root: Path, log: Path, threads: int | None = None, python: str = sys.executable):
        self.root, self.log, self.threads, self.python = Path(root), Path(log), threads, python
        self.proc: subprocess.Popen | None = None
        self.hello: dict = {}

    def start(self) -> dict:
        """Starts the worker (if `spawn` did not already) and returns its hello: which nlpbench it imported."""
        if not self.alive():
            self.spawn()
        self.hello = self._ask({"op": "hello", "threads": self.threads})
        return self.hello

    def spawn(self) -> None:
        """Starts the process without waiting for it: two sides (and the driver) import torch at once."""
        with open(self.log, "a") as log:  # a file, not a pipe: a chatty worker must never block on it
            self.proc = subprocess.Popen(
                [self.python, str(WORKER), str(self.root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, text=True, bufsize=1, cwd=self.root,
            )  # fmt: skip

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ask(self, msg: dict) -> dict:
        if not self.alive():
            self.start()  # a worker that died is replaced for the next request
        return self._ask(msg)

    def _ask(self, msg: dict) -> dict:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            raise WorkerError(self._death())
        out = json.loads(line)
        if "error" in out:
            raise WorkerError(out["error"], out.get("oom", False))
        return out

    def _death(self) -> str:
        """Why the worker is gone: its exit code and the last lines of its log."""
        self.proc.kill()
        code = self.proc.wait()
        tail = " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:]) if self.log.exists() else ""
        self.proc = None
        return f"worker exited with code {code}" + (f"; stderr: {tail}" if tail else "")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.alive():
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc = None
