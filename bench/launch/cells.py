"""Where a cell runs, by launcher name:

- `inline`: in this process (fastest; the allocator and RSS carry over between cells);
- `process`: a fresh interpreter per cell (nlpbench.launch.cell_process), optimum-benchmark's isolation;
- `torchrun`: `train_step` cells under DDP on `nproc` processes (nlpbench.launch.torchrun);
- `ray`: every cell a Ray task; Ray schedules the whole sweep (nlpbench.launch.cell_ray, via `sweep`).
"""

from __future__ import annotations

from functools import partial

import torch

from nlpbench.errors import BadInput
from nlpbench.launch.cell_process import run_in_process
from nlpbench.launch.torchrun import run_torchrun
from nlpbench.perf.cell import PerfCellSpec, run_cell_safely

LAUNCHERS = ("inline", "process", "ray", "torchrun")  # ray runs whole sweeps: nlpbench.launch.cell_ray


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
        return partial(run_torchrun, **options)
    if name == "ray":
        raise ValueError("launcher 'ray' schedules whole sweeps: use nlpbench.perf.sweep(specs, 'ray', write)")
    raise BadInput(f"perf.launcher: allowed {', '.join(LAUNCHERS)}; given '{name}'")
