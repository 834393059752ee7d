"""The deployment figure from schema-true fake records: quality intervals and latency quartiles as bars."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nlpbench.report.variants import deployment_figure

P50 = {"fp32": 10.0, "int8-dynamic": 6.0}


def records(quartiles: bool = True) -> list[dict]:
    out = []
    for variant, p50 in P50.items():
        name = "lstm" if variant == "fp32" else f"lstm@{variant}"
        q = f"quality/classification/{name}/test"
        acc = 0.80 if variant == "fp32" else 0.78
        out.append({"cell": q, "kind": "quality", "task": "classification", "split": "test", "name": name,
                    "model": "lstm", "status": "ok", "variant": None if variant == "fp32" else variant,
                    "metrics": {"accuracy": acc, "accuracy_ci95": [acc - 0.03, acc + 0.02]}})
        lat = {"p50": p50, "iqr": 2.0, "n": 30} | ({"p25": p50 - 0.5, "p75": p50 + 1.5} if quartiles else {})
        out.append({"cell": f"perf/classification/{name}/forward/b8/s128", "kind": "perf", "task": "classification",
                    "name": name, "base_name": "lstm", "model": "lstm", "variant": variant, "status": "ok",
                    "mode": "forward", "batch_size": 8, "seq_len": 128, "quality_cell": q, "latency_ms": lat,
                    "throughput": {"samples_per_s": 8000 / p50}})
    return out


def bars(fig):
    """(x span, y span) of each marker's error bars, by p50."""
    out = {}
    for c in fig.axes[0].containers:
        x, y = (v[0] for v in c.lines[0].get_data())
        xseg, yseg = (lc.get_segments()[0] for lc in c.lines[2])
        out[x] = (tuple(np.round(xseg[:, 0], 3)), tuple(np.round(yseg[:, 1], 3)))
    return out


def test_deployment_points_carry_quality_interval_and_latency_quartiles():
    fig = deployment_figure({"run": records()})
    try:
        got = bars(fig)
        assert got[10.0] == ((9.5, 11.5), (0.77, 0.82))  # fp32: quartiles 9.5..11.5, CI [0.77, 0.82]
        assert got[6.0] == ((5.5, 7.5), (0.75, 0.8))
        assert "interquartile" in fig.axes[0].get_xlabel() and "95% CI" in fig.axes[0].get_ylabel()
    finally:
        plt.close(fig)


def test_older_records_get_the_iqr_centred_on_the_median():
    fig = deployment_figure({"run": records(quartiles=False)})
    try:
        assert bars(fig)[10.0][0] == pytest.approx((9.0, 11.0))
    finally:
        plt.close(fig)
