"""`--resume` never mixes or corrupts (bench/store/resume.py, bench/store/results.py): other data or code is
refused in one line unless `--force` (then recorded), a suite change is refused even so, run.json's record of
the data survives a resume, a corrupt run.json is one line, any torn last record is cut, a damaged middle
line is named and the folder left as it is."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlpbench import env
from nlpbench.cli import main
from nlpbench.store.results import read_records
from tests.conftest import files_suite, tiny_suite


def only_dir(out: Path) -> Path:
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("nlpbench: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def snapshot(rd: Path) -> dict:
    return {p.name: p.read_bytes() for p in rd.iterdir() if p.is_file()}


def first_run(write_suite, tmp_path, suite=None, models="d1") -> tuple[Path, Path]:
    path = write_suite(suite or tiny_suite())
    args = ["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"] + (["--models", models] if models else [])
    assert main(args) == 0
    return path, only_dir(tmp_path / "runs")


def test_a_resume_on_a_changed_test_file_is_refused_and_writes_nothing(sst_like, write_suite, tmp_path, capsys):
    head, *rows = (sst_like / "dev.tsv").read_text().splitlines(keepends=True)
    (sst_like / "test.tsv").write_text("".join([head, *reversed(rows)]))  # its own file: identical splits are refused
    suite = files_suite(sst_like, files={"train": str(sst_like / "train.tsv"), "validation": str(sst_like / "dev.tsv"),
                                         "test": str(sst_like / "test.tsv")})  # fmt: skip
    suite["tasks"][0]["models"].append({"adapter": "dummy", "name": "d2", "train": {"epochs": 1}})
    path, rd = first_run(write_suite, tmp_path, suite, models="dummy")
    flipped = [ln if i == 0 else f"{1 - int(ln[0])}{ln[1:]}" for i, ln in enumerate((sst_like / "test.tsv").read_text().splitlines())]
    (sst_like / "test.tsv").write_text("\n".join(flipped) + "\n")  # every test label flipped
    before = snapshot(rd)
    capsys.readouterr()
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2
    line = one_line(capsys)
    assert "was run on other data or code: data classification/test: sha256" in line and "--force" in line, line
    assert snapshot(rd) == before and not (rd / ".lock").exists()


def test_force_resumes_on_changed_data_records_it_and_keeps_the_folders_data_record(sst_like, write_suite, tmp_path):
    suite = files_suite(sst_like)
    suite["tasks"][0]["models"].append({"adapter": "dummy", "name": "d2", "train": {"epochs": 1}})
    path, rd = first_run(write_suite, tmp_path, suite, models="dummy")
    recorded = json.loads((rd / "run.json").read_text())["environment"]["data"]
    with open(sst_like / "dev.tsv", "a") as f:
        f.write("1\tone more fine movie\n")
    assert main(["run", str(path), "--resume", str(rd), "--force", "--no-progress"]) == 0
    meta = json.loads((rd / "run.json").read_text())
    assert meta["environment"]["data"] == recorded  # the folder's record of its data, not the resume's
    (entry,) = meta["resumed"]
    assert entry["at"] and any(f.startswith("data classification/validation: n 10 -> 11") for f in entry["forced"]), entry
    shas = {r["name"]: r["data_sha256"] for r in read_records(rd) if r["split"] == "validation"}
    assert shas["dummy"] != shas["d2"]  # the mix is visible per record too


def test_a_resume_by_other_code_is_refused_unless_forced(write_suite, tmp_path, monkeypatch, capsys):
    path, rd = first_run(write_suite, tmp_path)
    real = env.nlpbench_source()
    monkeypatch.setattr(env, "nlpbench_source", lambda: {**real, "version": "99.0", "git_sha": "0123abc"})
    capsys.readouterr()
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2
    assert f"nlpbench version {real['version']} -> 99.0" in one_line(capsys)
    assert main(["run", str(path), "--resume", str(rd), "--force", "--no-progress"]) == 0
    assert "nlpbench version" in json.loads((rd / "run.json").read_text())["resumed"][0]["forced"][0]


def test_a_suite_change_is_refused_even_with_force(write_suite, tmp_path, capsys):
    path, rd = first_run(write_suite, tmp_path)
    capsys.readouterr()
    assert main(["run", str(path), "--resume", str(rd), "--force", "seed=3", "--no-progress"]) == 2
    line = one_line(capsys)
    assert "differ from the run being resumed in: seed" in line and "--force does not cover the suite" in line


def test_force_without_resume_is_one_line(write_suite, tmp_path, capsys):
    assert main(["run", str(write_suite(tiny_suite())), "--out", str(tmp_path), "--force", "--no-progress"]) == 2
    assert "--force: only with --resume" in one_line(capsys)
    assert list(tmp_path.glob("tiny-*")) == []


def test_a_folder_written_before_a_suite_key_existed_still_resumes(write_suite, tmp_path):
    path, rd = first_run(write_suite, tmp_path)
    meta = json.loads((rd / "run.json").read_text())
    del meta["config"]["required"]  # as an older nlpbench wrote it
    (rd / "run.json").write_text(json.dumps(meta))
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 0


@pytest.mark.parametrize("text, says", [
    (b'{"suite": "tiny", "config": {', "is not valid JSON (line 1 column 30"),  # cut by a crash or an editor
    (b"", "is not valid JSON (line 1 column 1"),
    (b"[1, 2]", "is not a run.json (a JSON object)"),
    (b"[" * 200_000, "cannot be read (RecursionError"),
])  # fmt: skip
def test_a_corrupt_run_json_under_resume_is_one_line(write_suite, tmp_path, capsys, text, says):
    path, rd = first_run(write_suite, tmp_path)
    (rd / "run.json").write_bytes(text)
    before = snapshot(rd)
    capsys.readouterr()
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2
    line = one_line(capsys)
    assert f"{rd / 'run.json'} {says}" in line and "restore" in line, line
    assert snapshot(rd) == before


def test_a_torn_last_line_ending_with_a_newline_is_cut_before_appending(write_suite, tmp_path):
    path, rd = first_run(write_suite, tmp_path)
    with open(rd / "records.jsonl", "a") as f:
        f.write('{"cell": "quality/classification/d2/valid\n')  # a crash, then saved by an editor
    assert len(read_records(rd)) == 2  # readers skip it
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 0
    assert json.loads((rd / "run.json").read_text())["status"] == "ok"
    lines = (rd / "records.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(x)["cell"] for x in lines)
    assert main(["report", str(rd)]) == 0


def test_a_whole_last_record_without_its_newline_is_kept(write_suite, tmp_path):
    path, rd = first_run(write_suite, tmp_path)
    text = (rd / "records.jsonl").read_text()
    (rd / "records.jsonl").write_text(text.rstrip("\n"))
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 0
    lines = (rd / "records.jsonl").read_text().splitlines()
    assert len(lines) == 4 and [json.loads(x)["name"] for x in lines] == ["d1", "d1", "d2", "d2"]


def test_a_damaged_middle_line_is_named_with_a_way_out_and_the_folder_left_as_it_is(write_suite, tmp_path, capsys):
    path, rd = first_run(write_suite, tmp_path)
    lines = (rd / "records.jsonl").read_text().splitlines()
    (rd / "records.jsonl").write_text("\n".join([lines[0], "{not json", lines[1], '{"cell": "torn']))  # no newline
    before = snapshot(rd)
    capsys.readouterr()
    assert main(["run", str(path), "--resume", str(rd), "--no-progress"]) == 2
    line = one_line(capsys)
    assert "records.jsonl: line 2 is not JSON" in line and "move the folder aside" in line, line
    assert snapshot(rd) == before  # the torn last line is not cut either: nothing is made worse
    capsys.readouterr()
    assert main(["report", str(rd)]) == 2
    assert "line 2 is not JSON" in one_line(capsys)


def test_data_files_compare_by_content_not_path():
    """A data folder moved (same bytes, another path) is the same data; changed bytes are not."""
    from nlpbench.store.resume import data_differences

    def ident(path, sha):
        return {"t": {"dataset": "files", "splits": {"test": {"n": 3, "sha256": "a" * 64,
                                                              "files": [{"path": path, "bytes": 9, "sha256": sha}]}}}}
    assert data_differences(ident("/old/test.tsv", "b" * 64), ident("/new/test.tsv", "b" * 64)) == []
    assert data_differences(ident("/old/test.tsv", "b" * 64), ident("/old/test.tsv", "c" * 64)) == [
        "t/test: files " + "b" * 12 + " -> " + "c" * 12]
