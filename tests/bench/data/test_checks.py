"""Split checks before training (issue 33): identical splits, overlap with train, labels per split; and parser
errors that name the file, the line and why in one line."""
import gzip

import pytest

from nlpbench.data import load_task_data
from nlpbench.errors import BadInput
from nlpbench.suite.schema import TaskSpec
from tests.conftest import files_suite


def _load(d, **over):
    return load_task_data(TaskSpec.model_validate(files_suite(d, **over)["tasks"][0]), None, 0, at="d")


def _problems(d, **over) -> list[str]:
    with pytest.raises(BadInput) as e:
        _load(d, **over)
    return e.value.problems


def test_train_equal_validation_equal_test_is_refused(sst_like):
    train = str(sst_like / "train.tsv")
    lines = _problems(sst_like, files={"train": train, "validation": train, "test": train}, columns_by_split={})
    assert lines == [f"d.files.{s}: the {s} split is the same file as train (sha256 {lines[0].split('sha256 ')[1][:12]}): "
                     "scores on it would measure memory, not generalisation; give each split its own data"
                     for s in ("validation", "test")]


def test_a_copy_under_another_name_is_refused_too(sst_like):
    (sst_like / "copy.tsv").write_bytes((sst_like / "dev.tsv").read_bytes())
    (line,) = _problems(sst_like, files={"train": str(sst_like / "train.tsv"), "validation": str(sst_like / "dev.tsv"),
                                         "test": str(sst_like / "copy.tsv")})  # fmt: skip
    assert line.startswith("d.files.test: the test split is files with identical content as validation")


def test_overlap_is_counted_after_normalising_and_refused_above_max_overlap(sst_like):
    rows = ["label\tcontent", "1\tA  Fine FILM number 1 's \"odd", "0\tnew text", "1\tother text", "0\tmore text"]
    (sst_like / "dev.tsv").write_text("\n".join(rows) + "\n")  # row 1 is train's row 2, cased and spaced apart
    data = _load(sst_like, max_overlap=0.25)
    assert data.overlap == {"validation": {"n": 1, "of": 4, "fraction": 0.25}}
    (line,) = _problems(sst_like, max_overlap=0.2)
    assert line == ("d.max_overlap: 1 of 4 validation examples (25.00%) also occur in train (input text compared "
                    "casefolded, whitespace collapsed), above the 20.00% allowed; deduplicate the splits or raise max_overlap")
    assert "above the 5.00% allowed" in _problems(sst_like)[0]  # the default


def test_an_empty_label_is_an_error_naming_file_and_row_not_a_third_class(sst_like):
    text = (sst_like / "train.tsv").read_text().splitlines()
    text[5] = "\t" + text[5].split("\t", 1)[1]
    (sst_like / "train.tsv").write_text("\n".join(text) + "\n")
    (line,) = _problems(sst_like)
    assert line == f"d: train row 5 has an empty label; every example needs one of [0, 1] in {sst_like / 'train.tsv'}"


def test_a_label_train_never_shows_is_an_error(sst_like):
    (sst_like / "dev.tsv").write_text("label\tcontent\n0\tok\n2\tstrange\n2\todd\n")
    (line,) = _problems(sst_like, labels=[0, 1, 2])
    assert line == (f"d: validation row 2 has label 2, which no train example has; the model can't learn it. "
                    f"Label set [0, 1, 2] (2 such rows) in {sst_like / 'dev.tsv'}")
    (line,) = _problems(sst_like)
    assert line.startswith("d: validation row 2 has label 2 outside the label set [0, 1] (2 such rows) in ")


@pytest.mark.parametrize("name, content, expected", [
    ("fields.tsv", b"label\tcontent\n0\tok\n1\ta\tb\n",
     "line 3 has 3 fields where the first line has 2 (TSV is read with quoting off: a tab inside a text splits it)"),
    ("header.tsv", b"label\tcontent\n", "the validation data is empty (a header but no rows)"),
    ("bad.jsonl", b'{"label": 0, "content": "a"}\n{"label": 1, content: "b"}\n', "line 2 is not JSON ("),
])  # fmt: skip
def test_a_file_that_cant_be_parsed_is_one_line_naming_file_line_and_why(sst_like, name, content, expected):
    (sst_like / name).write_bytes(content)
    (line,) = _problems(sst_like, files={"train": str(sst_like / "train.tsv"), "validation": str(sst_like / name)})
    assert line.startswith(f"d.files.validation: cannot read {sst_like / name} as ")
    assert expected in line and "\n" not in line


def test_a_byte_that_is_not_utf8_names_the_line_also_in_a_gzipped_table(sst_like):
    content = b"label\tcontent\n0\tok\n1\tbad \xff byte\n"
    (sst_like / "dev.tsv").write_bytes(content)
    with gzip.open(sst_like / "dev2.tsv.gz", "wb") as f:
        f.write(content)
    for name in ("dev.tsv", "dev2.tsv.gz"):
        (line,) = _problems(sst_like, files={"train": str(sst_like / "train.tsv"), "validation": str(sst_like / name)})
        assert line == f"d.files.validation: {sst_like / name}: line 3 is not UTF-8 text (invalid start byte at byte 25)"


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 20])
def test_the_utf8_check_counts_lines_and_bytes_across_chunks(tmp_path, monkeypatch, chunk):
    from nlpbench.data import files

    monkeypatch.setattr(files, "CHUNK", chunk)  # a two-byte character cut by a chunk's end is still one character
    path = tmp_path / "t.tsv"
    path.write_bytes("ab\ncdé\nfg\n".encode() + b"\xff\nh\n")
    with pytest.raises(BadInput) as e:
        files._check_utf8(path, "x")
    assert e.value.problems == [f"x: {path}: line 4 is not UTF-8 text (invalid start byte at byte 11)"]
    path.write_bytes("é\né\n".encode())
    files._check_utf8(path, "x")  # whole characters only: fine
