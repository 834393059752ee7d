"""`launcher: torchrun`: a 2-process gloo DDP train_step cell with scaling efficiency; other modes inline."""

import json

import pytest

from nlpbench.cli import main
from nlpbench.launch.torchrun import combine
from nlpbench.store.results import read_records


def _suite(tmp_path, **perf) -> str:
    suite = {
        "name": "ddp", "seed": 0, "device": "cpu",
        "perf": {"modes": ["forward", "train_step"], "batch_sizes": [8], "seq_lens": [16], "warmup": 1,
                 "min_iters": 5, "min_seconds": 0.2, "models": [{"adapter": "dummy", "params": {"dim": 64}}], **perf},
    }  # fmt: skip
    path = tmp_path / "suite.json"  # JSON is YAML
    path.write_text(json.dumps(suite))
    return str(path)


def test_two_process_gloo_train_step_reports_scaling_efficiency(tmp_path):
    out = tmp_path / "runs"
    assert main(["run", _suite(tmp_path, nproc=2), "--launcher", "torchrun", "--out", str(out), "--no-progress"]) == 0
    (run_dir,) = out.iterdir()
    assert json.loads((run_dir / "run.json").read_text())["config"]["perf"]["launcher"] == "torchrun"
    recs = {r["mode"]: r for r in read_records(run_dir)}
    fwd, ddp = recs["forward"], recs["train_step"]
    assert fwd["status"] == "ok" and fwd["launcher"] == "inline"  # no gradients to reduce: runs inline
    assert ddp["status"] == "ok" and ddp["launcher"] == "torchrun", ddp.get("error")
    assert ddp["nproc"] == 2 and ddp["backend"] == "gloo" and ddp["global_batch_size"] == 16
    assert [r["rank"] for r in ddp["ranks"]] == [0, 1] and ddp["threads"] == ddp["single_process"]["threads"]
    slowest = max(r["latency_p50_ms"] for r in ddp["ranks"]) / 1e3
    assert ddp["throughput"]["samples_per_s"] == pytest.approx(16 / slowest)
    one = ddp["single_process"]["throughput"]["samples_per_s"]
    assert ddp["scaling_efficiency"] == pytest.approx(ddp["throughput"]["samples_per_s"] / (2 * one))
    assert 0.0 < ddp["scaling_efficiency"] < 2.0
    print(f"scaling efficiency (2 x gloo, dummy dim 64, b8 s16): {ddp['scaling_efficiency']:.2f}")


def test_combine_is_aggregate_over_n_times_single():
    rank = {"status": "ok", "latency_ms": {"p50": 10.0}, "peak_memory_mb": 5.0, "noisy": False, "flops": 100}
    ranks = [{**rank, "rank": 0}, {**rank, "rank": 1, "latency_ms": {"p50": 20.0}}]
    single = {"throughput": {"samples_per_s": 400.0}, "latency_ms": {"p50": 10.0}, "peak_memory_mb": 4.0, "threads": 1}
    spec = type("S", (), {"batch_size": 4, "seq_len": 3, "task": "classification", "mode": "train_step"})()
    rec = combine(spec, ranks, single)
    assert rec["throughput"] == {"samples_per_s": 400.0, "tokens_per_s": 1200.0}  # 2 x 4 samples per 20 ms
    assert rec["scaling_efficiency"] == 0.5 and rec["flops"] == 200 and "rank" not in rec


def test_torchrun_flag_on_a_suite_without_perf_is_bad_input(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "q", "tasks": []}))
    assert main(["run", str(path), "--launcher", "torchrun", "--out", str(tmp_path)]) == 2
    assert "--launcher torchrun: suite" in capsys.readouterr().err  # other launchers also place training units
