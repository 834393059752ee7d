import json

import perf_test_adapters  # noqa: F401  (registers perf_tiny_gen)
import pytest
import torch

from nlpbench.perf import PerfCellSpec, run_cell_safely, run_perf_cell

RECORD_KEYS = {
    "cell",
    "kind",
    "status",
    "mode",
    "batch_size",
    "seq_len",
    "dtype",
    "latency_ms",
    "throughput",
    "peak_memory_mb",
    "memory_kind",
    "flops",
    "achieved_gflops",
    "noisy",
    "timed_s",
    "n_params",
    "started_at",
    "wall_s",
}


def test_forward_cell_record(make_spec):
    spec = make_spec(batch_size=8, seq_len=16, min_iters=20, peak_gflops=10.0)
    rec = run_perf_cell(spec)
    assert RECORD_KEYS <= set(rec) and rec["status"] == "ok" and rec["mode"] == "forward"
    lat = rec["latency_ms"]
    assert lat["n"] >= 20 and lat["p50"] > 0 and lat["p90"] >= lat["p50"]
    assert rec["throughput"]["samples_per_s"] == pytest.approx(8 / (lat["p50"] / 1e3))
    assert rec["throughput"]["tokens_per_s"] == pytest.approx(8 * 16 / (lat["p50"] / 1e3))
    assert rec["flops"] == 2 * 8 * 16 * 2  # the head: [B, dim=16] @ [16, 2 labels]
    assert rec["achieved_gflops"] == pytest.approx(rec["flops"] / (lat["p50"] / 1e3) / 1e9)
    assert rec["peak_gflops"] > 0 and rec["peak_gflops"] != 10.0  # its own worker probe, not the run-level figure
    assert rec["peak_fraction"] == pytest.approx(rec["achieved_gflops"] / rec["peak_gflops"])
    assert rec["memory_kind"] == "cpu_allocated" and rec["peak_memory_mb"] >= rec["weights_mb"] > 0
    assert rec["n_params"] == 1000 * 16 + 16 * 2 + 2
    assert 0 < rec["timed_s"] < rec["wall_s"]
    json.dumps(rec)  # a record must be JSON


def test_train_step_counts_forward_and_backward_flops(make_spec):
    fwd = run_perf_cell(make_spec(mode="forward"))
    train = run_perf_cell(make_spec(mode="train_step"))
    assert train["status"] == "ok" and train["flops"] == 3 * fwd["flops"]  # backward of a linear: 2x its forward


def test_bf16_on_cpu_runs_and_fp16_on_cpu_is_a_clear_error(make_spec):
    assert run_perf_cell(make_spec(dtype="bf16"))["status"] == "ok"
    rec = run_cell_safely(make_spec(dtype="fp16"))
    assert rec["status"] == "error" and "fp16" in rec["error"] and "cpu" in rec["error"]


def test_generate_reports_first_token_and_per_token_latency(make_spec):
    n = 4
    spec = make_spec(
        adapter="perf_tiny_gen",
        name="gen",
        task="translation",
        num_labels=None,
        mode="generate",
        batch_size=2,
        seq_len=8,
        max_new_tokens=n,
        warmup=1,
        min_iters=3,
        min_seconds=0.0,
    )
    rec = run_perf_cell(spec)
    assert rec["status"] == "ok"
    tn, t1 = rec["latency_ms"]["p50"], rec["time_to_first_token_ms"]
    assert 2.0 <= t1 < tn  # one 2 ms token vs four
    assert rec["per_token_ms"] == pytest.approx((tn - t1) / (n - 1))
    assert rec["per_token_ms"] >= 2.0
    # translation counts source and target: 8 source + n generated tokens per row
    assert rec["tokens_per_sample"] == 8 + n and rec["beam_size"] == 1
    assert rec["throughput"]["tokens_per_s"] == pytest.approx(2 * (8 + n) / (tn / 1e3))


def test_generate_on_a_classifier_is_an_error_naming_the_mode(make_spec):
    rec = run_cell_safely(make_spec(mode="generate"))
    assert rec["status"] == "error" and "generate" in rec["error"]


def test_oom_becomes_status_oom_with_message(make_spec):
    rec = run_cell_safely(make_spec(params={"fail_above": 10}))
    assert rec["status"] == "oom" and "fail_above" in rec["error"]
    assert rec["batch_size"] == 4 and rec["cell"].startswith("perf/dummy")


def test_spec_round_trips_through_json(make_spec):
    spec = make_spec(imports=("perf_test_adapters",), peak_gflops=1.5)
    assert PerfCellSpec.from_json(spec.to_json()) == spec


def test_unknown_param_is_an_error_naming_it(make_spec):
    rec = run_cell_safely(make_spec(params={"dimm": 8}))
    assert rec["status"] == "error" and "dimm" in rec["error"] and "did you mean 'dim'" in rec["error"]


def test_threads_apply_to_the_cell_only(make_spec):
    before = torch.get_num_threads()
    rec = run_perf_cell(make_spec(threads=2))
    assert rec["threads"] == 2 and torch.get_num_threads() == before


def test_one_factory_builds_every_spec_and_derives_id_and_labels():
    from nlpbench.perf.cell import PerfCellSpec

    mt = PerfCellSpec.make(adapter="transformer", name="mt", params={"beam_size": 4}, task="translation",
                           mode="generate", batch_size=8, seq_len=32, num_labels=2)
    assert mt.cell == "perf/mt/generate+beam4/fp32/b8/s32" and mt.num_labels is None  # a translator has no labels
    cls = PerfCellSpec.make(adapter="lstm", params={}, task="classification", mode="forward", batch_size=1, seq_len=16)
    assert cls.cell == "perf/lstm/forward/fp32/b1/s16" and cls.num_labels == 2 and cls.name == "lstm"
