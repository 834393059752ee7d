"""The ISA-and-clock ceiling of a CPU: cores × FLOPs per cycle for its widest vector ISA × clock.

A measured peak (nlpbench.perf.probe) says what this machine did; the ceiling
says what its hardware could do at most, so a reader can tell a probe that
under-read (a cell above it) from a machine that is simply slow. It is an upper
bound, assuming two fused multiply-add pipes per core at the widest vector
width the flags advertise (AVX-512: 2 × 16 lanes × 2 FLOPs = 64 fp32 FLOPs a
cycle; AVX2+FMA: 32; AVX: 16; SSE: 8) and, for bf16/fp16, the matrix or dot
product units the flags name (AMX: 1024 a cycle; AVX512_BF16 / AVX512_FP16:
128). Chips with one FMA pipe, double-pumped AVX-512 or vCPUs that are
hyper-threads of one core reach less. The clock is the maximum the kernel
reports (cpufreq), else /proc/cpuinfo's `cpu MHz` (in a VM the nominal clock:
turbo may exceed it, and the `clock_source` says so). Anything that cannot be
read (ARM, GPUs, no clock) makes the ceiling `None`: "unknown", never a guess.
"""

from __future__ import annotations

import os
from pathlib import Path

from nlpbench.env import cpuinfo_fields

FP32_FLOPS_PER_CYCLE = (("avx512f", 64), ("fma", 32), ("avx", 16), ("sse2", 8))  # widest first
HALF_FLOPS_PER_CYCLE = {"bf16": (("amx_bf16", 1024), ("avx512_bf16", 128)),
                        "fp16": (("amx_fp16", 1024), ("avx512_fp16", 128))}  # fmt: skip
MAX_FREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")


def flops_per_cycle(dtype: str, flags: set[str]) -> tuple[int | None, str | None]:
    """(FLOPs a core can do per cycle at `dtype`, the ISA flag that sets it); (None, None) when unknown."""
    for flag, n in HALF_FLOPS_PER_CYCLE.get(dtype, ()):
        if flag in flags:
            return n, flag
    for flag, n in FP32_FLOPS_PER_CYCLE:
        if flag in flags and (flag != "fma" or "avx2" in flags):
            return n, flag
    return None, None


def clock_ghz(max_freq: Path = MAX_FREQ, cpuinfo: dict | None = None) -> tuple[float | None, str | None]:
    """(GHz, where it was read) from cpufreq's maximum, else /proc/cpuinfo's `cpu MHz`; (None, None)."""
    try:
        return int(max_freq.read_text().strip()) / 1e6, "cpufreq max"
    except (OSError, ValueError):
        pass
    mhz = (cpuinfo if cpuinfo is not None else cpuinfo_fields()).get("cpu MHz")
    try:
        return float(mhz) / 1e3, "/proc/cpuinfo cpu MHz (nominal in a VM; turbo may exceed it)"
    except (TypeError, ValueError):
        return None, None


def isa_ceiling(device: str, dtype: str, threads: int, cpuinfo: dict | None = None,
                max_freq: Path = MAX_FREQ) -> dict:  # fmt: skip
    """{"gflops" (None: unknown), "cores", "flops_per_cycle", "isa", "clock_ghz", "clock_source", "why"}."""
    if device != "cpu":
        return {"gflops": None, "why": f"unknown: no ISA-and-clock formula for device {device}"}
    fields = cpuinfo if cpuinfo is not None else cpuinfo_fields()
    flags = set((fields.get("flags") or "").split())
    per_cycle, isa = flops_per_cycle(dtype, flags)
    ghz, source = clock_ghz(max_freq, fields)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores = max(1, min(threads, usable))
    out = {"cores": cores, "flops_per_cycle": per_cycle, "isa": isa, "clock_ghz": ghz, "clock_source": source}
    if per_cycle is None or ghz is None:
        missing = "no x86 vector ISA flags" if per_cycle is None else "no clock"
        return {**out, "gflops": None, "why": f"unknown: {missing} readable"}
    return {**out, "gflops": cores * per_cycle * ghz,
            "why": f"{cores} cores x {per_cycle} {dtype} FLOPs/cycle ({isa}) x {ghz:.2f} GHz ({source})"}
