"""The one launcher family: resume, the OOM chain and `lost` records are the queue's, whatever runs the jobs."""
from __future__ import annotations

import sys

from nlpbench.launch.jobs import Job, execute, inline
from nlpbench.launch.process import Processes


def job(key: str, status: str = "ok", chain=None, size: int = 0, child=None, timeout_s=None, ran=None) -> Job:
    def run():
        if ran is not None:
            ran.append(key)
        return [{"cell": key, "status": status}]

    def lost(st, why, started, wall_s):
        return [{"cell": key, "status": st, "error": why, "wall_s": wall_s}]

    return Job(key=key, cells=(key,), run=run, lost=lost, chain=chain, size=size, child=child, timeout_s=timeout_s)


def collect(jobs, executor=inline, done=()):
    out = []
    execute(jobs, executor, lambda j, recs: out.extend(recs), done=done, launcher="test")
    return out


def test_done_jobs_are_not_run_and_an_oom_skips_the_larger_sizes_of_its_chain_only():
    ran: list[str] = []
    jobs = [job("a4", chain="a", size=4, ran=ran), job("a16", "oom", chain="a", size=16, ran=ran),
            job("b64", chain="b", size=64, ran=ran), job("a8", chain="a", size=8, ran=ran),
            job("a64", chain="a", size=64, ran=ran), job("done", ran=ran)]  # fmt: skip
    out = collect(jobs, done={"done"})
    assert ran == ["a4", "a16", "b64", "a8"]  # a8 is smaller than the OOM: still tried; "done" is resumed past
    by = {r["cell"]: r for r in out}
    assert by["a64"]["status"] == "skipped" and "batch_size 64 > 16" in by["a64"]["error"]
    assert all(r["launcher"] == "test" for r in out)


def test_the_process_executor_gives_lost_records_for_a_crash_and_a_timeout(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "children.py").write_text(
        "import os, time\n"
        "def crash(spec): os._exit(3)\n"
        "def sleep(spec):\n    time.sleep(spec['s'])\n    return {'records': [{'cell': spec['cell'], 'status': 'ok'}]}\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    jobs = [job("crash", child={"entry": "children:crash", "spec": {}, "imports": []}),
            job("slow", child={"entry": "children:sleep", "spec": {"s": 30, "cell": "slow"}}, timeout_s=1.5),
            job("fine", child={"entry": "children:sleep", "spec": {"s": 0, "cell": "fine"}})]  # fmt: skip
    out = {r["cell"]: r for r in collect(jobs, Processes(workers=2))}
    assert out["crash"]["status"] == "error" and "exited with code 3" in out["crash"]["error"]
    assert out["slow"]["status"] == "timeout" and "timed out after 1.5 s" in out["slow"]["error"]
    assert out["slow"]["wall_s"] < 20 and out["fine"]["status"] == "ok"
    assert sys.modules.get("children") is None  # every job ran in a child, none here
