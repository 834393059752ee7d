"""`report A B` refuses to pair cells scored on different data (`data_sha256`) unless --force."""
from nlpbench.cli import main
from nlpbench.report.identity import data_conflicts
from tests.bench.report.test_report import make_run, quality


def _records(sha: str | None) -> list[dict]:
    recs = [quality("lstm", "classification"), quality("bert", "classification")]
    if sha:
        recs[0]["data_sha256"] = sha  # only lstm's test split differs between the runs below
    recs[1]["data_sha256"] = "same" * 16
    return recs


def test_report_refuses_cells_scored_on_different_data_naming_both(tmp_path, capsys):
    a = make_run(tmp_path, "quick-20250101T000000-aaaaaaa", _records("a" * 64))
    b = make_run(tmp_path, "quick-20250102T000000-bbbbbbb", _records("b" * 64))
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "quality/classification/lstm/test" in err[0]
    assert a.name in err[0] and b.name in err[0] and "aaaaaaaaaaaa" in err[0] and "bbbbbbbbbbbb" in err[0]
    assert not (tmp_path / "cmp" / "report.md").exists()
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "cmp"), "--force"]) == 0
    assert (tmp_path / "cmp" / "report.md").exists()


def test_records_without_the_field_or_with_equal_hashes_are_paired():
    same = {"A": _records("c" * 64), "B": _records("c" * 64)}
    assert data_conflicts(same) == []
    assert data_conflicts({"A": _records(None), "B": _records("d" * 64)}) == []  # an older run: no hash to compare
