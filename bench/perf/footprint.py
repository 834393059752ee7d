"""A cell's memory, split into what the model holds and what one step adds.

- `weights_mb`: bytes of the model's parameters and buffers (exact, from the tensors);
- `state_mb`: what the step keeps between iterations (AdamW's moments for
  `train_step`; exact, from the optimizer's tensors), 0 for forward/generate;
- `activations_mb`: the peak one step allocates above the memory in use before it
  (activations, KV caches, gradients), measured after a warm-up step and after
  compiling. CPU: from the allocator's events (`cpu_allocations`), so heap
  fragmentation and one-off runtime costs (thread pools, kernel caches, compiled
  code) never count and an identical cell reads the same figure whatever its
  place in a sweep or its launcher; CUDA: peak allocated minus allocated at start;
- `activations_rss_mb` (CPU): the same step's peak RSS above the RSS before it,
  which also sees memory outside torch's allocator (oneDNN/MKL scratch, Python
  objects) but moves by a few MB with the heap's history.

`peak_memory_mb` = weights + state + activations: on CPU the sum of those
exact figures (`memory_kind: cpu_allocated`), on CUDA the allocator's measured
peak (`cuda_allocated`), which is the same sum.
"""

from __future__ import annotations

import contextlib
import os
import sys

import torch

MB = 2**20


def tensor_bytes(tensors) -> int:
    seen, total = set(), 0
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.data_ptr() not in seen:  # tied weights count once
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()
    return total


def weight_bytes(model: torch.nn.Module) -> int:
    return tensor_bytes([*model.parameters(), *model.buffers()])


def memory_fields(mem, weights: int, state: int) -> dict:
    """The record's memory keys from the tracker's result (`mem`) and the exact tensor byte counts."""
    if mem.kind == "cuda_allocated":
        activations = max(0.0, mem.peak_mb - mem.start_mb)
        peak = mem.peak_mb
    else:
        activations = mem.peak_mb
        peak = (weights + state) / MB + activations
    out = {"peak_memory_mb": peak, "weights_mb": weights / MB, "state_mb": state / MB, "activations_mb": activations}
    if mem.rss_mb is not None:
        out["activations_rss_mb"] = mem.rss_mb
    return out


@contextlib.contextmanager
def _quiet_stderr():
    """Silences file descriptor 2 (kineto prints two USDT lines at every profiler start/stop)."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class cpu_allocations:
    """`with cpu_allocations() as a: step()` -> `a.peak` bytes: the most CPU tensor memory allocated
    above what was live on entry, from the allocator's own events (torch.profiler, `profile_memory`).

    Exact and deterministic, like CUDA's peak allocated: no heap fragmentation,
    no one-off runtime costs, the same in any process. `a.peak` is None when the
    profiler gave no memory events it can read.
    """

    def __enter__(self) -> cpu_allocations:
        from torch.profiler import ProfilerActivity, profile

        self.peak: int | None = None
        self._prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
        with _quiet_stderr():
            self._prof.start()
        return self

    def __exit__(self, *exc) -> None:
        with _quiet_stderr():
            self._prof.stop()
        try:
            events = self._prof.profiler.kineto_results.events()
        except AttributeError:
            return
        memory = sorted((e.start_ns(), e.nbytes()) for e in events if _cpu_memory_event(e))
        live = peak = 0
        for _, nbytes in memory:
            live += nbytes
            peak = max(peak, live)
        self.peak = peak


def _cpu_memory_event(e) -> bool:
    return e.name() == "[memory]" and str(e.device_type()).endswith("CPU")
