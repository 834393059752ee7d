"""Quality records say what data they measured (`data_sha256` per split), in a run and in `nlpbench eval`,
so the gate compares a cell only against the same data."""
from nlpbench.cli import main
from nlpbench.data import load_task_data
from nlpbench.data.identity import data_sha256
from nlpbench.gate.compare import compare
from nlpbench.store.results import read_records
from nlpbench.suite.schema import load_suite
from tests.bench.quality.test_trained import only_dir, trained_run  # noqa: F401 (a fixture)


def test_records_carry_their_splits_identity_and_the_gate_refuses_other_data(trained_run, sst_like, tmp_path):
    path, src = trained_run
    (rec,) = read_records(src)
    task = load_suite(str(path)).tasks[0]
    assert rec["data_sha256"] == data_sha256(load_task_data(task, None, 0).splits["validation"])
    assert rec["n_eval"] == 10

    assert main(["eval", str(src), "--no-progress", "--out", str(tmp_path / "same")]) == 0
    same = only_dir(tmp_path / "same")
    (again,) = read_records(same)
    assert again["data_sha256"] == rec["data_sha256"]  # eval's records get it the same way
    assert compare(src, same).ok

    other = sst_like / "other.tsv"  # as many examples, other sentences: n_eval alone can't tell
    rows = "".join(f"{i % 2}\t{'good' if i % 2 else 'bad'} show {i}\n" for i in range(10))
    other.write_text("label\tcontent\n" + rows)
    assert main(["eval", str(src), "--no-progress", f"tasks.0.dataset.files.validation={other}",
                 "--out", str(tmp_path / "other")]) == 0
    result = compare(src, only_dir(tmp_path / "other"))
    (line,) = result.regressions
    assert line.startswith(f"{rec['cell']}: measured other data (data_sha256 {rec['data_sha256'][:12]} -> ")
