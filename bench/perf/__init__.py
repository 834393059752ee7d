"""Perf cells: latency, throughput, memory and FLOPs of one adapter at one (mode, batch, seq, dtype).

    spec = PerfCellSpec(...)                 # nlpbench.perf.cell: everything a fresh process needs
    record = run_perf_cell(spec)             # one cell in this process (raises on failure)
    probe_peak_gflops("cpu")                 # this machine's matmul peak, for peak_fraction
    profile_cell(spec, out_dir)              # torch.profiler trace for TensorBoard

Names load lazily so `python -m nlpbench.perf.cell` (the process launcher's child)
does not find its own module already imported by this package.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "PerfCellSpec": "nlpbench.perf.cell",
    "run_perf_cell": "nlpbench.perf.cell",
    "run_cell_safely": "nlpbench.perf.cell",
    "probe_peak_gflops": "nlpbench.perf.probe",
    "profile_cell": "nlpbench.perf.profile",
    "Latency": "nlpbench.perf.trackers",
    "Memory": "nlpbench.perf.trackers",
    "Work": "nlpbench.perf.trackers",
    "track_latency": "nlpbench.perf.trackers",
    "track_memory": "nlpbench.perf.trackers",
    "track_flops": "nlpbench.perf.trackers",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = globals()[name] = getattr(import_module(_EXPORTS[name]), name)
        return value
    raise AttributeError(f"module 'nlpbench.perf' has no attribute '{name}'")
