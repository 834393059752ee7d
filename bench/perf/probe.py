"""A short matmul probe of this machine's peak GFLOP/s.

Each cell divides its achieved GFLOP/s by a probe run in the same worker
process, at the cell's dtype and thread count, right before it
(`worker_peak`, cached per (device, dtype, threads) per process), and taken
with the cell's own statistic, the median: a Ray cell on `num_cpus` threads or
a bf16 cell is no longer set against an fp32, all-threads, best-sample peak.
The record stores that denominator (`peak_gflops`) beside `peak_fraction`.
The run-level probe in run.json (fp32 on CPU, bf16 on CUDA) describes the machine.
"""

from __future__ import annotations

import torch

from nlpbench.perf.trackers import measure_latency
from nlpbench.precision import TORCH_DTYPES

DEFAULT_N = {"cpu": 1024, "cuda": 8192}
DEFAULT_DTYPE = {"cpu": "fp32", "cuda": "bf16"}


def probe_peak_gflops(
    device: str | torch.device = "cpu", dtype: str | None = None, n: int | None = None, seconds: float = 0.5
) -> dict:
    """Times an n×n @ n×n matmul for ~`seconds`; returns {device, dtype, n, gflops, matmul_ms}."""
    device = torch.device(device)
    dtype = dtype or DEFAULT_DTYPE[device.type]
    n = n or DEFAULT_N[device.type]
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device, TORCH_DTYPES[dtype])
    b = torch.randn(n, n, generator=gen).to(device, TORCH_DTYPES[dtype])
    out = torch.empty(n, n, device=device, dtype=TORCH_DTYPES[dtype])

    def step():
        torch.mm(a, b, out=out)

    for _ in range(2):  # warm-up: thread pool, cuBLAS handles, clocks
        step()
    lat, _ = measure_latency(step, device, min_iters=5, min_seconds=seconds)
    return {
        "device": device.type,
        "dtype": dtype,
        "n": n,
        "threads": torch.get_num_threads(),
        "statistic": "median",
        "gflops": 2 * n**3 / (lat.p50 / 1e3) / 1e9,
        "matmul_ms": lat.p50,
    }


_PEAKS: dict[tuple, dict] = {}


def worker_peak(device: str, dtype: str, seconds: float = 0.3) -> dict:
    """This process's probe for (device, dtype, current thread count), run once and cached."""
    key = (torch.device(device).type, dtype, torch.get_num_threads())
    if key not in _PEAKS:
        _PEAKS[key] = probe_peak_gflops(device, dtype, seconds=seconds)
    return _PEAKS[key]
