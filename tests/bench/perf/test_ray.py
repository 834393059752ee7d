"""`launcher: ray`: the same cells as inline, crashes become error records, --resume redoes only those.

The Ray tests share one local Ray (2 CPUs) and skip when ray is not installed;
the missing-extra test runs either way.
"""

import json
import socket
import sys

import pytest
import yaml

from nlpbench.commands import run as runner
from nlpbench.errors import BadInput
from nlpbench.launch.cells import sweep
from nlpbench.store.results import read_records
from nlpbench.suite.schema import validate


def _grid(make_spec, batches, seqs, **over):
    fast = {"min_iters": 2, "min_seconds": 0.0, "warmup": 1}
    return [make_spec(batch_size=b, seq_len=s, **fast, **over) for s in seqs for b in batches]


def test_ray_grid_gives_the_inline_cells_all_ok_with_their_node(make_spec, local_ray):
    specs = _grid(make_spec, (1, 4), (8, 16))
    inline, on_ray = [], []
    sweep(specs, "inline", inline.append, progress=False)
    sweep(specs, "ray", on_ray.append, progress=False, num_cpus=1)
    assert sorted(r["cell"] for r in on_ray) == sorted(r["cell"] for r in inline) == sorted(s.cell for s in specs)
    assert {r["status"] for r in on_ray} == {"ok"} and {r["launcher"] for r in on_ray} == {"ray"}
    for rec in on_ray:
        assert rec["node"]["hostname"] == socket.gethostname() and rec["node"]["device_name"]
        assert rec["threads"] == 1 and rec["latency_ms"]["n"] >= 2  # threads = the cell's num_cpus


def test_ray_keeps_oom_then_skip_larger_batches(make_spec, local_ray):
    specs = _grid(make_spec, (1, 8, 16), (8,), params={"fail_above": 50})  # 8 ok, 64 oom, 128 skipped
    inline, on_ray = [], []
    sweep(specs, "inline", inline.append, progress=False)
    sweep(specs, "ray", on_ray.append, progress=False)
    status = {r["cell"]: r["status"] for r in on_ray}
    assert status == {r["cell"]: r["status"] for r in inline}
    assert [status[s.cell] for s in specs] == ["ok", "oom", "skipped"]


def _crash_suite(flag) -> dict:
    return {
        "name": "raycrash", "seed": 0, "device": "cpu",
        "perf": {
            "launcher": "ray", "modes": ["forward"], "batch_sizes": [1, 2], "seq_lens": [8],
            "warmup": 1, "min_iters": 2, "min_seconds": 0.0,
            "models": [
                {"adapter": "dummy", "name": "d"},
                {"adapter": "ray_crash_once", "name": "c", "params": {"crash_file": str(flag), "crash_batch": 2}},
            ],
        },
    }  # fmt: skip


def test_a_killed_worker_is_an_error_cell_and_resume_reruns_only_it(tmp_path, local_ray):
    import tests.bench.perf.ray_test_adapters  # noqa: F401  (registers ray_crash_once here; workers import it too)

    flag = tmp_path / "crash-once"
    flag.touch()
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(_crash_suite(flag)))
    assert runner.run(str(path), out=tmp_path / "runs", progress=False) == 0  # no model is `required`
    (run_dir,) = (tmp_path / "runs").iterdir()
    status = {r["cell"]: r["status"] for r in read_records(run_dir)}
    crashed = "perf/c/forward/fp32/b2/s8"
    assert status == {"perf/d/forward/fp32/b1/s8": "ok", "perf/d/forward/fp32/b2/s8": "ok",
                      "perf/c/forward/fp32/b1/s8": "ok", crashed: "error"}  # fmt: skip
    err = next(r for r in read_records(run_dir) if r["cell"] == crashed)["error"]
    assert err.startswith("ray: ") and "died" in err.lower() and not flag.exists()
    lines = (run_dir / "records.jsonl").read_text().splitlines()

    assert runner.run(str(path), resume=run_dir, progress=False) == 0
    added = (run_dir / "records.jsonl").read_text().splitlines()[len(lines) :]
    assert [json.loads(x)["cell"] for x in added] == [crashed]  # only the failed cell ran again
    assert {r["status"] for r in read_records(run_dir)} == {"ok"}


def test_ray_launcher_without_ray_is_one_line_naming_the_extra(monkeypatch, make_spec):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    suite = {"name": "s", "perf": {"launcher": "ray", "models": [{"adapter": "dummy"}]}}
    with pytest.raises(BadInput) as e:
        validate(suite)
    (line,) = e.value.problems
    assert line == "perf.launcher: 'ray' needs the ray extra, which is not installed; run: pip install -e '.[ray]'"
    with pytest.raises(BadInput, match=r"pip install -e '\.\[ray\]'"):
        sweep([make_spec()], "ray", lambda rec: None, progress=False)
