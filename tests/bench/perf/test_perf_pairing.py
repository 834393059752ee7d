"""Perf cells of trained models time the trained model: same vocabulary, weights and n_params."""
import json

from nlpbench.cli import main
from nlpbench.store.results import read_records
from tests.conftest import tiny_suite

PERF = {"modes": ["forward"], "batch_sizes": [1], "seq_lens": [8], "warmup": 1, "min_iters": 2, "min_seconds": 0.0}


def _run(write_suite, out, *extra):
    assert main(["run", str(write_suite(tiny_suite(perf=PERF))), "--out", str(out), *extra]) == 0
    (rd,) = [p for p in out.iterdir() if p.is_dir()]
    return rd


def _check_paired(records):
    quality = {r["cell"].rsplit("/", 1)[0]: r for r in records if r["kind"] == "quality"}
    perf = [r for r in records if r["kind"] == "perf"]
    assert len(perf) == 2
    for r in perf:
        q = quality[r["quality_cell"]]
        assert r["status"] == "ok" and r["vocab_source"] == "trained"
        assert r["n_params"] == q["n_params"] and r["vocab_size"] == q["vocab_size"] < 1000  # config says 1000
        assert r["params"]["vocab_size"] == q["vocab_size"]


def test_perf_cells_of_a_trained_suite_time_the_trained_models(write_suite, tmp_path):
    rd = _run(write_suite, tmp_path / "o")
    _check_paired(read_records(rd))
    assert (rd / "checkpoints" / "classification-d1.pt").is_file()


def test_resumed_perf_cells_pair_from_records_and_checkpoints(write_suite, tmp_path):
    rd = _run(write_suite, tmp_path / "o")
    lines = (rd / "records.jsonl").read_text().splitlines()
    (rd / "records.jsonl").write_text("\n".join(l for l in lines if json.loads(l)["kind"] != "perf") + "\n")
    path = str(write_suite(tiny_suite(perf=PERF)))
    assert main(["run", path, "--resume", str(rd)]) == 0  # no training in this process: ctx.trained is empty
    _check_paired(read_records(rd))


def test_standalone_perf_states_the_vocabulary_it_assumed(write_suite, tmp_path):
    suite = tiny_suite(perf={**PERF, "models": [{"adapter": "dummy", "name": "dp", "params": {"vocab_size": 321}}]})
    suite["tasks"] = []
    assert main(["run", str(write_suite(suite)), "--out", str(tmp_path / "o")]) == 0
    (rd,) = [p for p in (tmp_path / "o").iterdir() if p.is_dir()]
    (rec,) = read_records(rd)
    assert rec["vocab_size"] == 321 and rec["vocab_source"] == "config" and rec["quality_cell"] is None
