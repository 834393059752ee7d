"""Measurement trackers: context managers that fill a small dataclass on exit.

Shaped after optimum-benchmark's latency/memory/energy trackers, with the
fixes that made the old `transformers` benchmark utilities untrustworthy:

- latency: on CUDA one pair of events per iteration and a *single* device
  synchronisation when the samples are read (no sync inside the loop, so the
  host keeps the queue full, as in real use; the host only waits for the event
  of an iteration `MAX_IN_FLIGHT` back, so the stopping rule, read on the host
  clock, cannot overshoot by more than that); on CPU `perf_counter_ns` around
  each call. The loop runs until both `min_iters` and `min_seconds` are met;
  raw samples are kept. Python's garbage collector is paused inside the loop
  (as `timeit` does) so a collection never lands in one sample.
- memory: measured in its own pass, never while timing. CUDA: peak stats are
  reset, then peak allocated (tensors) and reserved (caching allocator) are
  read. CPU: the peak the allocator reports (torch.profiler's memory events:
  exact, independent of heap history; nlpbench.perf.footprint), and beside it
  peak RSS above a baseline, exact on Linux (the kernel's VmHWM,
  reset on entry); elsewhere `ru_maxrss` (a process-lifetime high-water
  mark) when it *rises* during the pass, else a background thread sampling
  RSS every ~0.5 ms. Freed
  heap is handed back to the OS (`malloc_trim`) before the baseline so memory
  cached by earlier cells of an inline sweep does not hide this cell's. The
  `process` launcher gives the cleanest figures (fresh interpreter per cell).
- work: FLOPs of one iteration from `torch.utils.flop_counter.FlopCounterMode`
  with the kernels it lacks added (nlpbench.perf.flops: matmuls, convolutions,
  every attention kernel, fused RNNs), and the names of any uncounted ones.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import resource
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import psutil
import torch

from nlpbench.perf.footprint import cpu_allocations

NOISY_CI_OVER_MEDIAN = 0.10  # noisy: the median's 95% interval is wider than 10% of it (about ±5%)
MEDIAN_Z95 = 1.959964  # the normal quantile for a 95% interval
MIN_SAMPLES = {"p90": 10, "p99": 100}  # a percentile is published only from this many samples
MAX_IN_FLIGHT = 4  # CUDA: timed iterations the host may run ahead of the GPU
MB = 2**20


# --- latency -----------------------------------------------------------------

EXACT_RANKS = 200  # the median interval's ranks from the exact binomial up to this many samples


def median_rank(n: int, level: float = 0.95) -> int:
    """The 1-based rank j of the median interval [x(j), x(n+1-j)] covering at least `level` (1 if none does)."""
    tail = (1 - level) / 2
    if n > EXACT_RANKS:
        return max(1, int(np.floor(n / 2 - MEDIAN_Z95 * np.sqrt(n) / 2)))
    total, below, j = 2**n, 0, 1  # exact integers: P(Bin(n, 1/2) <= k) = sum C(n, i), i <= k, over 2**n
    for k in range(n):
        below += math.comb(n, k)
        if below > tail * total:  # P(Bin <= k) over the tail: rank k + 1 would not cover `level`
            break
        j = k + 1  # [x(k+1), x(n-k)] still covers `level`
    return max(1, min(j, (n + 1) // 2))



@dataclass
class Latency:
    """Per-iteration latency statistics in milliseconds (raw samples kept)."""

    mean: float
    p50: float
    p90: float
    p99: float
    std: float
    iqr: float
    n: int
    p25: float | None = None  # the quartiles behind `iqr`, so a plot can draw the real (skewed) interquartile bar
    p75: float | None = None
    samples_ms: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def from_samples(cls, samples_ms) -> Latency:
        x = np.asarray(samples_ms, dtype=np.float64)
        if x.size == 0:
            raise ValueError("no latency samples")
        p25, p50, p75, p90, p99 = np.percentile(x, [25, 50, 75, 90, 99])
        std = float(x.std(ddof=1)) if x.size > 1 else 0.0
        return cls(float(x.mean()), float(p50), float(p90), float(p99), std, float(p75 - p25), int(x.size),
                   p25=float(p25), p75=float(p75), samples_ms=x.tolist())

    @property
    def noisy(self) -> bool:
        """True when a reader should distrust the p50: its 95% interval is wider than 10% of it.

        A wide spread alone is not enough (a shared machine's latencies are long-tailed, yet thousands
        of samples pin their median down): the interval narrows as samples accrue, so the flag marks
        the cells whose median could still move by more than about ±5% (issue 21: the old IQR/median
        rule flagged 8 of 9 cells of a grid, which told a reader nothing)."""
        lo, hi = self.median_ci95()
        return self.p50 <= 0 or (hi - lo) / self.p50 > NOISY_CI_OVER_MEDIAN

    def median_ci95(self) -> tuple[float, float]:
        """Distribution-free 95% interval of the median: the order statistics x(j), x(n+1-j) with the largest
        j whose binomial coverage (1 - 2 P(Bin(n, 1/2) < j)) is still at least 95% (exact up to
        `EXACT_RANKS` samples, the normal approximation above); [min, max] for a handful of samples. At
        n = 10 that is [x(2), x(9)] (97.9%): one stray sample on each side does not widen it (rounding
        the approximation outwards gave [min, max], 99.8%, and flagged every 10-sample cell of a grid)."""
        x = np.sort(np.asarray(self.samples_ms, dtype=np.float64))
        if x.size == 0:
            return self.p50, self.p50
        j = median_rank(x.size)
        return float(x[j - 1]), float(x[x.size - j])

    def summary(self) -> dict:
        """The record's `latency_ms` dict (no raw samples). A tail percentile needs enough samples to
        be more than the maximum (`MIN_SAMPLES`: p99 from 20 samples is just the slowest one): below
        that it is null, and `n` says why."""
        d = asdict(self)
        d.pop("samples_ms")
        for key, need in MIN_SAMPLES.items():
            if self.n < need:
                d[key] = None
        return d


class track_latency:
    """`with track_latency(device) as lat: while not lat.enough(10, 1.0): lat.step(fn)` -> `lat.result`.

    `elapsed_s` is host wall time since entering (the stopping rule and the
    "time spent timing" figure); on CUDA the samples come from events.
    """

    def __init__(self, device: str | torch.device = "cpu"):
        self.cuda = torch.device(device).type == "cuda"
        self.result: Latency | None = None
        self._ns: list[int] = []
        self._events: list[tuple] = []

    def __enter__(self) -> track_latency:
        if self.cuda:
            torch.cuda.synchronize()
        self._gc_was_enabled = gc.isenabled()
        gc.collect()
        gc.disable()
        self._t0 = time.perf_counter()
        return self

    @property
    def n(self) -> int:
        return len(self._events) if self.cuda else len(self._ns)

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._t0

    def enough(self, min_iters: int, min_seconds: float) -> bool:
        return self.n >= min_iters and self.elapsed_s >= min_seconds

    def step(self, fn) -> None:
        """Runs `fn()` once and records its latency."""
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            self._events.append((start, end))
            if len(self._events) > MAX_IN_FLIGHT:
                # the host must not queue minutes of work past min_seconds: wait for an *old*
                # iteration (not the device), so the GPU still has MAX_IN_FLIGHT steps queued
                self._events[-MAX_IN_FLIGHT - 1][1].synchronize()
        else:
            t0 = time.perf_counter_ns()
            fn()
            self._ns.append(time.perf_counter_ns() - t0)

    def __exit__(self, *exc) -> None:
        if self.cuda:
            torch.cuda.synchronize()  # the one sync: every event is complete after it
            samples = [s.elapsed_time(e) for s, e in self._events]
        else:
            samples = [ns / 1e6 for ns in self._ns]
        self.wall_s = self.elapsed_s
        if self._gc_was_enabled:
            gc.enable()
        if exc[0] is None:
            self.result = Latency.from_samples(samples)


def measure_latency(fn, device, min_iters: int, min_seconds: float) -> tuple[Latency, float]:
    """Times `fn` until both stopping rules hold; returns (latency, wall seconds spent)."""
    with track_latency(device) as lat:
        while not lat.enough(min_iters, min_seconds):
            lat.step(fn)
    return lat.result, lat.wall_s


# --- memory ------------------------------------------------------------------


@dataclass
class Memory:
    peak_mb: float  # the record's peak_memory_mb
    kind: str  # cuda_allocated | cpu_allocated | cpu_rss
    reserved_mb: float | None = None  # CUDA caching allocator's peak reservation
    method: str = ""  # how the CPU peak was read: vmhwm | ru_maxrss | sampled
    start_mb: float = 0.0  # CUDA: allocated when the pass began (weights, optimizer state)
    rss_mb: float | None = None  # CPU: peak RSS above the baseline (also when peak_mb is the allocator's)


_procs: dict[int, psutil.Process] = {}


def _rss() -> int:
    pid = os.getpid()  # keyed by pid: a forked child must not read its parent
    proc = _procs.get(pid) or _procs.setdefault(pid, psutil.Process(pid))
    return proc.memory_info().rss


def _ru_maxrss() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB, macOS bytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def settle_gc() -> None:
    """Collects garbage, then freezes every survivor (imports, module state) out of later collections.

    With torch and transformers loaded a full collection takes ~0.5 s; after
    this, the collections trackers make scan only the objects of one cell.
    """
    gc.collect()
    gc.freeze()


def release_cpu_memory() -> None:
    """Collects garbage and returns freed heap pages to the OS (glibc only), so RSS means live memory."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def cpu_baseline() -> int:
    """RSS after releasing freed memory: the "before this cell" figure in bytes."""
    release_cpu_memory()
    return _rss()


