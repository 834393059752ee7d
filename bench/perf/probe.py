"""This machine's peak GFLOP/s: the best of several GEMM shapes, at the dtype and thread count in use.

Each cell divides its achieved GFLOP/s by a probe run in the same worker
process, at the cell's dtype and thread count (`worker_peak`, cached per
(device, dtype, threads) per process), taken with the cell's own statistic,
the median. One 1024² matmul was not a peak (issue 31: cells read up to 1.42
of it: oneDNN runs some shapes, e.g. an LSTM's tall input projection, faster),
so the probe times every shape of `SHAPES` and keeps the best. Beside it the
ISA-and-clock ceiling (nlpbench.perf.ceiling) says what the hardware could do.

A fraction of peak above 1 is never written (nlpbench.perf.timing): a cell
faster than the probe becomes the peak itself (`peak_source` says so), and
`raise_peak` makes it the denominator of this process's later cells. The record
stores its denominator (`peak_gflops`, `peak_source`) beside `peak_fraction`;
the run-level probe in run.json (fp32 on CPU, bf16 on CUDA) describes the machine.
"""

from __future__ import annotations

import torch

from nlpbench.perf.ceiling import isa_ceiling
from nlpbench.perf.trackers import measure_latency
from nlpbench.precision import TORCH_DTYPES

DEFAULT_DTYPE = {"cpu": "fp32", "cuda": "bf16"}
# (m, k, n), about 2 GFLOP each on CPU (tens of ms on 2 cores): square, tall (tokens x features -> 4 hidden, an
# LSTM's input projection or a feed-forward layer) and wide (a few rows against a large weight)
SHAPES = {"cpu": [(1024, 1024, 1024), (4096, 256, 1024), (256, 1024, 4096)],
          "cuda": [(8192, 8192, 8192), (16384, 4096, 4096), (4096, 4096, 16384)]}  # fmt: skip


def time_gemm(m: int, k: int, n: int, device: torch.device, dtype: str, seconds: float) -> dict:
    """One shape's median GFLOP/s over ~`seconds` (two untimed steps first: thread pool, handles, clocks)."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen).to(device, TORCH_DTYPES[dtype])
    b = torch.randn(k, n, generator=gen).to(device, TORCH_DTYPES[dtype])
    out = torch.empty(m, n, device=device, dtype=TORCH_DTYPES[dtype])

    def step():
        torch.mm(a, b, out=out)

    for _ in range(2):
        step()
    lat, _ = measure_latency(step, device, min_iters=3, min_seconds=seconds)
    return {"shape": [m, k, n], "gflops": 2 * m * k * n / (lat.p50 / 1e3) / 1e9, "matmul_ms": lat.p50}


def probe_peak_gflops(device: str | torch.device = "cpu", dtype: str | None = None, n: int | None = None,
                      seconds: float = 0.8, shapes: list[tuple[int, int, int]] | None = None) -> dict:  # fmt: skip
    """The best of `shapes` (default `SHAPES`; `n`: one n×n×n shape) over ~`seconds` in all; returns
    {device, dtype, n, threads, statistic, gflops, matmul_ms, shape, shapes: [...], ceiling: {...}}."""
    device = torch.device(device)
    dtype = dtype or DEFAULT_DTYPE[device.type]
    shapes = [(n, n, n)] if n else (shapes or SHAPES[device.type])
    timed = [time_gemm(*s, device, dtype, seconds / len(shapes)) for s in shapes]
    best = max(timed, key=lambda t: t["gflops"])
    threads = torch.get_num_threads()
    return {"device": device.type, "dtype": dtype, "n": best["shape"][0], "threads": threads, "statistic": "median",
            "gflops": best["gflops"], "matmul_ms": best["matmul_ms"], "shape": best["shape"], "shapes": timed,
            "source": "probe", "ceiling": isa_ceiling(device.type, dtype, threads)}  # fmt: skip


_PEAKS: dict[tuple, dict] = {}


def _key(device: str, dtype: str) -> tuple:
    return torch.device(device).type, dtype, torch.get_num_threads()


def worker_peak(device: str, dtype: str, seconds: float = 0.4) -> dict:
    """This process's peak for (device, dtype, current thread count): the probe, run once and cached, or a
    faster cell's rate (`raise_peak`)."""
    key = _key(device, dtype)
    if key not in _PEAKS:
        _PEAKS[key] = probe_peak_gflops(device, dtype, seconds=seconds)
    return _PEAKS[key]


def raise_peak(device: str, dtype: str, gflops: float | None, cell: str) -> bool:
    """A cell that ran faster than this process's peak becomes it (the later cells' denominator), with
    `source` naming it; True when it did."""
    peak = _PEAKS.get(_key(device, dtype))
    if peak is None or not gflops or gflops <= peak["gflops"]:
        return False
    _PEAKS[_key(device, dtype)] = {**peak, "gflops": gflops, "source": f"cell {cell}",
                                   "probe_gflops": peak.get("probe_gflops", peak["gflops"])}  # fmt: skip
    return True


def ceiling_line(probe: dict) -> str:
    """One line for the console: the measured peak and, beside it, the ISA-and-clock ceiling."""
    c = probe.get("ceiling") or {}
    shapes = "x".join(map(str, probe.get("shape") or [probe.get("n")] * 3))
    ceiling = f"{c['gflops']:.0f} GFLOP/s ({c['why']})" if c.get("gflops") else (c.get("why") or "unknown")
    return (f"matmul probe: {probe.get('gflops', 0):.1f} GFLOP/s peak ({probe.get('dtype')}, {probe.get('threads')} "
            f"threads, best of {len(probe.get('shapes') or [1])} GEMM shapes: {shapes}); ISA-and-clock ceiling "
            f"{ceiling}")  # fmt: skip
