import json

import pytest

from nlpbench.perf.check import main, overhead, repeatability


def _run(path, p50s, timed=1.0, wall=1.25, span=("2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z")):
    path.mkdir()
    (path / "run.json").write_text(json.dumps({"started_at": span[0], "ended_at": span[1]}))
    recs = [
        {"cell": f"c{i}", "kind": "perf", "status": "ok", "latency_ms": {"p50": p}, "timed_s": timed, "wall_s": wall}
        for i, p in enumerate(p50s)
    ]
    recs.append({"cell": "c-oom", "kind": "perf", "status": "oom", "timed_s": 99})
    (path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def test_overhead_and_repeatability(tmp_path, capsys):
    a = _run(tmp_path / "a", [10.0, 20.0, 40.0])
    b = _run(tmp_path / "b", [10.5, 20.0, 36.0])
    o = overhead(a)
    assert o["cells"] == 3 and o["timed_s"] == 3.0
    assert o["run_overhead"] == pytest.approx(1 - 3.0 / 10) and o["cells_overhead"] == pytest.approx(0.2)
    r = repeatability(a, b)
    assert r["cells"] == 3 and r["median_rel_delta_p50"] == pytest.approx(0.05)  # deltas 0.05, 0, 0.1
    assert r["worst"] == {"cell": "c2", "rel_delta": pytest.approx(0.1)}
    assert main([str(a), str(b)]) == 0 and "repeatability" in capsys.readouterr().out
