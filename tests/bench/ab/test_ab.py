"""`nlpbench ab` end to end on a temporary git repo: an A/A run passes, a planted slowdown fails,
each worker imports its own side's code; plus the verdict rule and the ABBA turns, without processes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nlpbench.cli import main
from nlpbench.ab.layout import PACKAGES
from nlpbench.store.results import read_records

ROOT = Path(__file__).resolve().parents[3]
SLEEP = "        time.sleep({s})  # planted: dummy's forward made sleep-bound, so its time is known\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def _plant(repo: Path, seconds: float) -> None:
    """dummy's forward sleeps `seconds` (a one-line change to models/dummy.py)."""
    path = repo / "models" / "dummy.py"
    lines = [ln for ln in path.read_text().splitlines(keepends=True) if "# planted" not in ln]
    at = next(i for i, ln in enumerate(lines) if ln.startswith("    def forward(")) + 1
    lines.insert(at, SLEEP.format(s=seconds))
    text = "".join(lines)
    if "\nimport time\n" not in text:
        text = text.replace("\nimport torch\n", "\nimport time\n\nimport torch\n", 1)
    path.write_text(text)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A git repo holding this checkout's package folders: commit `a` (forward sleeps 2 ms), commit `b`
    (10 ms: 5 times slower), and a suite of one dummy cell."""
    repo = tmp_path_factory.mktemp("abrepo")
    for folder in PACKAGES.values():
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.py", repo / "setup.py")
    (repo / "ab.yaml").write_text(
        "name: ab-test\nseed: 0\ndevice: cpu\nperf:\n  modes: [forward]\n  batch_sizes: [1]\n  seq_lens: [8]\n"
        "  warmup: 2\n  min_iters: 40\n  min_seconds: 0.4\n  models:\n    - {adapter: dummy, task: classification}\n"
    )  # fmt: skip
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@t")
    _git(repo, "config", "user.name", "t")
    _plant(repo, 0.002)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "a")
    _git(repo, "tag", "a")
    _plant(repo, 0.010)
    _git(repo, "commit", "-qam", "b: dummy's forward 5 times slower")
    _git(repo, "tag", "b")
    (repo / "bench" / "__init__.py").write_text("raise ImportError('an old layout')\n")
    _git(repo, "commit", "-qam", "c: a revision whose nlpbench can't be imported")
    _git(repo, "tag", "c")
    _git(repo, "checkout", "-q", "a")
    return repo


def test_a_a_run_passes_and_each_worker_imports_its_own_side(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    out = tmp_path / "v.json"
    runs = str(tmp_path / "runs")
    argv = ["ab", "ab.yaml", "threads=1", "--base", "a", "--head", "a", "--out", runs, "--json", str(out)]
    assert main(argv + ["--max-extra-seconds", "3"]) == 0  # an undecided A/A cell passes by default
    verdicts = json.loads(out.read_text())
    assert verdicts["ok"] is True and [c["verdict"] for c in verdicts["cells"]] in (["same"], ["inconclusive"])
    cell = verdicts["cells"][0]
    assert set(cell) == {"cell", "ratio", "ci99", "verdict", "legs", "seconds", "extra_seconds"}
    assert cell["ci99"][0] <= cell["ratio"] <= cell["ci99"][1] and cell["legs"] >= 4 and cell["seconds"] > 0
    assert verdicts["inconclusive"] == ([cell["cell"]] if cell["verdict"] == "inconclusive" else [])
    run = next((tmp_path / "runs").iterdir())
    info = json.loads((run / "run.json").read_text())
    for side in ("base", "head"):  # a worktree per side, and the worker's nlpbench came from it
        assert info[side]["sha"] == _git(repo, "rev-parse", "a")
        assert info[side]["nlpbench"] == str(Path(info[side]["root"]) / "bench" / "__init__.py")
        assert not info[side]["nlpbench"].startswith(str(ROOT)) and not Path(info[side]["root"]).exists()  # removed
        recs = read_records(run / side)
        assert [r["status"] for r in recs] == ["ok"] and recs[0]["side"] == side
        assert recs[0]["latency_ms"]["p50"] > 2.0 and len(recs[0]["latency_samples_ms"]) >= 20
    assert info["base"]["root"] != info["head"]["root"]
    assert info["threads"] == 1  # the suite's `threads`, as its perf cells would run
    for name in ("ab.csv", "ab.md", "ab.json", "plots/ab.png"):
        assert (run / name).stat().st_size > 0
    printed = capsys.readouterr().out
    assert ("OK: 1 cells" in printed) == (cell["verdict"] == "same") and " legs" in printed


def test_a_planted_slowdown_in_the_working_tree_is_a_regression(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)
    _plant(repo, 0.010)  # uncommitted: the default --head is the working tree as it is
    try:
        code = main(["ab", "ab.yaml", "--base", "a", "--out", f"{tmp_path}/runs", "--json", str(tmp_path / "v.json"),
                     "--max-extra-seconds", "3"])  # fmt: skip
    finally:
        _git(repo, "checkout", "-q", "--", "models/dummy.py")
    verdicts = json.loads((tmp_path / "v.json").read_text())
    assert code == 1 and verdicts["ok"] is False
    (cell,) = verdicts["cells"]
    assert cell["verdict"] == "regression" and cell["ci99"][0] > 1.05  # 2 -> 10 ms of sleep per call
    info = json.loads(next((tmp_path / "runs").iterdir()).joinpath("run.json").read_text())
    assert info["head"]["root"] == str(repo) and info["head"]["dirty"] is True


def test_an_undecided_cell_is_sampled_more_then_passes_loudly_or_exits_3(repo, tmp_path, monkeypatch, capsys):
    from nlpbench.ab import verdict

    monkeypatch.chdir(repo)
    monkeypatch.setattr(verdict, "state", lambda lo, hi, tolerance: "inconclusive")  # a cell that never decides
    argv = ["ab", "ab.yaml", "threads=1", "--base", "a", "--head", "a", "--max-extra-seconds", "6"]
    assert main([*argv, "--out", str(tmp_path / "r1"), "--json", str(tmp_path / "v.json")]) == 0  # passes, loudly
    out = capsys.readouterr().out
    assert "INCONCLUSIVE: 1 cell(s) undecided" in out and "they pass" in out
    v = json.loads((tmp_path / "v.json").read_text())
    (cell,) = v["cells"]
    assert v["ok"] is True and v["inconclusive"] == [cell["cell"]] and cell["verdict"] == "inconclusive"
    leg_s = cell["seconds"] / cell["legs"]  # the cap is checked after each leg: it may overrun by the leg it stops in
    assert cell["legs"] >= 8 and 0 < cell["extra_seconds"] <= 6 + 2 * leg_s and cell["seconds"] > cell["extra_seconds"]
    assert f"{cell['legs']} legs" in out and "s of it extra" in out
    assert main([*argv, "--max-extra-seconds", "0", "--fail-on-inconclusive", "--out", str(tmp_path / "r2")]) == 3
    assert "they FAIL this run" in capsys.readouterr().out


def test_a_revision_that_does_not_exist_is_bad_input(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert main(["ab", "ab.yaml", "--base", "no-such-rev", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"nlpbench: --base: 'no-such-rev' is not a revision of {repo}"
    assert main(["ab", "ab.yaml", "--base", "a", "--tolerance", "nan", "--out", str(tmp_path)]) == 2
    assert main(["ab", "ab.yaml", "--base", "a", "--max-extra-seconds", "-1", "--out", str(tmp_path)]) == 2
    assert main(["ab", "nope.yaml", "--base", "a", "--out", str(tmp_path)]) == 2
    assert not list(tmp_path.iterdir())  # nothing written
    capsys.readouterr()
    assert main(["ab", "ab.yaml", "--base", "c", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nlpbench: ab: the base worker (c) could not start:") and "an old layout" in err
    assert "\n" not in err and _git(repo, "worktree", "list").count("\n") == 0  # one line; worktrees removed
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "run.json").read_text())["status"] == "failed" and (run / "logs" / "base.log").exists()


def test_the_finder_maps_the_repo_folders_and_refuses_what_the_side_lacks(repo):
    from nlpbench.ab.worker import SideFinder

    finder = SideFinder(repo)
    assert finder.find_spec("nlpbench").origin == str(repo / "bench" / "__init__.py")
    assert finder.find_spec("nlpbench.models").origin == str(repo / "models" / "__init__.py")
    cell = finder.find_spec("nlpbench.perf.cell", [str(repo / "bench" / "perf")])
    assert cell.origin == str(repo / "bench" / "perf" / "cell.py")
    with pytest.raises(ModuleNotFoundError):  # never filled in from an installed copy
        finder.find_spec("nlpbench.not_in_this_revision", [str(repo / "bench")])
    assert finder.find_spec("numpy") is None  # everything else: the usual finders


def _rec(samples, status="ok"):
    p50 = float(np.median(samples)) if samples else None
    return {"status": status, "_samples_ms": samples, "latency_ms": {"p50": p50}, "error": "boom"}


def test_verdict_needs_the_whole_interval_beyond_the_tolerance():
    from nlpbench.ab.verdict import judge, ok

    rng = np.random.default_rng(0)
    base = list(10 + rng.normal(0, 0.2, 400))
    assert judge("c", _rec(base), _rec(list(np.array(base) * 1.10)))["verdict"] == "regression"
    assert judge("c", _rec(base), _rec(list(np.array(base) * 1.02)))["verdict"] == "same"  # inside the tolerance
    assert judge("c", _rec(base), _rec(list(np.array(base) * 0.8)))["verdict"] == "faster"
    few = judge("c", _rec([10.0, 11.0, 12.0]), _rec([12.0, 13.0, 14.0]), tolerance=0.05)
    assert few["verdict"] == "inconclusive" and few["ci99"][0] < 1.05 < few["ratio"]  # undecided, never "same"
    assert judge("c", _rec(base), _rec([], "error"))["verdict"] == "error"  # head crashed: fails, never a silent pass
    assert judge("c", _rec([], "error"), _rec([], "skipped"))["verdict"] == "no-base"
    rows = [judge("c", _rec(base), _rec(base)), judge("d", _rec([], "error"), _rec([], "skipped"))]
    assert ok(rows) and not ok(rows + [judge("e", _rec(base), _rec([], "oom"))])


class FakeWorker:
    """Answers like a worker: each `time` gives `iters` samples of `ms`; records the turns."""

    def __init__(self, side: int, ms: float, turns: list):
        self.side, self.ms, self.turns = side, ms, turns

    def ask(self, msg):
        if msg["op"] == "open":
            return {"n_params": 1, "warm_ms": [self.ms]}
        if msg["op"] == "time":
            self.turns.append((self.side, msg["iters"]))
            return {"samples_ms": [self.ms] * msg["iters"]}
        return {}

    def alive(self):
        return True


def test_turns_pass_every_few_iterations_in_abba_order():
    from nlpbench.ab.run import TURN_S, alternate
    from nlpbench.perf.cell import PerfCellSpec

    turns, other = [], []
    spec = PerfCellSpec.make(adapter="dummy", params={}, task="classification", mode="forward", batch_size=1,
                             seq_len=8, min_iters=10, min_seconds=0.3)  # fmt: skip
    pairs = [[FakeWorker(0, 10.0, turns), FakeWorker(1, 12.0, turns)], [FakeWorker(0, 10.0, other), FakeWorker(1, 12.0, other)]]
    base, head = alternate(spec, pairs, legs=4)
    assert len(turns) == len(other)  # the 4 legs take turns on the two pairs
    blocks = base["_blocks"]
    assert blocks is head["_blocks"] and sum(len(b) for b, _ in blocks) == len(base["_samples_ms"])
    k = int(TURN_S * 1e3 / 12.0) + 1  # about TURN_S of the slower side per turn
    assert all(len(b) == len(h) == 2 * k for b, h in blocks)  # a block: two turns of each side, ABBA
    assert [s for s, _ in turns[:8]] == [0, 1, 1, 0, 0, 1, 1, 0] and {n for _, n in turns} == {k}
    assert [s for s, _ in turns[-8:]] == [1, 0, 0, 1, 1, 0, 0, 1]  # the pair's second leg mirrored: BAAB
    assert len(turns) % 4 == 0  # whole ABBA blocks: neither side gets the last word
    assert base["latency_ms"]["n"] >= 30 and sum(base["_samples_ms"]) >= 300  # both rules, on each side
    assert head["latency_ms"]["p50"] == 12.0 and head["side"] == "head" and head["status"] == "ok"


def test_slow_stretches_of_the_machine_cancel_within_abba_blocks():
    from nlpbench.ab.verdict import judge

    rng = np.random.default_rng(3)
    blocks = []
    for _ in range(40):  # the machine runs at 1x or 2x for a few blocks' time: both sides of a block alike
        phase = 2.0 if rng.random() < 0.5 else 1.0
        base = list(10 * phase * (1 + 0.02 * rng.standard_normal(4)))
        blocks.append((base, list(np.array(base) * 1.10 * (1 + 0.02 * rng.standard_normal(4)))))
    flat = [[x for b in blocks for x in b[i]] for i in (0, 1)]
    paired = judge("c", {**_rec(flat[0]), "_blocks": blocks}, _rec(flat[1]))
    unpaired = judge("c", _rec(flat[0]), _rec(flat[1]))
    assert paired["verdict"] == "regression" and paired["ci99"][0] > 1.05
    assert unpaired["verdict"] == "inconclusive"  # each side resampled alone: the stretches swamp a real +10%


def test_sigterm_unwinds_and_removes_the_worktrees(repo, monkeypatch):
    import os
    import signal

    from nlpbench.ab.sides import sides

    monkeypatch.chdir(repo)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with sides("a", "b") as (base, head):
            assert base.root.is_dir() and head.root.is_dir() and base.sha != head.sha
            os.kill(os.getpid(), signal.SIGTERM)  # as a cancelled CI job or `timeout` sends it
    assert not base.root.exists() and not head.root.exists()
    assert _git(repo, "worktree", "list").count("\n") == 0
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back


QUALITY_SUITE = """name: ab-quality
seed: 0
device: cpu
launcher: {launcher}
tasks:
  - task: classification
    dataset: {{source: synthetic, name: sentiment, size: {{train: 200, validation: 50, test: 50}}}}
    models:
      - {{adapter: dummy, train: {{epochs: 2}}}}
