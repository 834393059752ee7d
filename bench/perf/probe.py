"""A short matmul probe of this machine's peak GFLOP/s, recorded once per run in run.json.

Cells divide their achieved GFLOP/s by it (`peak_fraction`), which says how
far a model is from what the hardware can do at all. fp32 on CPU (what CPU
cells mostly run), bf16 on CUDA (tensor cores). The best of a few repeats is
the peak: the probe measures capability, not typical speed.
"""

from __future__ import annotations

import torch

from bench.precision import TORCH_DTYPES

from bench.perf.trackers import measure_latency

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
    best_ms = min(lat.samples_ms)
    return {
        "device": device.type,
        "dtype": dtype,
        "n": n,
        "gflops": 2 * n**3 / (best_ms / 1e3) / 1e9,
        "matmul_ms": best_ms,
    }
