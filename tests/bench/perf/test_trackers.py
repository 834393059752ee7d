import time

import numpy as np
import pytest
import torch

from nlpbench.perf.flops import track_flops
from nlpbench.perf.trackers import Latency, measure_latency, track_latency, track_memory


def test_latency_stats_on_known_samples():
    lat = Latency.from_samples(list(range(1, 101)))  # 1..100 ms
    assert lat.n == 100
    assert lat.mean == pytest.approx(50.5)
    assert lat.p50 == pytest.approx(50.5)
    assert lat.p90 == pytest.approx(90.1)
    assert lat.p99 == pytest.approx(99.01)
    assert lat.iqr == pytest.approx(75.25 - 25.75)
    assert lat.std == pytest.approx(np.std(np.arange(1, 101), ddof=1))
    assert lat.samples_ms[:3] == [1, 2, 3]
    assert (lat.p25, lat.p75) == (pytest.approx(25.75), pytest.approx(75.25))  # iqr = p75 - p25
    assert set(lat.summary()) == {"mean", "p50", "p90", "p99", "std", "iqr", "n", "p25", "p75"}


def test_noisy_when_the_medians_interval_is_wider_than_ten_percent():
    assert not Latency.from_samples([10.0, 10.1, 9.9, 10.0, 10.2]).noisy
    assert Latency.from_samples([8.0, 9.0, 10.0, 11.0, 12.0]).noisy  # 5 samples: [8, 12], 40% of 10
    rng = np.random.default_rng(0)
    tailed = 10.0 + rng.exponential(2.0, size=2000)  # IQR/median ~ 0.2: the old rule flagged it
    lat = Latency.from_samples(tailed)
    assert lat.iqr / lat.p50 > 0.10 and not lat.noisy  # ... but 2000 samples pin the median down
    lo, hi = lat.median_ci95()
    assert lo < lat.p50 < hi and (hi - lo) / lat.p50 < 0.03
    few = Latency.from_samples(tailed[:8])  # the same spread from 8 samples: the median could be far off
    assert few.noisy
    with pytest.raises(ValueError):
        Latency.from_samples([])


def test_the_medians_interval_takes_exact_binomial_ranks():
    from math import comb

    from nlpbench.perf.trackers import median_rank

    assert [median_rank(n) for n in (5, 8, 9, 10, 20, 100)] == [1, 1, 2, 2, 6, 40]  # the textbook table
    for n in range(1, 260):  # the widest-ranked interval that still covers 95% (exactly up to 200, approx above)
        j = median_rank(n)
        cover = 1 - 2 * sum(comb(n, i) for i in range(j)) / 2**n
        assert j == 1 or cover >= 0.95 - (0.005 if n > 200 else 0)
        if n <= 200 and 2 * (j + 1) <= n + 1:
            assert 1 - 2 * sum(comb(n, i) for i in range(j + 1)) / 2**n < 0.95  # one rank in: too narrow
    ten = Latency.from_samples([10.0, 10.1, 9.9, 10.0, 10.2, 9.95, 10.05, 10.1, 7.0, 14.0])
    assert ten.median_ci95() == (9.9, 10.2) and not ten.noisy  # one stray sample each side: the median holds


def test_latency_loop_meets_both_stopping_rules():
    lat, wall = measure_latency(lambda: time.sleep(0.002), "cpu", min_iters=3, min_seconds=0.03)
    assert lat.n >= 3 and wall >= 0.03
    assert lat.p50 >= 2.0  # each sample covers the sleep
    few, _ = measure_latency(lambda: time.sleep(0.001), "cpu", min_iters=7, min_seconds=0.0)
    assert few.n == 7  # min_iters alone stops it when min_seconds is met


def test_gc_paused_inside_timing_and_restored():
    import gc

    with track_latency("cpu") as lat:
        assert not gc.isenabled()
        lat.step(lambda: None)
    assert gc.isenabled() and lat.result.n == 1


def test_cpu_memory_tracker_sees_a_big_allocation_even_when_freed_inside():
    with track_memory("cpu") as mem:
        x = torch.ones(64 * 2**20 // 4 * 3)  # 192 MiB, every page touched
        del x
    assert mem.result.kind == "cpu_allocated" and mem.result.rss_mb >= 180
    assert mem.result.peak_mb >= 180
    with track_memory("cpu") as small:
        y = torch.ones(1000)
    assert small.result.peak_mb < 50
    del y


def test_flop_counter_gives_2mnk_for_a_linear():
    m, k, n = 16, 64, 32
    layer = torch.nn.Linear(k, n)
    with track_flops() as work, torch.no_grad():
        layer(torch.randn(m, k))
    assert work.result.flops == 2 * m * n * k


def test_tail_percentiles_are_published_only_when_n_supports_them():
    few, many = Latency.from_samples(range(1, 21)).summary(), Latency.from_samples(range(1, 101)).summary()
    assert few["n"] == 20 and few["p90"] is not None and few["p99"] is None
    assert many["p99"] is not None and Latency.from_samples(range(1, 6)).summary()["p90"] is None
