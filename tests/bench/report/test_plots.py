"""The report's plots, read back from the matplotlib figures: which points, bars, labels and legend entries."""
from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nlpbench.report import learning_curve, pareto, plots
from nlpbench.report.plot_data import figure_legend, perf_rows
from tests.bench.report.test_report import fake_records


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def seeded(records: list[dict], seeds=(0, 1), shift: float = 0.04) -> list[dict]:
    """The records as a `seeds` suite writes them: quality cells once per seed, ids ending in /seed<k>."""
    out = [r for r in records if r["kind"] != "quality"]
    for r in (r for r in records if r["kind"] == "quality"):
        for k in seeds:
            rec = copy.deepcopy(r)
            rec["cell"], rec["seed"] = f"{r['cell']}/seed{k}", k
            for name in ("accuracy", "bleu"):
                if name in rec["metrics"]:
                    rec["metrics"][name] += shift * k
                    if f"{name}_ci95" in rec["metrics"]:
                        rec["metrics"][f"{name}_ci95"] = [v + shift * k for v in rec["metrics"][f"{name}_ci95"]]
            out.append(rec)
    return out


def legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_pareto_survives_seeds_with_mean_interval_envelope_and_each_seed():
    recs = seeded(fake_records())
    points = pareto.points({"run": recs}, perf_rows({"run": recs}), "classification", "accuracy")
    lstm = next(p for p in points if p["model"] == "lstm")  # lstm: 0.81 ± 0.02 at seed 0, +0.04 at seed 1
    assert lstm["seeds"] == pytest.approx([0.81, 0.85])
    assert lstm["y"] == pytest.approx(0.83)
    assert (lstm["lo"], lstm["hi"]) == (pytest.approx(0.79), pytest.approx(0.87))
    assert {p["model"] for p in points} == {"lstm", "bert", "bert-nomlm"}
    fig = plots.figures({"run": recs})["quality_vs_throughput"]
    assert "mean over 2 seeds" in fig.get_supxlabel() and "highest seed's 95% interval" in fig.get_supxlabel()


def test_translation_is_placed_at_decoding_throughput_and_says_so():
    recs = fake_records()
    rows = perf_rows({"run": recs})
    points = pareto.points({"run": recs}, rows, "translation", "bleu")
    assert {p["mode"] for p in points} == {"generate"}
    gen = rows[(rows["mode"] == "generate") & (rows["model"] == "gru")]
    assert points[0]["x"] in set(gen["samples_per_s"])
    fig = plots.figures({"run": recs})["quality_vs_throughput"]
    cls_ax, mt_ax = fig.axes[:2]
    assert mt_ax.get_xlabel().startswith("decoding (generate) throughput")
    assert cls_ax.get_xlabel().startswith("forward throughput")
    # without generate cells a translator falls back to forward, and the axis says forward
    no_gen = [r for r in recs if r.get("mode") != "generate"]
    assert {p["mode"] for p in pareto.points({"run": no_gen}, perf_rows({"run": no_gen}), "translation", "bleu")} == {
        "forward"}


def test_quality_points_carry_their_interval_as_a_bar():
    recs = fake_records()
    fig = plots.figures({"run": recs})["quality_vs_throughput"]
    ax = fig.axes[0]
    bars = [c for c in ax.containers if c.has_yerr]
    spans = sorted(tuple(np.round(seg[:, 1], 3)) for c in bars for seg in c.lines[2][0].get_segments())
    assert (0.79, 0.83) in spans and (0.86, 0.9) in spans  # lstm 0.81 ± 0.02, bert 0.88 ± 0.02
    assert "95% interval" in fig.get_supxlabel()


def test_runs_side_by_side_are_read_at_the_same_cell():
    a = fake_records()
    b = [r for r in fake_records(scale=2.0) if not (r["kind"] == "perf" and r.get("batch_size") == 32)]
    points = pareto.points({"a": a, "b": b}, perf_rows({"a": a, "b": b}), "classification", "accuracy")
    assert len({p["cell"] for p in points}) == 1
    x = {(p["run"], p["model"]): p["x"] for p in points}
    assert x[("a", "lstm")] == pytest.approx(2 * x[("b", "lstm")])  # b is twice as slow at the same cell


