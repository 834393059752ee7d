"""Training units as Ray tasks (`--launcher ray`): the inline numbers; files come back from a node
that can't see the run folder. The Ray test skips without the `[ray]` extra; the rest runs either way."""
from __future__ import annotations

import json

from test_pool import SMALL_QUICK, metrics, run_dir_of

from nlpbench.cli import main
from nlpbench.data import load_task_data
from nlpbench.launch.worker import run_unit, unit_spec, unpack
from nlpbench.quality.units import plan
from nlpbench.store.results import read_records
from nlpbench.suite.schema import load_suite


def test_quick_suite_metrics_are_identical_inline_and_on_ray(tmp_path, local_ray):
    assert main(["run", "quick", *SMALL_QUICK, "--out", str(tmp_path / "inline"), "--no-progress"]) == 0
    assert main(["run", "quick", *SMALL_QUICK, "--launcher", "ray", "--out", str(tmp_path / "ray"), "--no-progress"]) == 0
    inline, on_ray = run_dir_of(tmp_path / "inline"), run_dir_of(tmp_path / "ray")
    assert metrics(inline) == metrics(on_ray) and len(metrics(on_ray)) == 10
    for r in read_records(on_ray):
        assert r["launcher"] == "ray" and r["node"]["hostname"] and (on_ray / r["log"]).is_file()
        assert "step" in (on_ray / r["log"]).read_text()  # the unit's own output went to its log


def test_a_worker_that_cannot_see_the_run_folder_sends_its_files_back(tmp_path):
    suite = load_suite("quick", [*SMALL_QUICK, "tasks.0.models=[{adapter: lstm, train: {epochs: 1}}]"])
    data = [load_task_data(t, None, suite.seed, at="x") for t in suite.tasks]
    unit = plan(suite, data, set())[-1]
    assert unit.label == "quality/classification/lstm"
    remote = tmp_path / "elsewhere" / "run"  # no run.json at this path: as on another machine
    out = run_unit(unit_spec(suite, unit, remote, None, 1, "ray"))
    assert not remote.exists() and out["files_tar"]
    here = tmp_path / "run"
    here.mkdir()
    unpack(out["files_tar"], here)
    for rec in out["records"]:
        lines = (here / rec["predictions"]).read_text().splitlines()
        assert len(lines) == rec["n_eval"] == 40 and json.loads(lines[0])["id"] is not None
    assert (here / "checkpoints" / "classification-lstm.pt").is_file() and list((here / "cache").rglob("*.json"))
