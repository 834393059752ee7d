"""End-to-end: the real CLI on tiny suites (dummy adapter, synthetic or tmp files)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nlpbench.cli import main
from nlpbench.quality import units
from nlpbench.store.results import read_records
from tests.conftest import files_suite, tiny_suite


def run_dir_of(out):
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def metrics_by_cell(run_dir):
    return {r["cell"]: (r["status"], r.get("metrics")) for r in read_records(run_dir)}


def test_run_writes_the_run_folder(write_suite, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(tiny_suite())), "--out", str(out)]) == 0
    rd = run_dir_of(out)
    assert rd.name.startswith("tiny-")
    meta = json.loads((rd / "run.json").read_text())
    for key in ("config", "seed", "git_sha", "git_dirty", "versions", "machine", "started_at", "ended_at"):
        assert key in meta
    assert meta["status"] == "ok" and meta["versions"]["torch"]
    records = read_records(rd)
    assert sorted(r["cell"] for r in records) == [
        "quality/classification/d1/test", "quality/classification/d1/validation",
        "quality/classification/d2/test", "quality/classification/d2/validation",
    ]  # fmt: skip
    rec = records[0]
    for key in ("kind", "suite", "task", "dataset", "split", "model", "params", "device", "dtype", "status",
                "seed", "started_at", "wall_s", "metrics", "n_params", "train_s", "train_examples_per_s", "init"):
        assert key in rec, key  # fmt: skip
    assert 0.0 <= rec["metrics"]["accuracy"] <= 1.0 and len(rec["metrics"]["accuracy_ci95"]) == 2
    assert (rd / "report.md").exists()
    assert "d1" in capsys.readouterr().out  # the summary table


def test_same_seed_same_machine_same_accuracy(write_suite, tmp_path):
    suite = tiny_suite()
    suite["tasks"][0]["models"] = [{"adapter": "lstm", "params": {"embed_dim": 16, "hidden_size": 16}, "train": {"epochs": 1}}]
    path = write_suite(suite)
    results = []
    for i in range(2):
        assert main(["run", str(path), "--out", str(tmp_path / f"r{i}")]) == 0
        results.append(metrics_by_cell(run_dir_of(tmp_path / f"r{i}")))
    assert results[0] == results[1]


def test_interrupted_run_resumes_to_the_same_records(write_suite, tmp_path, monkeypatch):
    path = write_suite(tiny_suite())
    assert main(["run", str(path), "--out", str(tmp_path / "full")]) == 0
    full = metrics_by_cell(run_dir_of(tmp_path / "full"))

    real = units.run_quality_unit
    calls = []

    def interrupt_second(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(units, "run_quality_unit", interrupt_second)
    assert main(["run", str(path), "--out", str(tmp_path / "cut")]) == 130
    rd = run_dir_of(tmp_path / "cut")
    assert len(read_records(rd)) == 2
    with open(rd / "records.jsonl", "a") as f:
        f.write('{"cell": "quality/classification/d2/valid')  # a line torn by a kill
    monkeypatch.setattr(units, "run_quality_unit", real)
    assert main(["run", str(path), "--resume", str(rd)]) == 0
    lines = (rd / "records.jsonl").read_text().splitlines()
    cells = [json.loads(line)["cell"] for line in lines]  # every line parses: no torn line left
    assert len(cells) == len(set(cells)) == 4
    assert metrics_by_cell(rd) == full


def test_resume_refuses_a_different_config(write_suite, tmp_path):
    path = write_suite(tiny_suite())
    assert main(["run", str(path), "--out", str(tmp_path)]) == 0
    assert main(["run", str(path), "seed=1", "--resume", str(run_dir_of(tmp_path))]) == 2


def test_ctrl_c_in_a_real_process_keeps_finished_cells(write_suite, tmp_path):
    suite = tiny_suite()
    suite["tasks"][0]["models"][1]["train"] = {"epochs": 10000}  # long enough to be interrupted
    suite["tasks"][0]["dataset"]["size"]["train"] = 2000
    path = write_suite(suite)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = tmp_path / "o"
    # SIG_DFL in the child: a test run started in the background by a non-interactive shell inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt (a terminal's Ctrl-C always reaches the CLI)
    proc = subprocess.Popen([sys.executable, "-m", "nlpbench.cli", "run", str(path), "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.time() + 300  # a loaded machine may take minutes to start; the loop ends once d1 is in
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        if out.exists() and any(out.iterdir()) and len(read_records(run_dir_of(out))) == 2:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "--resume" in err
    assert len(read_records(run_dir_of(out))) == 2


def test_test_split_from_an_override_is_scored(sst_like, write_suite, tmp_path):
    (sst_like / "other.tsv").write_text("label\tcontent\n1\tfine film\n0\tdull film\n")
    path = write_suite(files_suite(sst_like))
    assert main(["run", str(path), f"tasks.0.dataset.files.test={sst_like / 'other.tsv'}", "--out", str(tmp_path / "o")]) == 0
    rec = [r for r in read_records(run_dir_of(tmp_path / "o")) if r["split"] == "test"]
    assert len(rec) == 1 and rec[0]["n_eval"] == 2


def _break(kind, suite, data_dir):
    ds = suite["tasks"][0]["dataset"]
    if kind == "adapter typo":
        suite["tasks"][0]["models"][0]["adapter"] = "lstmm"
    elif kind == "unknown key":
        suite["tasks"][0]["models"][0]["trian"] = {}
    elif kind == "wrong type":
        suite["seed"] = "zero"
    elif kind == "missing file":
        ds["files"]["validation"] = str(data_dir / "missing.tsv")
    elif kind == "wrong column":
        ds["columns"]["text"] = "sentance"
    elif kind == "empty file":
        (data_dir / "dev.tsv").write_text("")
    elif kind == "label outside set":
        (data_dir / "dev.tsv").write_text("label\tcontent\n0\tok\n3\tbad label\n")
    return suite


@pytest.mark.parametrize("kind", ["adapter typo", "unknown key", "wrong type", "missing file", "wrong column", "empty file", "label outside set"])
def test_bad_input_is_one_clear_line_and_exit_2(kind, sst_like, write_suite, tmp_path, capsys):
    path = write_suite(_break(kind, files_suite(sst_like), sst_like))
    for cmd in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "o")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("nlpbench: ") and "Traceback" not in err[0], err
    assert not (tmp_path / "o").exists()  # nothing was started


def test_list_and_validate(capsys):
    assert main(["list", "adapters"]) == 0
    out = capsys.readouterr().out
    assert "lstm" in out and "dummy" in out
    assert main(["list", "suites"]) == 0
    assert "quick" in capsys.readouterr().out
    assert main(["validate", "quick"]) == 0
    assert "is valid" in capsys.readouterr().out


def test_perf_section_runs_through_the_cli_with_oom_and_skips(write_suite, tmp_path):
    suite = tiny_suite(perf={
        "modes": ["forward", "train_step"], "batch_sizes": [1, 4, 16], "seq_lens": [8, 32],
        "warmup": 1, "min_iters": 2, "min_seconds": 0.0,
        "models": [{"adapter": "dummy", "name": "dp", "params": {"fail_above": 100}}],
    })  # fmt: skip
    suite["tasks"] = []
    out = tmp_path / "o"
    assert main(["run", str(write_suite(suite)), "--out", str(out)]) == 0
    rd = run_dir_of(out)
    status = {r["cell"]: r["status"] for r in read_records(rd)}
    assert len(status) == 12
    # 16x8=128 > 100 fails; at seq 32, 4x32=128 fails and 16x32 is never tried
    assert status["perf/dp/forward/fp32/b16/s8"] == "oom"
    assert status["perf/dp/forward/fp32/b4/s32"] == "oom"
    assert status["perf/dp/forward/fp32/b16/s32"] == "skipped"
    assert status["perf/dp/train_step/fp32/b1/s32"] == "ok"
    assert sum(s == "ok" for s in status.values()) == 6
    ok = [r for r in read_records(rd) if r["status"] == "ok"][0]
    assert ok["latency_ms"]["n"] >= 2 and ok["throughput"]["samples_per_s"] > 0
    info = json.loads((rd / "run.json").read_text())
    assert info["matmul_probe"]["gflops"] > 0 and len(info["matmul_probe"]["shapes"]) == 3
    assert "ceiling" in info["matmul_probe"]
    assert info["machine_drift"]["ticks"] >= 10  # one before the sweep, one after each cell round
    assert "peak_fraction" in ok and all(r.get("peak_fraction", 0) <= 1 for r in read_records(rd))
    assert ok["sampling"]["stopped"] in ("precise", "budget") and "noisy_reason" in ok
