"""The trust script runs the harness and torch's Timer on the same step and prints their ratio."""

import re

import pytest

from nlpbench.perf import trust


def test_trust_check_prints_harness_timer_and_ratio(capsys):
    argv = "--adapter dummy --batch-size 2 --seq-len 8 --rounds 2 --min-seconds 0.02 --min-iters 5 --tolerance 100"
    code = trust.main(argv.split())  # a huge tolerance: the ratio itself is not judged here
    out = capsys.readouterr().out
    rounds = re.findall(r"harness p50 ([\d.]+) ms \| Timer.blocked_autorange median ([\d.]+) ms \| ratio ([\d.]+)", out)
    assert len(rounds) == 2
    for harness, timer, ratio in rounds:
        assert float(ratio) == pytest.approx(float(harness) / float(timer), rel=1e-3)
    assert "median of 2 rounds" in out and code == 0
