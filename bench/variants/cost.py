"""Timing a deployment variant at one reference shape (`variant_perf` in the suite).

Classifiers: `forward` on a seeded batch of `batch_size` × `seq_len` token ids;
translators: greedy `generate` of `max_new_tokens` (fixed length) from
`batch_size` sources of `seq_len` tokens. The batch is built once from the
trained fp32 adapter (its vocabulary), so every variant of a model is timed on
the same ids. Uses the perf harness's workloads and trackers: a memory pass
(one step; peak RSS above the RSS just before, or CUDA's peak allocated), the
warm-up steps (compilation happens there), then the timed loop until both
`min_iters` and `min_seconds` hold.
"""
from __future__ import annotations

import torch

from nlpbench.perf.modes import make_workload
from nlpbench.perf.trackers import measure_latency, release_cpu_memory, track_memory
from nlpbench.tasks import get_task


def reference_mode(task: str) -> str:
    return get_task(task).perf_modes[0]


def reference_batch(adapter, vp, seed: int) -> dict:
    return adapter.synthetic_batch(vp.batch_size, vp.seq_len, torch.Generator().manual_seed(seed))


def time_variant(variant, batch: dict, task: str, vp) -> dict:
    """The perf record's measured fields for one variant (raises on failure)."""
    adapter = variant.adapter
    device = next(adapter.model.parameters()).device
    mode = reference_mode(task)
    work = make_workload(adapter, batch, mode, "fp32", vp.max_new_tokens)  # reduced precision: the variant's context
    release_cpu_memory()
    with track_memory(device) as mem, work.context(), variant.context():
        work.step()
    with work.context(), variant.context():
        for _ in range(max(0, vp.warmup - 1)):
            work.step()
        lat, _ = measure_latency(work.step, device, vp.min_iters, vp.min_seconds)
    p50_s = lat.p50 / 1e3
    tokens = vp.batch_size * (vp.max_new_tokens if mode == "generate" else vp.seq_len)
    out = {
        "mode": mode, "batch_size": vp.batch_size, "seq_len": vp.seq_len,
        "latency_ms": lat.summary(), "noisy": lat.noisy,
        "throughput": {"samples_per_s": vp.batch_size / p50_s, "tokens_per_s": tokens / p50_s},
        "peak_memory_mb": mem.result.peak_mb, "memory_kind": mem.result.kind, "memory_method": mem.result.method,
        "threads": torch.get_num_threads(),
    }  # fmt: skip
    if mode == "generate":
        out["max_new_tokens"] = vp.max_new_tokens
    return out
