"""A perf record's timing fields from its latency samples: one round, or several pooled (nlpbench.perf.rounds)."""

from __future__ import annotations

from nlpbench.perf.noise import noise_fields
from nlpbench.perf.trackers import Latency


def timing_fields(batch_size: int, tokens_per_sample: int, lat: Latency, first: Latency | None, max_new_tokens: int,
                  flops: int | None, peak_gflops: float | None, peak_source: str | None = None) -> dict:  # fmt: skip
    """latency_ms, throughput, achieved_gflops, peak_fraction, noisy, and for generate TTFT and per-token time.

    `peak_source`: where the peak came from ("probe", or the earlier cell that raised it: nlpbench.perf.probe).
    A cell faster than its peak is never written as a fraction above 1: the cell's own rate becomes its peak
    (fraction 1.0, `peak_source` "this cell", the probe's figure kept as `probe_gflops`)."""
    p50_s = lat.p50 / 1e3
    out = {
        "latency_ms": lat.summary(),
        "throughput": {"samples_per_s": batch_size / p50_s, "tokens_per_s": batch_size * tokens_per_sample / p50_s},
        "achieved_gflops": (flops / p50_s / 1e9) if flops else None,
        **noise_fields(lat),  # noisy, noisy_reason, noise (the sweep judges it again against the machine's drift)
    }
    achieved = out["achieved_gflops"]
    if achieved and peak_gflops and achieved > peak_gflops:
        out.update(peak_gflops=achieved, peak_fraction=1.0, probe_gflops=peak_gflops,
                   peak_source="this cell (faster than the probe, which under-read this machine's peak)")  # fmt: skip
    elif achieved and peak_gflops:
        out.update(peak_gflops=peak_gflops, peak_fraction=achieved / peak_gflops, peak_source=peak_source or "probe")
    if first is not None:
        t1, tn, n = first.p50, lat.p50, max_new_tokens
        # Two separate timing loops: if the one-token run is not faster than the N-token run, the
        # machine changed speed between them and the split into TTFT + per-token can't be trusted.
        inconsistent = n > 1 and tn <= t1
        out.update(
            time_to_first_token_ms=t1, per_token_ms=(tn - t1) / (n - 1) if n > 1 else None,
            time_to_first_token_iqr_ms=first.iqr, max_new_tokens=n, **noise_fields(lat, first, inconsistent),
        )  # fmt: skip
    return out
