"""The parts of nlpbench.serve that need no LoadGen: the capacity search, LoadGen's summary, the missing-extra line."""
import sys
from dataclasses import dataclass

import pytest

from nlpbench.cli import main
from nlpbench.serve import loadgen_log
from nlpbench.serve.scenarios import capacity_search
from tests.conftest import tiny_suite

SUMMARY = """================================================
MLPerf Results Summary
================================================
SUT name : PySUT
Scenario : Server
Mode     : PerformanceOnly
Completed samples per second    : 186.42
Result is : INVALID
  Performance constraints satisfied : Yes
  Min duration satisfied : Yes
  Min queries satisfied : Yes
  Early stopping satisfied: NO
Min latency (ns)                : 582890
Mean latency (ns)               : 3076454
50.00 percentile latency (ns)   : 2700298
99.00 percentile latency (ns)   : 8560572
99.90 percentile latency (ns)   : 8560572
target_qps : 200
"""


def test_summary_parsing(tmp_path):
    (tmp_path / "s.txt").write_text(SUMMARY)
    s = loadgen_log.parse_summary(tmp_path / "s.txt")
    assert loadgen_log.verdict(s) == "INVALID"
    assert loadgen_log.unmet(s) == ["Early stopping"]
    assert loadgen_log.throughput(s) == 186.42
    lat = loadgen_log.latencies_ms(s)
    assert lat["p50"] == pytest.approx(2.700298) and lat["p99"] == pytest.approx(8.560572)
    assert lat["p99_9"] == pytest.approx(8.560572) and lat["min"] == pytest.approx(0.58289)


@dataclass
class FakeTest:
    offered_qps: float
    verdict: str
    dropped: int = 0


def fake_server(capacity: float, drop_at: float | None = None):
    calls = []

    def run(qps):
        calls.append(qps)
        return FakeTest(qps, "VALID" if qps <= capacity else "INVALID", int(drop_at is not None and qps >= drop_at))

    return run, calls


def test_search_finds_the_highest_valid_qps_within_its_bound():
    run, calls = fake_server(capacity=130)
    found, tests = capacity_search(run, 10, 1000, steps=12, rel_tol=0.02)
    assert calls[0] == 1000 and len(tests) == len(calls) <= 12
    assert 130 * 0.98 <= found <= 130


def test_search_is_bounded_and_reports_none_when_even_lo_fails():
    run, calls = fake_server(capacity=5)
    found, tests = capacity_search(run, 10, 1000, steps=4)
    assert found is None and len(calls) == 4 and calls[-1] == 10  # hi, two bisections, then lo itself


def test_search_does_not_accept_a_valid_verdict_with_dropped_answers():
    run, _ = fake_server(capacity=1000, drop_at=50)
    found, _ = capacity_search(run, 10, 1000, steps=10)
    assert found is not None and found < 50


def test_missing_extra_is_one_line_and_exit_2(write_suite, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlperf_loadgen", None)  # import fails as when it is not installed
    path = write_suite(tiny_suite(serve={"models": ["d1", "nope"]}))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("serve.models.1: no model is labelled 'nope'" in line for line in err)
    assert any("pip install -e '.[serve]'" in line for line in err)
    assert main(["run", str(path), "--out", str(path.parent / "runs")]) == 2
