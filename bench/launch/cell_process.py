"""`launcher: process`: each cell in a fresh interpreter, plus the helpers `torchrun` shares.

Optimum-benchmark's isolation: each cell gets a clean allocator and a clean
peak-RSS, and a crash (segfault, `os._exit`, the OOM killer) ends only the
child; it comes back as `status: error` with the exit code and the tail of the
child's stderr. The child is `python -m nlpbench.perf.cell SPEC OUT`; it writes
its record as JSON, so nothing but the record crosses back.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from nlpbench.launch.lifecycle import die_with_parent
from nlpbench.perf.cell import THREADS_ENV, PerfCellSpec, base_record


def exit_reason(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (the OOM killer sends this)" if -code == signal.SIGKILL else ""
        return f"cell process killed by signal {name}{hint}"
    return f"cell process exited with code {code} without a result"


def child_env() -> dict:
    env = dict(os.environ)
    env[THREADS_ENV] = str(torch.get_num_threads())  # the parent's count, as run.json records it
    return env


def run_in_process(spec: PerfCellSpec, timeout_s: float | None = None) -> dict:
    """Runs the cell in a fresh interpreter; any way the child dies becomes a record."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nlpbench-cell-") as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "out.json")
        spec_path.write_text(spec.to_json())
        cmd = [sys.executable, "-m", "nlpbench.perf.cell", str(spec_path), str(out_path)]
        try:
            proc = subprocess.run(
                cmd,
                check=False,
                env=child_env(),
                preexec_fn=die_with_parent,  # a killed driver leaves no cell running
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=timeout_s,
                text=True,
                errors="replace",
            )
        except subprocess.TimeoutExpired:
            return _failed(spec, f"cell process timed out after {timeout_s:g} s", t0)
        if out_path.exists():
            rec = json.loads(out_path.read_text())
            rec["launcher"] = "process"
            return rec
    tail = " | ".join(line for line in proc.stderr.strip().splitlines()[-3:])
    return _failed(spec, exit_reason(proc.returncode) + (f"; stderr: {tail}" if tail else ""), t0)


def _failed(spec: PerfCellSpec, message: str, t0: float) -> dict:
    rec = base_record(spec, "error", message)
    rec.update(wall_s=time.perf_counter() - t0, launcher="process")
    return rec