def test_multi_run_legend_keeps_series_missing_from_the_last_panel():
    a = fake_records()
    b = [r for r in fake_records(scale=2.0) if not (r["kind"] == "perf" and r.get("batch_size") == 32)]
    fig = plots.figures({"a": a, "b": b})["latency_vs_seq"]
    assert fig.axes[-1].get_title() == "batch 32"  # run b has no batch-32 cells ...
    assert "lstm (b)" in legend_texts(fig) and "lstm (a)" in legend_texts(fig)  # ... and keeps its entry


def test_figure_legend_collects_every_panel():
    fig, (left, right) = plt.subplots(1, 2)
    left.plot([1], [1], label="only left")
    right.plot([1], [1], label="only right")
    right.plot([2], [2], label="only left")  # the same series again: one entry
    figure_legend(fig, [left, right])
    assert legend_texts(fig) == ["only left", "only right"]


def test_latency_bars_span_the_quartiles():
    recs = fake_records()
    for r in recs:
        if r["kind"] == "perf" and r["status"] == "ok":
            p50 = r["latency_ms"]["p50"]
            r["latency_ms"].update(p25=p50 * 0.9, p75=p50 * 1.3)  # skewed, as latency is
    fig = plots.figures({"run": recs})["latency_vs_seq"]
    ax = fig.axes[0]
    lstm = next(c for c in ax.containers if c.get_label() == "lstm")
    x, y = lstm.lines[0].get_data()
    segs = lstm.lines[2][0].get_segments()
    assert [s[0, 1] for s in segs] == pytest.approx(list(np.asarray(y) * 0.9))
    assert [s[1, 1] for s in segs] == pytest.approx(list(np.asarray(y) * 1.3))
    assert "interquartile" in ax.get_ylabel()


def test_latency_bars_of_older_records_are_the_iqr_around_the_median():
    recs = fake_records()  # iqr only, no quartiles
    ax = plots.figures({"run": recs})["latency_vs_seq"].axes[0]
    lstm = next(c for c in ax.containers if c.get_label() == "lstm")
    seg = lstm.lines[2][0].get_segments()[0]
    p50 = lstm.lines[0].get_data()[1][0]
    assert seg[1, 1] - seg[0, 1] == pytest.approx(0.04 * p50)  # the fake records' iqr is 4% of p50


def test_one_sequence_length_gets_a_readable_axis():
    recs = [r for r in fake_records() if r["kind"] != "perf" or r["seq_len"] == 32]
    ax = plots.figures({"run": recs})["latency_vs_seq"].axes[0]
    assert ax.get_xlim() == (16.0, 48.0)
    assert list(ax.get_xticks()) == [32]


def test_generate_only_runs_label_their_throughput_generate():
    recs = [r for r in fake_records() if r["kind"] == "perf" and r["mode"] == "generate"]
    fig = plots.figures({"run": recs})["throughput_vs_batch"]
    assert fig.axes[0].get_ylabel() == "generate throughput (samples/s)"
    assert fig.get_suptitle().endswith("mode generate")


def test_learning_curve_draws_every_run():
    def trained(run_scale):
        recs = [r for r in fake_records() if r["kind"] == "quality" and r["split"] == "test"]
        for r in recs:
            r["fit"] = {"history": [{"minutes": 0.1 * run_scale * i, "score": 0.5 + 0.1 * i} for i in range(1, 4)]}
        return recs

    fig = learning_curve.figure({"a": trained(1), "b": trained(2)})
    labels = legend_texts(fig)
    assert "lstm (a) (n=1)" in labels and "lstm (b) (n=1)" in labels
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert lines["lstm (a) (n=1)"].get_color() == lines["lstm (b) (n=1)"].get_color()  # one colour per model
    assert lines["lstm (a) (n=1)"].get_linestyle() != lines["lstm (b) (n=1)"].get_linestyle()  # a style per run
    assert max(lines["lstm (b) (n=1)"].get_xdata()) == pytest.approx(0.6)
