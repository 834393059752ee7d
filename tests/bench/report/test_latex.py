"""`nlpbench report RUN --latex`: one .tex per table through pandas' DataFrame.to_latex."""
from __future__ import annotations

import pytest

from nlpbench.cli import main
from tests.bench.report.test_report import fake_records, make_run

pytest.importorskip("jinja2")  # pandas' to_latex renders through a jinja2 template


def test_latex_writes_one_tex_per_table(tmp_path, capsys):
    run = make_run(tmp_path, "r1", fake_records())
    assert main(["report", str(run), "--latex"]) == 0
    tables = sorted(p.stem for p in run.glob("*.csv"))
    tex = sorted(p.stem for p in (run / "latex").glob("*.tex"))
    assert tex == tables and "quality_classification" in tex and "perf" in tex
    text = (run / "latex" / "quality_classification.tex").read_text()
    assert r"\begin{tabular}" in text and r"\toprule" in text and r"\caption{Quality: classification}" in text
    assert "0.790 [0.770, 0.810]" in text and r"95\% CI" in text  # escaped for LaTeX
    for path in (run / "latex").glob("*.tex"):  # glyphs pdflatex would stop on are math
        body = path.read_text()
        assert not any(g in body for g in "Δ±×"), path.name
    assert "latex/" in capsys.readouterr().out


def test_latex_refresh_drops_stale_tables(tmp_path):
    run = make_run(tmp_path, "r1", fake_records())
    (run / "latex").mkdir()
    (run / "latex" / "gone.tex").write_text("old")
    assert main(["report", str(run), "--latex"]) == 0
    assert not (run / "latex" / "gone.tex").exists()
