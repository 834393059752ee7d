import gzip

import pytest

from nlpbench.data import load_task_data
from nlpbench.errors import BadInput
from nlpbench.suite.schema import TaskSpec
from tests.conftest import files_suite


def task_from(suite: dict) -> TaskSpec:
    return TaskSpec.model_validate(suite["tasks"][0])


def test_headers_that_differ_per_split_are_mapped_by_name(sst_like):
    data = load_task_data(task_from(files_suite(sst_like)), None, 0)
    assert set(data.splits) == {"train", "validation"}
    assert data.splits["validation"].column_names == ["text", "label"]
    assert data.splits["validation"][1]["text"] == "fine movie 1"
    assert data.label_names == ["0", "1"]
    # quotes inside TSV text are data, not CSV quoting
    assert data.train[1]["text"].endswith("'s \"odd")


def test_relative_paths_resolve_against_data_dir_and_env(sst_like, monkeypatch):
    suite = files_suite(sst_like, files={"train": "train.tsv", "validation": "dev.tsv"})
    assert len(load_task_data(task_from(suite), str(sst_like), 0).train) == 40
    monkeypatch.setenv("NLPBENCH_DATA", str(sst_like))
    assert len(load_task_data(task_from(suite), None, 0).train) == 40


def test_a_test_split_uses_its_own_mapping(sst_like):
    suite = files_suite(sst_like)
    (sst_like / "test.tsv").write_text("label\tcontent\n1\ta fine test\n0\ta dull test\n")  # dev's header
    suite["tasks"][0]["dataset"]["files"]["test"] = str(sst_like / "test.tsv")
    data = load_task_data(task_from(suite), None, 0)
    assert data.splits["test"]["text"] == ["a fine test", "a dull test"]


def test_wrong_column_names_the_columns_there(sst_like):
    suite = files_suite(sst_like, columns={"text": "sentance", "label": "label"})
    with pytest.raises(BadInput) as e:
        load_task_data(task_from(suite), None, 0, at="tasks.0.dataset")
    assert e.value.problems == [
        f"tasks.0.dataset.columns.text: column 'sentance' not in the train data; columns there: label, sentence in {sst_like / 'train.tsv'}"
    ]


def test_empty_file_and_missing_file(sst_like):
    (sst_like / "empty.tsv").write_text("")
    suite = files_suite(sst_like, files={"train": str(sst_like / "empty.tsv"), "validation": str(sst_like / "nope.tsv")})
    with pytest.raises(BadInput) as e:
        load_task_data(task_from(suite), None, 0, at="d")
    assert len(e.value.problems) == 2
    assert "is empty" in e.value.problems[0] and "file not found" in e.value.problems[1]


def test_label_outside_the_label_set(sst_like):
    (sst_like / "dev.tsv").write_text("label\tcontent\n0\tok\n7\tstrange\n")
    with pytest.raises(BadInput, match=r"validation row 2 has label 7 outside the label set \[0, 1\]"):
        load_task_data(task_from(files_suite(sst_like)), None, 0)


def test_max_examples_takes_the_first_rows(sst_like):
    data = load_task_data(task_from(files_suite(sst_like, max_examples={"train": 5})), None, 0)
    assert len(data.train) == 5


def test_jsonl_and_csv_formats(tmp_path):
    (tmp_path / "t.jsonl").write_text('{"review": "good", "y": "pos"}\n{"review": "bad", "y": "neg"}\n')
    (tmp_path / "v.csv").write_text('review,y\n"bad, really",neg\n')
    suite = files_suite(tmp_path, files={"train": str(tmp_path / "t.jsonl"), "validation": str(tmp_path / "v.csv")},
                        columns={"text": "review", "label": "y"}, columns_by_split={})  # fmt: skip
    data = load_task_data(task_from(suite), None, 0)
    assert data.label_names == ["neg", "pos"]
    assert data.splits["validation"][0] == {"text": "bad, really", "label": 0}


def test_parallel_gz_text_for_translation(tmp_path):
    for lang, lines in {"de": ["ein hund", "eine katze"], "en": ["a dog", "a cat"]}.items():
        with gzip.open(tmp_path / f"train.{lang}.gz", "wt") as f:
            f.write("\n".join(lines) + "\n")
    task = TaskSpec.model_validate({
        "task": "translation", "models": [{"adapter": "dummy"}],
        "dataset": {"source": "files", "src": "de", "tgt": "en", "files": {"train": str(tmp_path / "train.{lang}.gz")}},
    })  # fmt: skip
    data = load_task_data(task, None, 0)
    assert data.train[1] == {"src": "eine katze", "tgt": "a cat"}


