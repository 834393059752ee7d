"""One-line errors (bench/errors.py): given values echoed bounded, symlink loops said as such."""
import os

from nlpbench.errors import did_you_mean, missing, shown, unknown_name


def test_shown_is_a_bounded_repr():
    assert shown("lstmm") == "'lstmm'" and shown(3) == "3" and shown(None) == "None"
    assert len(shown("x" * 1_000_000)) <= 120
    bomb = [[["lol"] * 9] * 9] * 9
    assert len(shown(bomb)) <= 120 and shown(bomb).startswith("[[[")
    assert shown(10**5000) == "<int too large to print>"  # str() refuses past 4300 digits
    assert shown({"a": [10**5000]}).startswith("<dict")


def test_unknown_name_and_did_you_mean_stay_short_for_huge_values():
    assert unknown_name("adapter", "lstmm", ["lstm", "bert"]) == "unknown adapter 'lstmm' — did you mean 'lstm'? available: bert, lstm"
    assert len(unknown_name("adapter", "y" * 100_000, ["lstm"])) < 200
    assert did_you_mean([[1] * 10] * 10, ["a"]) == "" and did_you_mean("z" * 500, ["z"]) == ""


def test_missing_names_a_symlink_loop(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    assert missing(tmp_path / "a") == f"symlink loop: {tmp_path / 'a'}"
    assert missing(tmp_path / "none") == f"file not found: {tmp_path / 'none'}"
