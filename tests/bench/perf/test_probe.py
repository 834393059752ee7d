from nlpbench.perf.probe import probe_peak_gflops


def test_probe_reports_a_positive_peak_from_the_median_matmul():
    p = probe_peak_gflops("cpu", n=128, seconds=0.02)
    assert p["device"] == "cpu" and p["dtype"] == "fp32" and p["n"] == 128
    assert p["gflops"] > 0
    assert p["gflops"] == 2 * 128**3 / (p["matmul_ms"] / 1e3) / 1e9


def test_worker_peak_is_probed_per_dtype_and_thread_count_with_the_median():
    import torch

    from nlpbench.perf import probe

    probe._PEAKS.clear()
    threads = torch.get_num_threads()
    try:
        a = probe.worker_peak("cpu", "fp32", seconds=0.01)
        assert probe.worker_peak("cpu", "fp32", seconds=0.01) is a  # cached in this process
        b = probe.worker_peak("cpu", "bf16", seconds=0.01)
        torch.set_num_threads(threads + 1)
        c = probe.worker_peak("cpu", "fp32", seconds=0.01)
    finally:
        torch.set_num_threads(threads)
    assert (a["dtype"], b["dtype"], a["threads"], c["threads"]) == ("fp32", "bf16", threads, threads + 1)
    assert a["statistic"] == "median" and len(probe._PEAKS) == 3
