"""Where a cell runs: `inline` (this process, fastest) or `process` (a fresh interpreter per cell).

`process` is optimum-benchmark's isolation: each cell gets a clean allocator
and a clean peak-RSS, and a crash (segfault, `os._exit`, the OOM killer) ends
only the child; it comes back as `status: error` with the exit code and the
tail of the child's stderr. The child is `python -m bench.perf.cell SPEC OUT`;
it writes its record as JSON, so nothing but the record crosses back.
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

from bench.errors import BadInput
from bench.perf.cell import THREADS_ENV, PerfCellSpec, base_record, run_cell_safely

LAUNCHERS = ("inline", "process", "ray", "torchrun")  # ray runs whole sweeps: bench.perf.ray_launcher
REPO_ROOT = Path(__file__).resolve().parents[2]


def pin_interop_threads() -> None:
    """One inter-op thread (torch's default is one per core): an idle pool of spinning inter-op threads
    competes with the intra-op threads doing the work. Possible only before any inter-op work started."""
    try:
        if torch.get_num_interop_threads() != 1:
            torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def run_inline(spec: PerfCellSpec, timeout_s: float | None = None) -> dict:
    """Runs the cell in this process (`timeout_s` is not enforced inline: nothing can stop a running step)."""
    return run_cell_safely(spec)


def _exit_reason(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (the OOM killer sends this)" if -code == signal.SIGKILL else ""
        return f"cell process killed by signal {name}{hint}"
    return f"cell process exited with code {code} without a result"


def _child_env() -> dict:
    env = dict(os.environ)
    # the child must import `bench` and `models` even when the repo is not installed
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env[THREADS_ENV] = str(torch.get_num_threads())  # the parent's count, as run.json records it
    return env


def run_in_process(spec: PerfCellSpec, timeout_s: float | None = None) -> dict:
    """Runs the cell in a fresh interpreter; any way the child dies becomes a record."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nlpbench-cell-") as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "out.json")
        spec_path.write_text(spec.to_json())
        cmd = [sys.executable, "-m", "bench.perf.cell", str(spec_path), str(out_path)]
        try:
            proc = subprocess.run(
                cmd,
                check=False,
                env=_child_env(),
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
    return _failed(spec, _exit_reason(proc.returncode) + (f"; stderr: {tail}" if tail else ""), t0)


def _failed(spec: PerfCellSpec, message: str, t0: float) -> dict:
    rec = base_record(spec, "error", message)
    rec.update(wall_s=time.perf_counter() - t0, launcher="process")
    return rec


def get_launcher(name: str, **options):
    """The function running one cell for a launcher name: (spec, timeout_s) -> record dict (never raises).

    `options`: the launcher's own settings (torchrun: `nproc`).
    """
    if name == "inline":
        pin_interop_threads()
        return run_inline
    if name == "process":
        return run_in_process
    if name == "torchrun":
        from functools import partial

        from bench.perf.torchrun import run_torchrun

        return partial(run_torchrun, **options)
    if name == "ray":
        raise ValueError("launcher 'ray' schedules whole sweeps: use bench.perf.sweep(specs, 'ray', write)")
    raise BadInput(f"perf.launcher: allowed {', '.join(LAUNCHERS)}; given '{name}'")
