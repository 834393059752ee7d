"""The end-of-run summary (bench/report/console.py): quality and cost tables, within 120 columns."""
from __future__ import annotations

from nlpbench.report import console
from nlpbench.report import write as report
from tests.bench.report.test_report import fake_records


def test_summary_holds_quality_and_perf_tables_within_120_columns():
    text = report.summary_table(fake_records())
    assert "Quality: classification" in text and "Quality: translation" in text and "Performance" in text
    assert "bert-nomlm" in text and "0.790 [0.770, 0.810]" in text and "p50 ms" in text
    widest = max(text.splitlines(), key=len)
    assert len(widest) <= 120, widest
    # the report's own table is wider: the console had to narrow it
    full = report.display(report.build_tables(fake_records(), report.EXTRA_TABLES)[0]).to_string(index=False)
    assert max(map(len, full.splitlines())) > 120


def test_constant_columns_move_into_the_title_and_wide_tables_wrap():
    text = console.summary(fake_records(perf_only=True), width=80)
    assert text.startswith("Performance (") and "dtype: fp32" in text.splitlines()[0]
    assert max(map(len, text.splitlines())) <= 80
    # a differing column stays a column
    table = next(t for t in report.build_tables(fake_records(), ()) if t.spec.name == "perf")
    df, notes = console.narrow(report.display(table))
    assert "mode" in df.columns and "dtype: fp32" in notes and "p90 ms" not in df.columns
