"""sweep(): order, immediate writes, OOM -> skipped larger batches, resume via `done`, warm rounds."""

import numpy as np

from nlpbench.launch.cells import sweep


def _grid(make_spec, **over):
    return [
        make_spec(batch_size=b, seq_len=s, min_iters=2, min_seconds=0.0, warmup=1, **over)
        for s in (8, 32)
        for b in (1, 4, 16, 64)
    ]


def test_oom_cell_then_larger_batches_skipped_rest_ok(make_spec):
    specs = _grid(make_spec, params={"fail_above": 100})  # batch*seq > 100 raises torch.OutOfMemoryError
    written = []
    sweep(specs, "inline", written.append, progress=False)
    status = {(r["batch_size"], r["seq_len"]): r["status"] for r in written}
    assert [r["cell"] for r in written] == [s.cell for s in specs]  # in order, every cell written
    assert status == {
        (1, 8): "ok",
        (4, 8): "ok",
        (16, 8): "oom",
        (64, 8): "skipped",
        (1, 32): "ok",
        (4, 32): "oom",
        (16, 32): "skipped",
        (64, 32): "skipped",
    }
    oom = next(r for r in written if r["status"] == "oom")
    assert "fail_above" in oom["error"]
    skipped = next(r for r in written if r["status"] == "skipped")
    assert "ran out of memory" in skipped["error"] and "latency_ms" not in skipped


def test_write_is_called_as_each_cell_ends(make_spec):
    specs = _grid(make_spec)[:3]
    seen = []

    def write(rec):
        seen.append(rec["cell"])
        assert len(seen) <= len(specs)

    sweep(specs, "inline", write, progress=False)
    assert seen == [s.cell for s in specs]


def test_done_cells_are_not_run_again(make_spec):
    specs = _grid(make_spec)[:3]
    written = []
    sweep(specs, "inline", written.append, done={specs[0].cell, "unrelated"}, progress=False)
    assert [r["cell"] for r in written] == [s.cell for s in specs[1:]]
    assert all(r["status"] == "ok" and r["launcher"] == "inline" for r in written)


def test_an_error_cell_does_not_stop_the_sweep(make_spec):
    specs = [make_spec(dtype="fp16"), make_spec(batch_size=2, min_seconds=0.0)]
    written = []
    sweep(specs, "inline", written.append, progress=False)
    assert [r["status"] for r in written] == ["error", "ok"]


def test_fresh_rounds_interleave_cells_and_pool_their_samples(make_spec, monkeypatch):
    from nlpbench.launch import cells
    from nlpbench.launch.child import run_child

    specs = [make_spec(batch_size=b, min_iters=6, min_seconds=0.0) for b in (1, 2)]
    order, written = [], []

    def spy(queue):  # the process executor minus the processes: each job's child spec, run here
        while queue:
            job = queue.next()
            order.append(job.child["spec"]["cell"])
            assert job.child["spec"]["min_iters"] == 2 and job.child["spec"]["keep_samples"]
            queue.finish(job, job.accept(run_child(job.child)))

    monkeypatch.setattr(cells, "get_executor", lambda name, **o: spy)
    sweep(specs, "process", written.append, progress=False, rounds=3)  # the process launcher, spied on
    assert order == [s.cell for s in specs] * 3  # round 1 of every cell, then round 2, ...
    assert [r["cell"] for r in written] == [s.cell for s in specs]
    for r in written:
        assert r["rounds"] == 3 and len(r["round_p50_ms"]) == 3 and r["latency_ms"]["n"] == 6
        assert len(r["latency_samples_ms"]) == 6  # every round's samples, not round 1's two
        assert "_samples_ms" not in r


def test_a_round_that_comes_back_with_nothing_ends_its_cell_with_one_record(make_spec, monkeypatch):
    from nlpbench.launch import cells
    from nlpbench.launch.child import run_child

    specs = [make_spec(batch_size=b, min_iters=6, min_seconds=0.0) for b in (1, 2)]
    written, calls = [], []

    def crashing_round_two(queue):  # the process executor, but cell b1's second round dies without an answer
        while queue:
            job = queue.next()
            calls.append(job.key)
            if job.key == specs[0].cell and calls.count(job.key) == 2:
                queue.finish(job, job.lost("error", "cell process killed by signal SIGKILL", "t", 1.0))
            else:
                queue.finish(job, job.accept(run_child(job.child)))

    monkeypatch.setattr(cells, "get_executor", lambda name, **o: crashing_round_two)
    sweep(specs, "process", written.append, progress=False, rounds=3)
    assert [(r["cell"], r["status"]) for r in written] == [(specs[0].cell, "error"), (specs[1].cell, "ok")]
    assert calls.count(specs[0].cell) == 2 and calls.count(specs[1].cell) == 3  # no third round for the dead cell


