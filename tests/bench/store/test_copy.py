"""A run folder from elsewhere read as data (bench/store/copy.py): regular files only, no link followed."""
import os

from nlpbench.store.copy import copy_regular, is_regular


def test_links_are_skipped_and_regular_files_copied(tmp_path):
    src, dst, outside = tmp_path / "src", tmp_path / "dst", tmp_path / "outside"
    (src / "tokenizers").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("TOPSECRET")
    (src / "tokenizers" / "vocab.json").write_text("{}")
    (src / "sha.json").write_text("{}")
    os.symlink(outside / "secret.txt", src / "tokenizers" / "leak.json")  # a file link out
    os.symlink(outside, src / "etc")  # a folder link out
    os.symlink(src / "loop", src / "loop")  # a link to itself
    os.mkfifo(src / "pipe")  # a read would block forever
    skipped = copy_regular(src, dst)
    assert skipped == ["etc", "loop", "pipe", "tokenizers/leak.json"]
    copied = sorted(str(p.relative_to(dst)) for p in dst.rglob("*"))
    assert copied == ["sha.json", "tokenizers", "tokenizers/vocab.json"]
    assert not any("TOPSECRET" in p.read_text() for p in dst.rglob("*") if p.is_file())


def test_a_linked_source_folder_is_not_entered(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.json").write_text("{}")
    os.symlink(tmp_path / "real", tmp_path / "cache")
    assert copy_regular(tmp_path / "cache", tmp_path / "dst") == ["cache"]
    assert not (tmp_path / "dst").exists()
    assert copy_regular(tmp_path / "absent", tmp_path / "dst") == []


def test_is_regular(tmp_path):
    (tmp_path / "f").write_text("x")
    os.symlink(tmp_path / "f", tmp_path / "link")
    assert is_regular(tmp_path / "f") and not is_regular(tmp_path / "link") and not is_regular(tmp_path)
    assert not is_regular(tmp_path / "absent")
