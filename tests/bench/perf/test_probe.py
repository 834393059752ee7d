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


def test_the_peak_is_the_best_of_several_gemm_shapes_with_the_ceiling_beside_it():
    shapes = [(64, 64, 64), (128, 32, 64), (32, 128, 96)]
    p = probe_peak_gflops("cpu", seconds=0.03, shapes=shapes)
    assert [t["shape"] for t in p["shapes"]] == [list(s) for s in shapes]
    assert p["gflops"] == max(t["gflops"] for t in p["shapes"]) and p["shape"] in [t["shape"] for t in p["shapes"]]
    assert p["source"] == "probe" and "gflops" in p["ceiling"] and p["ceiling"]["why"]


def test_isa_ceiling_is_cores_times_flops_per_cycle_times_clock_or_unknown(tmp_path):
    from nlpbench.perf.ceiling import flops_per_cycle, isa_ceiling

    assert flops_per_cycle("fp32", {"avx", "avx2", "fma", "avx512f"}) == (64, "avx512f")
    assert flops_per_cycle("fp32", {"avx", "avx2", "fma"}) == (32, "fma")
    assert flops_per_cycle("fp32", {"avx", "fma"}) == (16, "avx")  # FMA without AVX2: not the AVX2 rate
    assert flops_per_cycle("bf16", {"avx512f", "avx512_bf16"}) == (128, "avx512_bf16")
    assert flops_per_cycle("bf16", {"avx512f", "amx_bf16"}) == (1024, "amx_bf16")
    assert flops_per_cycle("fp32", {"asimd"}) == (None, None)
    freq = tmp_path / "cpuinfo_max_freq"
    freq.write_text("3000000\n")  # kHz
    c = isa_ceiling("cpu", "fp32", 1, {"flags": "avx avx2 fma", "cpu MHz": "2000.0"}, max_freq=freq)
    assert c["gflops"] == 1 * 32 * 3.0 and c["clock_source"] == "cpufreq max" and "32 fp32 FLOPs/cycle" in c["why"]
    c = isa_ceiling("cpu", "fp32", 1, {"flags": "avx avx2 fma", "cpu MHz": "2000.0"}, max_freq=tmp_path / "none")
    assert c["gflops"] == 64.0 and "cpu MHz" in c["clock_source"]
    assert isa_ceiling("cpu", "fp32", 1, {"flags": "asimd"}, max_freq=tmp_path / "none")["gflops"] is None
    assert isa_ceiling("cpu", "fp32", 1, {"flags": "avx2 fma"}, max_freq=tmp_path / "none")["why"] == (
        "unknown: no clock readable")
    assert isa_ceiling("cuda", "bf16", 1)["gflops"] is None


def test_a_cell_faster_than_the_probe_becomes_the_peak_never_a_fraction_above_one():
    from nlpbench.perf import probe
    from nlpbench.perf.timing import timing_fields
    from nlpbench.perf.trackers import Latency

    lat = Latency.from_samples([10.0] * 12)  # 10 ms a step
    flops = 3 * 10**9  # 300 GFLOP/s achieved
    over = timing_fields(8, 32, lat, None, 2, flops, 200.0)
    assert over["peak_fraction"] == 1.0 and over["peak_gflops"] == over["achieved_gflops"] == 300.0
    assert over["probe_gflops"] == 200.0 and over["peak_source"].startswith("this cell")
    under = timing_fields(8, 32, lat, None, 2, flops, 400.0, "probe")
    assert under["peak_fraction"] == 0.75 and under["peak_source"] == "probe" and "probe_gflops" not in under
    probe._PEAKS.clear()
    key = probe._key("cpu", "fp32")
    probe._PEAKS[key] = {"gflops": 200.0, "source": "probe"}
    assert not probe.raise_peak("cpu", "fp32", 150.0, "perf/a")  # slower: the probe stays
    assert probe.raise_peak("cpu", "fp32", 300.0, "perf/b")
    assert probe.worker_peak("cpu", "fp32") == {"gflops": 300.0, "source": "cell perf/b", "probe_gflops": 200.0}
    probe._PEAKS.clear()