def test_inline_rounds_set_each_cell_up_once_and_interleave(make_spec, monkeypatch):
    import nlpbench.perf.rounds as rounds

    specs = [make_spec(batch_size=b, min_iters=6, min_seconds=0.0) for b in (1, 2)]
    specs.append(make_spec(name="other", adapter="dummy", min_iters=6, min_seconds=0.0))
    opened, timed, written = [], [], []
    real_open, real_loops = rounds.open_cell, rounds.time_loops
    monkeypatch.setattr(rounds, "open_cell", lambda spec: opened.append(spec.cell) or real_open(spec))
    monkeypatch.setattr(rounds, "time_loops", lambda spec, *a: timed.append(spec.cell) or real_loops(spec, *a))
    sweep(specs, "inline", written.append, progress=False, rounds=3)
    assert opened == [s.cell for s in specs]  # built, warmed, memory and FLOPs: once per cell
    two = [s.cell for s in specs[:2]]  # one model's cells interleave; the next model's after them
    assert timed == two * 3 + [specs[2].cell] * 3
    assert [r["cell"] for r in written] == [s.cell for s in specs]
    for r in written:
        assert r["status"] == "ok" and r["launcher"] == "inline" and r["rounds"] == 3
        assert r["latency_ms"]["n"] == 6 and len(r["latency_samples_ms"]) == 6 and len(r["round_p50_ms"]) == 3
        assert r["peak_memory_mb"] is not None and r["flops"] and "_samples_ms" not in r
        assert r["wall_s"] >= r["timed_s"] > 0


def test_inline_rounds_still_skip_batches_above_an_oom(make_spec):
    specs = [make_spec(batch_size=b, seq_len=8, min_iters=2, min_seconds=0.0, params={"fail_above": 100})
             for b in (4, 16, 64)]  # fmt: skip
    written = []
    sweep(specs, "inline", written.append, progress=False, rounds=2)
    assert [(r["batch_size"], r["status"]) for r in written] == [(16, "oom"), (64, "skipped"), (4, "ok")]
    assert written[2]["rounds"] == 2


def test_warm_windows_hold_one_model_at_most_max_warm(make_spec):
    from nlpbench.perf.rounds import MAX_WARM, warm_windows

    a = [make_spec(batch_size=b) for b in range(1, MAX_WARM + 3)]
    b = [make_spec(name="b", batch_size=1)]
    assert [len(w) for w in warm_windows(a + b)] == [MAX_WARM, 2, 1]


def test_the_flag_is_the_pooled_medians_interval_not_the_round_spread():
    from nlpbench.perf.rounds import merge

    def part(samples):
        return {"cell": "c", "status": "ok", "batch_size": 1, "tokens_per_sample": 4, "flops": None,
                "noisy": False, "timed_s": 1.0, "wall_s": 2.0, "_samples_ms": samples,
                "latency_samples_ms": samples}  # fmt: skip

    steady = merge([part([10.0, 10.1, 9.9]) for _ in range(5)])
    assert not steady["noisy"] and steady["latency_ms"]["n"] == 15 and steady["timed_s"] == 5.0
    assert len(steady["latency_samples_ms"]) == 15
    # one round 4% slower among many samples: the spread is reported, the median is still sure
    many = [part(list(np.linspace(9.9, 10.1, 50))) for _ in range(4)] + [part(list(np.linspace(10.3, 10.5, 50)))]
    moved = merge(many)
    assert moved["round_spread"] > 0.03 and not moved["noisy"]
    # few samples spread over 30%: the median could be anywhere in there
    wide = merge([part([10.0, 13.0]), part([11.0, 12.5])])
    assert wide["noisy"]


def test_compiled_cells_run_one_round(make_spec):
    from nlpbench.perf.rounds import cell_rounds, round_spec

    assert cell_rounds(make_spec(compile=True), 3) == 1 and cell_rounds(make_spec(), 3) == 3
    spec = round_spec(make_spec(min_iters=10, min_seconds=0.9), 3)
    assert (spec.min_iters, spec.min_seconds, spec.keep_samples) == (4, 0.3, True)
    from nlpbench.perf.rounds import round_iters

    assert [round_iters(10, 3, r) for r in range(3)] == [4, 3, 3] and [round_iters(2, 3, r) for r in range(3)] == [1, 1, 1]


def test_slow_cells_skip_the_rewarm_step_fast_ones_keep_it(make_spec, monkeypatch):
    import nlpbench.perf.rounds as rounds

    cell = rounds.WarmCell(make_spec(min_iters=6, min_seconds=0.0), 3)
    rewarmed = []
    monkeypatch.setattr(cell, "_rewarm", lambda: rewarmed.append(1) or 0.0)
    cell.time_round()
    cell.time_round()
    assert rewarmed == [1]  # the dummy's step is far under REWARM_BELOW_MS: round 2 is rewarmed
    monkeypatch.setattr(rounds, "REWARM_BELOW_MS", 0.0)
    cell.time_round()
    assert rewarmed == [1] and cell.record()["latency_ms"]["n"] == 6  # 2 + 2 + 2 steps, none added
