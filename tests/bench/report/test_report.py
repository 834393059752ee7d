"""Report tables, files and plots from fake (but schema-true) run folders."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from nlpbench.errors import BadInput
from nlpbench.report import write as report

CLASSIFIERS = {"lstm": ("lstm", 0.81, 1.2e6), "bert": ("bert", 0.88, 4.4e6), "bert-nomlm": ("bert", 0.79, 4.4e6)}
TRANSLATORS = {"gru": ("gru_attn", 18.5, 2.1e6), "transformer": ("transformer", 24.0, 3.3e6)}
SPEED = {"lstm": 0.05, "bert": 0.2, "bert-nomlm": 0.2, "gru": 0.1, "transformer": 0.15}  # ms per token


def quality(name: str, task: str, scale: float = 1.0, split: str = "test") -> dict:
    adapter, score, n_params = (CLASSIFIERS | TRANSLATORS)[name]
    score -= 0.01 if split == "validation" else 0.0
    rec = {"cell": f"quality/{task}/{name}/{split}", "kind": "quality", "suite": "quick", "task": task,
           "dataset": "synthetic", "split": split, "model": adapter, "name": name, "params": {"hidden_size": 64},
           "device": "cpu", "dtype": "fp32", "status": "ok", "seed": 0, "started_at": "2025-01-01T00:00:00Z",
           "wall_s": 12.0, "n_params": n_params, "train_s": 10.0 * scale, "train_examples_per_s": 400.0 / scale,
           "eval_examples_per_s": 2000.0 / scale, "init": "mlm:200" if name == "bert" else "random"}
    if task == "classification":
        rec["metrics"] = {"accuracy": score, "accuracy_ci95": [score - 0.02, score + 0.02], "f1_macro": score - 0.01}
    else:
        rec["params"] = {"hidden_size": 64, "beam_size": 4}
        rec["metrics"] = {"bleu": score, "chrf": score + 20, "bleu_signature": "nrefs:1|case:mixed|tok:13a|v:2.6"}
    return rec


def perf(name: str, mode: str, batch: int, seq: int, scale: float = 1.0, status: str = "ok") -> dict:
    adapter, _, n_params = (CLASSIFIERS | TRANSLATORS)[name]
    task = "translation" if name in TRANSLATORS else "classification"
    ms = (0.3 + SPEED[name] * batch * seq / 8) * scale * (3 if mode == "train_step" else 1)
    rec = {"cell": f"perf/{name}/{mode}/fp32/b{batch}/s{seq}", "kind": "perf", "suite": "quick", "compile": False,
           "task": "translation" if name in TRANSLATORS else "classification", "dataset": "synthetic",
           "split": None, "model": adapter, "name": name, "params": {}, "device": "cpu", "dtype": "fp32",
           "status": status, "seed": 0, "started_at": "2025-01-01T00:00:00Z", "wall_s": 1.0, "mode": mode,
           "batch_size": batch, "seq_len": seq, "quality_cell": f"quality/{task}/{name}", "n_params": n_params}
    if status != "ok":
        return rec | {"error": "CUDA out of memory" if status == "oom" else "boom"}
    return rec | {
        "latency_ms": {"mean": ms * 1.02, "p50": ms, "p90": ms * 1.1, "p99": ms * 1.3, "std": ms * 0.05,
                       "iqr": ms * 0.04, "n": 30},
        "throughput": {"samples_per_s": batch / ms * 1e3, "tokens_per_s": batch * seq / ms * 1e3},
        "peak_memory_mb": 50 + 0.002 * batch * seq * (4 if "bert" in name else 1), "memory_kind": "cpu_rss",
        "flops": 2e6 * batch * seq, "achieved_gflops": 2e6 * batch * seq / ms / 1e6, "noisy": batch == 1}


def fake_records(scale: float = 1.0, perf_only: bool = False) -> list[dict]:
    recs = [] if perf_only else (
        [quality(n, "classification", scale, split) for n in CLASSIFIERS for split in ("validation", "test")]
        + [quality(n, "translation", scale) for n in TRANSLATORS])
    for name in [*CLASSIFIERS, *TRANSLATORS]:
        for batch in (1, 8, 32):
            for seq in (32, 128, 512):
                status = "oom" if (name == "bert" and batch == 32 and seq == 512) else "ok"
                recs.append(perf(name, "forward", batch, seq, scale, status))
        recs.append(perf(name, "train_step", 8, 128, scale))
    for name in TRANSLATORS:
        for batch in (1, 8):
            gen = perf(name, "generate", batch, 32, scale)
            gen["time_to_first_token_ms"] = 2.0 * scale
            gen["per_token_ms"] = 0.8 * scale
            recs.append(gen)
    return recs


def make_run(root: Path, name: str, records: list[dict], machine: dict | None = None, torn: bool = False) -> Path:
    run = root / name
    run.mkdir(parents=True)
    meta = {"suite": "quick", "seed": 0, "git": {"sha": "abc1234", "dirty": False},
            "machine": machine or {"device_name": "cpu", "cpu_model": "Fake CPU 3000", "threads": 2,
                                   "torch_version": "2.13.0"}}
    (run / "run.json").write_text(json.dumps(meta))
    lines = [json.dumps(r) for r in records]
    text = "\n".join(lines) + "\n" + ('{"cell": "perf/lstm/forw' if torn else "")
    (run / "records.jsonl").write_text(text)
    return run


def test_report_writes_markdown_csv_html_and_four_plots(tmp_path):
    run = make_run(tmp_path, "quick-20250101T000000-abc1234", fake_records())
    md_path = report.write_report([run])
    assert md_path == run / "report.md"
    names = {p.name for p in run.glob("*.csv")}
    assert names == {"quality_classification.csv", "quality_translation.csv", "perf.csv", "generation.csv"}
    plots = {p.name for p in (run / "plots").glob("*.png")}
    assert plots == {"throughput_vs_batch.png", "latency_vs_seq.png", "memory_vs_seq.png",
                     "quality_vs_throughput.png"}
    for png in (run / "plots").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    cls = pd.read_csv(run / "quality_classification.csv")
    assert list(cls["model"]) == ["lstm", "lstm", "bert", "bert", "bert-nomlm", "bert-nomlm"]  # suite labels
    assert cls.query("model == 'bert' and split == 'test'")["accuracy_lo"].item() == pytest.approx(0.86)
    tr = pd.read_csv(run / "quality_translation.csv")
    assert set(tr.columns) >= {"bleu", "chrf", "bleu_signature", "decode_sentences_per_s", "beam_size"}
    perf_csv = pd.read_csv(run / "perf.csv")
    assert len(perf_csv) == 5 * 9 + 5 + 4
    assert perf_csv.query("model == 'bert' and batch_size == 32 and seq_len == 512")["status"].item() == "oom"

    md = md_path.read_text()
    assert "0.880 [0.860, 0.900]" in md  # accuracy with its interval
    assert "## Cells that did not finish ok" in md and "CUDA out of memory" in md
    assert "Fake CPU 3000" in md and "abc1234" in md
    assert "![Throughput vs batch size](plots/throughput_vs_batch.png)" in md
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<style>" in html
    assert "src=\"plots/" not in html  # self-contained


def test_two_runs_side_by_side_have_ratio_columns(tmp_path):
    a = make_run(tmp_path, "before", fake_records())
    b = make_run(tmp_path, "after", fake_records(scale=0.5))
    out = tmp_path / "cmp"
    report.write_report([a, b], out)
    perf_csv = pd.read_csv(out / "perf.csv")
    assert {"before: p50_ms", "after: p50_ms", "ratio: after / before: p50_ms"} <= set(perf_csv.columns)
    ok = perf_csv.dropna(subset=["ratio: after / before: p50_ms"])
    assert len(ok) == 5 * 9 + 5 + 4 - 1  # every cell but the oom one
    assert ok["ratio: after / before: p50_ms"].round(6).eq(0.5).all()
    assert ok["ratio: after / before: samples_per_s"].round(6).eq(2.0).all()
    cls = pd.read_csv(out / "quality_classification.csv")
    assert cls["ratio: after / before: accuracy"].eq(1.0).all()
    assert "ratio: after / before: init" not in cls.columns  # ratios only for numbers
    md = (out / "report.md").read_text()
    assert "0.50×" in md and "ratio: after / before: p50 ms" in md
    html = (out / "report.html").read_text()
    assert "ratio: after / before" in html and html.count("data:image/png;base64,") == 4


def test_torn_last_line_is_skipped_but_a_bad_middle_line_is_not(tmp_path):
    recs = fake_records()
    run = make_run(tmp_path, "torn", recs, torn=True)
    assert len(report.load_records(run)) == len(recs)
    report.write_report([run])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "records.jsonl").write_text('{"cell": "a", "kind": "perf"}\n{oops\n{"cell": "b", "kind": "perf"}\n')
    with pytest.raises(BadInput, match="line 2"):
        report.load_records(bad)
    # a line that is JSON but not a record of the schema (nlpbench.store.records) names the field
    (bad / "records.jsonl").write_text('{"cell": "a", "kind": "perf", "batch_size": "eight"}\n')
    with pytest.raises(BadInput, match="line 1: record 'a': batch_size"):
        report.load_records(bad)


def test_perf_only_run_skips_the_pareto_plot_and_summarises_perf(tmp_path):
    run = make_run(tmp_path, "perf-only", fake_records(perf_only=True))
    report.write_report([run])
    assert not (run / "plots" / "quality_vs_throughput.png").exists()
    assert (run / "plots" / "latency_vs_seq.png").exists()
    text = report.summary_table(report.load_records(run))
    assert text.startswith("Performance") and "p50 ms" in text


def test_summary_table_shows_quality_per_task():
    text = report.summary_table(fake_records())
    assert "Quality: classification" in text and "Quality: translation" in text
    assert "bert-nomlm" in text and "0.790 [0.770, 0.810]" in text
    assert "Performance" in text  # cost beside quality (tests/bench/report/test_console.py)


def test_bad_run_folders_are_all_reported(tmp_path):
    with pytest.raises(BadInput) as err:
        report.write_report([tmp_path / "nope1", tmp_path / "nope2"])
    assert len(err.value.problems) == 2


def test_machine_info_reads_run_json_and_baselines():
    from nlpbench import env

    assert report.machine_info({})["cpu"] is None
    run_json = {"machine": env.machine(torch.device("cpu"))}  # what `nlpbench run` writes
    info = report.machine_info(run_json)
    assert info == {"device": env.cpu_model(), "cpu": env.cpu_model(), "threads": torch.get_num_threads(),
                    "torch": torch.__version__, "cuda": None}
    assert report.machine_info({"machine": info}) == info  # a baseline file stores the fingerprint itself
    assert report.machine_info({"machine": "garbage"})["device"] is None


def test_pareto_pairs_only_the_perf_cell_of_the_trained_model():
    from nlpbench.report import pareto, plots

    recs = fake_records()
    for r in recs:  # lstm's perf cells timed another model (a config-sized vocabulary)
        if r["kind"] == "perf" and r["name"] == "lstm":
            r["n_params"] = 2_000_000
    perf = plots.perf_frame({"run": recs})
    points = pareto.points({"run": recs}, perf, "classification", "accuracy")
    assert {p["series"] for p in points} == {"bert", "bert-nomlm"}


def test_the_report_says_how_far_the_perf_figures_hold():
    from nlpbench.report.write import Run, _perf_notes

    meta = {"machine_drift": {"line": "machine drift: ... good to ±9%; compare with `nlpbench ab`"},
            "matmul_probe": {"gflops": 100.0, "dtype": "fp32", "threads": 2, "shape": [1024, 1024, 1024],
                             "shapes": [{}, {}, {}],
                             "ceiling": {"gflops": None, "why": "unknown: no clock readable"}}}  # fmt: skip
    fields = {f: None for f in Run.__dataclass_fields__}
    notes = _perf_notes([Run(**{**fields, "label": "r1", "meta": meta, "records": []}),
                         Run(**{**fields, "label": "old", "meta": {}, "records": []})])  # fmt: skip
    assert notes[0] == "- r1: machine drift: ... good to ±9%; compare with `nlpbench ab`"
    assert notes[1].startswith("- r1: matmul probe: 100.0 GFLOP/s peak (fp32, 2 threads, best of 3 GEMM shapes")
    assert notes[1].endswith("ISA-and-clock ceiling unknown: no clock readable") and len(notes) == 2
