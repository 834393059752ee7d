"""The `process` launcher: a fresh interpreter per cell; a crashing child becomes an error record."""

import pytest
import torch

from nlpbench.errors import BadInput
from nlpbench.launch.cells import executor_for, sweep


def test_process_launcher_survives_a_crashing_child_and_returns_child_records(make_spec, child_path):
    crash = make_spec(adapter="perf_crash", name="crash", imports=("perf_test_adapters",))
    oom = make_spec(name="oom", params={"fail_above": 1})
    ok = make_spec(batch_size=2, min_iters=3, min_seconds=0.0, warmup=1)
    written = []
    sweep([crash, oom, ok], "process", written.append, progress=False)
    assert [r["cell"] for r in written] == [crash.cell, oom.cell, ok.cell]
    assert written[0]["status"] == "error" and "exited with code 3" in written[0]["error"]
    assert written[1]["status"] == "oom" and "fail_above" in written[1]["error"]  # the child's own record
    assert written[2]["status"] == "ok" and written[2]["launcher"] == "process"
    assert written[2]["latency_ms"]["n"] >= 3 and written[2]["memory_kind"] == "cpu_allocated"
    assert written[2]["threads"] == torch.get_num_threads()  # the child runs with the parent's thread count


def test_unknown_launcher_is_bad_input():
    with pytest.raises(BadInput, match="perf.launcher"):
        executor_for("threads")
