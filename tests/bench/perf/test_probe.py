from bench.perf.probe import probe_peak_gflops


def test_probe_reports_a_positive_peak_from_the_best_matmul():
    p = probe_peak_gflops("cpu", n=128, seconds=0.02)
    assert p["device"] == "cpu" and p["dtype"] == "fp32" and p["n"] == 128
    assert p["gflops"] > 0
    assert p["gflops"] == 2 * 128**3 / (p["matmul_ms"] / 1e3) / 1e9