def reset_high_water_mark() -> bool:
    """Resets the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0); False where it can't."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def high_water_mark() -> int:
    """VmHWM in bytes: the process's peak RSS since the last reset."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


class _RssSampler(threading.Thread):
    def __init__(self, interval_s: float = 5e-4):
        super().__init__(daemon=True)
        self.interval_s, self.peak, self._halt = interval_s, _rss(), threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(self.interval_s)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return max(self.peak, _rss())


class track_memory:
    """`with track_memory(device, baseline) as mem: step()` -> `mem.result` (Memory).

    `baseline` (bytes, CPU only) is the RSS the peak is measured above (default:
    RSS on entry, after freed heap went back to the OS). On Linux the peak is
    exact: the kernel's high-water mark is reset on entry and read on exit
    (`vmhwm`); elsewhere a rise of `ru_maxrss`, else a 0.5 ms RSS sampler.
    """

    def __init__(self, device: str | torch.device = "cpu", baseline: int | None = None):
        self.cuda = torch.device(device).type == "cuda"
        self.baseline = baseline
        self.result: Memory | None = None

    def __enter__(self) -> track_memory:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._start = torch.cuda.memory_allocated()
            return self
        release_cpu_memory()
        if self.baseline is None:
            self.baseline = _rss()
        self._alloc = cpu_allocations().__enter__()
        self._hwm = reset_high_water_mark()
        if not self._hwm:
            self._max_before = _ru_maxrss()
            self._sampler = _RssSampler()
            self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.cuda:
            torch.cuda.synchronize()
            alloc, reserved = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
            self.result = Memory(alloc / MB, "cuda_allocated", reserved / MB, "cuda_peak_stats", self._start / MB)
            return
        if self._hwm:
            peak, method = high_water_mark(), "vmhwm"
        else:
            sampled, max_after = self._sampler.stop(), _ru_maxrss()
            # a rise of the lifetime high-water mark happened inside this pass: exact peak
            peak, method = (max_after, "ru_maxrss") if max_after > self._max_before else (sampled, "sampled")
        self._alloc.__exit__(*exc)
        rss = max(0, peak - self.baseline) / MB
        if self._alloc.peak is None:  # no allocator events: the RSS figure is all there is
            self.result = Memory(rss, "cpu_rss", None, method, rss_mb=rss)
        else:
            self.result = Memory(self._alloc.peak / MB, "cpu_allocated", None, f"allocator+{method}", rss_mb=rss)