"""


def test_quality_a_a_compares_each_sides_training_exactly(repo, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    suite = tmp_path / "abq.yaml"
    suite.write_text(QUALITY_SUITE.format(launcher="inline"))
    assert main(["ab", str(suite), "--base", "a", "--out", str(tmp_path)]) == 2  # no perf section, no --quality
    assert "has no perf section" in capsys.readouterr().err
    assert main(["ab", "ab.yaml", "--base", "a", "--quality-tolerance", "accuracy=0", "--out", str(tmp_path)]) == 2
    assert "only with --quality" in capsys.readouterr().err
    code = main(["ab", str(suite), "--base", "a", "--head", "a", "--quality", "--quality-tolerance", "accuracy=0",
                 "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "v.json")])  # fmt: skip
    verdicts = json.loads((tmp_path / "v.json").read_text())
    assert code == 0 and verdicts["ok"] is True and verdicts["cells"] == []  # quality only: no perf cells
    q = verdicts["quality"]
    assert q["ok"] is True and q["compared"] >= 1 and q["regressions"] == []
    run = next((tmp_path / "runs").iterdir())
    for side in ("base", "head"):  # each side's own run folder, trained by that side's worktree
        (side_run,) = list((run / "quality" / side).iterdir())
        recs = [r for r in read_records(side_run) if r["cell"].startswith("quality/")]
        assert recs and all(r["status"] == "ok" for r in recs)
    assert "Quality (head against base)" in (run / "ab.md").read_text()


def test_quality_regression_in_the_working_tree_fails_even_through_child_processes(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)
    suite = tmp_path / "abq.yaml"
    suite.write_text(QUALITY_SUITE.format(launcher="process"))  # training in a child interpreter per unit
    path = repo / "models" / "dummy.py"
    text = path.read_text()
    assert "        return self.head(pooled)\n" in text
    path.write_text(text.replace("        return self.head(pooled)\n", "        return self.head(pooled) * 0.0\n"))
    try:  # head's classifier now always answers one class: its f1_macro collapses
        code = main(["ab", str(suite), "--base", "a", "--quality", "--out", str(tmp_path / "runs"),
                     "--json", str(tmp_path / "v.json")])  # fmt: skip
    finally:
        _git(repo, "checkout", "-q", "--", "models/dummy.py")
    q = json.loads((tmp_path / "v.json").read_text())["quality"]
    assert code == 1 and q["ok"] is False
    assert q["regressions"] and all(r.startswith("quality/classification/dummy/") for r in q["regressions"])
    assert any(r.split()[-1] == "f1_macro" for r in q["regressions"]), q["regressions"]


def test_same_needs_the_whole_interval_inside_the_tolerance_else_inconclusive():
    from nlpbench.ab.verdict import state

    assert state(0.97, 1.04, 0.05) == "same"
    assert state(1.032, 1.189, 0.05) == "inconclusive"  # issue 31's planted +10%: was "same"
    assert state(0.93, 1.02, 0.05) == "inconclusive" and state(1.06, 1.2, 0.05) == "regression"
    assert state(0.8, 0.94, 0.05) == "faster" and state(0.95, 1.05, 0.05) == "same"


class NoisyWorker(FakeWorker):
    """Samples of `ms` times lognormal noise from a seeded generator; a fake clock advances by what it 'ran'.
    `machine["slow_after"]`: after that many legs (two opens each) every sample is 50 times slower."""

    def __init__(self, side, ms, turns, rng, clock, machine):
        super().__init__(side, ms, turns)
        self.rng, self.clock, self.machine = rng, clock, machine

    def ask(self, msg):
        if msg["op"] == "open":
            self.machine["opens"] += 1
        if msg["op"] != "time":
            return super().ask(msg)
        slow = 50.0 if self.machine["opens"] > 2 * self.machine.get("slow_after", 1e9) else 1.0
        xs = list(self.ms * slow * np.exp(self.rng.normal(0, 0.15, msg["iters"])))
        self.clock[0] += sum(xs) / 1e3
        return {"samples_ms": xs}


def _noisy_cell(slower: float, max_extra_s: float, seed: int = 0, slowdown_after: int | None = None):
    from functools import partial

    from nlpbench.ab.run import _decided, alternate
    from nlpbench.perf.cell import PerfCellSpec

    rng, clock, turns = np.random.default_rng(seed), [0.0], []
    machine = {"opens": 0, **({"slow_after": slowdown_after} if slowdown_after is not None else {})}
    spec = PerfCellSpec.make(adapter="dummy", params={}, task="classification", mode="forward", batch_size=1,
                             seq_len=8, min_iters=8, min_seconds=0.05)  # fmt: skip
    pairs = [[NoisyWorker(0, 10.0, turns, rng, clock, machine),
              NoisyWorker(1, 10.0 * slower, turns, rng, clock, machine)] for _ in range(2)]  # fmt: skip
    decided = partial(_decided, spec.cell, tolerance=0.05)
    recs = alternate(spec, pairs, decided=decided, max_extra_s=max_extra_s, clock=lambda: clock[0])
    return recs, decided


def test_an_inconclusive_cell_is_sampled_until_it_decides():
    from nlpbench.ab.verdict import judge

    first, _ = _noisy_cell(1.10, max_extra_s=0.0)  # the legs alone: too few samples to decide
    assert judge("c", *first)["verdict"] == "inconclusive" and first[0]["_legs"] == 4
    recs, decided = _noisy_cell(1.10, max_extra_s=1e6)
    row = judge("c", *recs)
    assert row["verdict"] == "regression" and decided(recs)  # a planted +10% is never "same"
    assert recs[0]["_legs"] > 4 and recs[0]["_legs"] % 4 == 0 and recs[0]["_extra_s"] > 0
    assert len(recs[0]["_samples_ms"]) > len(first[0]["_samples_ms"])


def test_extra_sampling_stops_at_its_time_cap():
    recs, decided = _noisy_cell(1.05, max_extra_s=2.0)  # on the tolerance's edge: can't decide
    assert not decided(recs) and recs[0]["_extra_s"] <= 2.0 and recs[0]["_legs"] > 4


def test_a_machine_that_slows_down_stops_extra_sampling_mid_group():
    recs, _ = _noisy_cell(1.05, max_extra_s=2.0, slowdown_after=4)  # from leg 5 on, every sample 50 times slower
    assert recs[0]["_legs"] == 5 and recs[0]["_extra_s"] > 2.0  # stopped after the leg that passed the cap


def test_exit_codes_and_json_for_inconclusive_cells(tmp_path):
    from nlpbench.ab.verdict import exit_code, loud_line, write_outputs

    rows = [{"cell": "a", "ratio": 1.0, "ci99": [0.99, 1.01], "verdict": "same", "base_p50_ms": 1.0,
             "head_p50_ms": 1.0, "legs": 4, "seconds": 1.0, "extra_seconds": 0.0},
            {"cell": "b", "ratio": 1.09, "ci99": [1.03, 1.19], "verdict": "inconclusive", "base_p50_ms": 1.0,
             "head_p50_ms": 1.09, "legs": 12, "seconds": 9.0, "extra_seconds": 6.0}]  # fmt: skip
    assert exit_code(rows) == 0 and exit_code(rows, fail_on_inconclusive=True) == 3
    assert exit_code(rows, True, other_ok=False) == 1
    assert exit_code(rows + [{**rows[0], "cell": "c", "verdict": "regression"}], True) == 1
    assert exit_code(rows[:1], True) == 0 and loud_line(rows[:1], 0.05) is None
    assert loud_line(rows, 0.05).startswith("INCONCLUSIVE: 1 cell(s)") and "b" in loud_line(rows, 0.05)
    write_outputs(tmp_path, rows, 0.05, tmp_path / "v.json")
    v = json.loads((tmp_path / "v.json").read_text())
    assert v["ok"] is True and v["inconclusive"] == ["b"] and v["cells"][1]["verdict"] == "inconclusive"
    assert v["cells"][1]["extra_seconds"] == 6.0 and "INCONCLUSIVE: 1 cell(s)" in (tmp_path / "ab.md").read_text()
