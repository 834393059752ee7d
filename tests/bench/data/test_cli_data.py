"""The data holes of issue 33 through the real CLI: a TSV rewritten with its mtime kept is scored as new
data with its new fingerprint in run.json; train = validation = test is refused before anything runs;
`validate` leaves no Arrow copy in the Hugging Face cache; `nlpbench cache info|clean`."""
import hashlib
import json
import os

import datasets

from nlpbench.cli import main
from nlpbench.store.results import read_records
from tests.conftest import files_suite


def _run(path, out) -> tuple[dict, list[dict]]:
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return json.loads((run_dir / "run.json").read_text()), read_records(run_dir)


def test_a_tsv_changed_with_its_mtime_kept_is_scored_as_new_data(sst_like, write_suite, tmp_path):
    path = write_suite(files_suite(sst_like))
    meta, records = _run(path, tmp_path / "a")
    dev = sst_like / "dev.tsv"
    st = os.stat(dev)
    dev.write_text(dev.read_text().replace("\n0\t", "\nX\t").replace("\n1\t", "\n0\t").replace("\nX\t", "\n1\t"))
    os.utime(dev, ns=(st.st_atime_ns, st.st_mtime_ns))  # labels flipped; size and mtime as before
    meta2, records2 = _run(path, tmp_path / "b")
    sha = {r["data_sha256"] for r in records if r.get("split") == "validation"}
    sha2 = {r["data_sha256"] for r in records2 if r.get("split") == "validation"}
    assert len(sha) == len(sha2) == 1 and sha != sha2  # scored on the new labels, and compare can tell
    before, after = (m["environment"]["data"]["classification"]["splits"]["validation"] for m in (meta, meta2))
    assert before["sha256"] != after["sha256"]
    assert before["files"][0]["sha256"] != after["files"][0]["sha256"]
    assert after["files"][0]["sha256"] == hashlib.sha256(dev.read_bytes()).hexdigest()


def test_train_equal_validation_equal_test_is_refused_before_anything_runs(sst_like, write_suite, tmp_path, capsys):
    train = str(sst_like / "train.tsv")
    path = write_suite(files_suite(sst_like, files={"train": train, "validation": train, "test": train}, columns_by_split={}))
    for cmd in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "o")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 2 and all("split is the same file as train" in line for line in err), err
    assert not (tmp_path / "o").exists()


def test_validate_leaves_no_arrow_copy_in_the_hf_cache(sst_like, write_suite, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf")  # where load_dataset caches by default
    monkeypatch.setenv("NLPBENCH_CACHE", str(tmp_path / "nb"))
    assert main(["validate", str(write_suite(files_suite(sst_like)))]) == 0
    assert "classification: examples also in train: validation 0/10 (0.00%)" in capsys.readouterr().out
    assert not list((tmp_path / "hf").rglob("*.arrow"))
    assert main(["cache", "info"]) == 0
    assert "parsed data files: 2 (" in capsys.readouterr().out
    assert main(["cache", "clean"]) == 0
    assert main(["cache", "info"]) == 0
    assert "parsed data files: 0 (0 B)" in capsys.readouterr().out