def test_hub_offline_names_the_files_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    task = TaskSpec.model_validate({"task": "classification", "models": [{"adapter": "dummy"}],
                                    "dataset": {"source": "hub", "name": "nlpbench-test/no-such-set"}})  # fmt: skip
    with pytest.raises(BadInput) as e:
        load_task_data(task, None, 0, at="tasks.0.dataset")
    (line,) = e.value.problems
    assert line.startswith("tasks.0.dataset.name: cannot load 'nlpbench-test/no-such-set' from the hub")
    assert "use source: files" in line


def test_holdout_carves_a_seeded_validation_split_out_of_train(tmp_path):
    from nlpbench.suite.schema import validate
    from tests.conftest import tiny_suite

    suite = tiny_suite()
    suite["tasks"][0]["dataset"] = {"source": "synthetic", "name": "sentiment", "size": {"train": 200, "test": 50},
                                    "holdout": 0.1}
    task = validate(suite).tasks[0]
    a, b = load_task_data(task, None, 0), load_task_data(task, None, 0)
    assert (len(a.splits["train"]), len(a.splits["validation"]), len(a.splits["test"])) == (180, 20, 50)
    assert a.splits["validation"]["text"] == b.splits["validation"]["text"]
    assert not set(a.splits["validation"]["text"]) & set(a.splits["train"]["text"])
    suite["tasks"][0]["dataset"]["size"]["validation"] = 30
    with pytest.raises(BadInput, match="holdout: carves the validation split out of train"):
        validate(suite)


def _classification(path, **over):
    return TaskSpec.model_validate({"task": "classification", "models": [{"adapter": "dummy"}],
                                    "dataset": {"source": "files", "files": {"train": str(path)}, **over}})  # fmt: skip


def test_plain_text_for_classification_is_one_line_not_a_key_error(tmp_path):
    (tmp_path / "train.txt").write_text("label\ttext\n0\ta\n1\tb\n")
    (tmp_path / "train.tsv").write_text("label\ttext\n0\ta\n1\tb\n")
    for task in (_classification(tmp_path / "train.txt"), _classification(tmp_path / "train.tsv", format="text")):
        with pytest.raises(BadInput) as e:
            load_task_data(task, None, 0, at="tasks.0.dataset")
        (line,) = e.value.problems
        assert line.startswith("tasks.0.dataset.files.train: ") and "is read as plain text" in line
        assert "format: tsv, csv, jsonl or parquet" in line
    assert load_task_data(_classification(tmp_path / "train.txt", format="tsv"), None, 0).train[1]["text"] == "b"


def _parallel(tmp_path, pattern):
    return TaskSpec.model_validate({
        "task": "translation", "models": [{"adapter": "dummy"}],
        "dataset": {"source": "files", "src": "de", "tgt": "en", "files": {"train": str(tmp_path / pattern)}},
    })  # fmt: skip


def test_non_utf8_or_damaged_parallel_text_names_the_file_and_line(tmp_path):
    (tmp_path / "p.de").write_bytes(b"hallo welt\nnoch eine\n\xff\xfe kaputt\n")
    (tmp_path / "p.en").write_text("hello world\none more\nbroken\n")
    with pytest.raises(BadInput) as e:
        load_task_data(_parallel(tmp_path, "p.{lang}"), None, 0, at="d")
    assert e.value.problems == [f"d.files.train: {tmp_path / 'p.de'}: line 3 is not UTF-8 text (invalid start byte at byte 21)"]
    (tmp_path / "g.de.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "g.en.gz").write_bytes(gzip.compress(b"a\n"))
    with pytest.raises(BadInput, match=r"d.files.train: cannot read .*g.de.gz: (BadGzipFile|EOFError|error)"):
        load_task_data(_parallel(tmp_path, "g.{lang}.gz"), None, 0, at="d")
    (tmp_path / "crlf.de").write_bytes(b"eins\r\nzwei\r\n")  # text mode's universal newlines are kept
    (tmp_path / "crlf.en").write_bytes(b"one\rtwo\n")
    assert load_task_data(_parallel(tmp_path, "crlf.{lang}"), None, 0).train[1] == {"src": "zwei", "tgt": "two"}


def test_a_symlink_loop_is_said_not_file_not_found(tmp_path):
    import os

    os.symlink(tmp_path / "b.tsv", tmp_path / "a.tsv")
    os.symlink(tmp_path / "a.tsv", tmp_path / "b.tsv")
    with pytest.raises(BadInput) as e:
        load_task_data(_classification(tmp_path / "a.tsv"), None, 0, at="d")
    assert e.value.problems == [f"d.files.train: symlink loop: {tmp_path / 'a.tsv'}"]
