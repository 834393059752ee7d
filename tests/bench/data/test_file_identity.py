"""Data identity from the bytes (issue 33): a file changed with its mtime kept is read again, and its new
fingerprint is recorded; parsed copies live in nlpbench's own cache, never the user's Hugging Face cache."""
import os

import datasets

from nlpbench.data import cache, fingerprint, load_task_data
from nlpbench.data.identity import data_identity
from nlpbench.suite.schema import TaskSpec
from tests.conftest import files_suite


def _task(d):
    return TaskSpec.model_validate(files_suite(d)["tasks"][0])


def _rewrite_keeping_mtime(path, text):
    st = os.stat(path)
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # what cp -p, rsync -t and touch -r do
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns and os.stat(path).st_size == st.st_size


def test_a_file_changed_with_its_mtime_kept_is_read_again_and_its_fingerprint_recorded(sst_like):
    task = _task(sst_like)
    before = load_task_data(task, None, 0)
    dev = sst_like / "dev.tsv"
    flipped = dev.read_text().replace("\n0\t", "\nX\t").replace("\n1\t", "\n0\t").replace("\nX\t", "\n1\t")
    _rewrite_keeping_mtime(dev, flipped)  # every label flipped, same size, same mtime
    after = load_task_data(task, None, 0)
    assert after.splits["validation"]["label"] == [1 - y for y in before.splits["validation"]["label"]]
    ids = [data_identity([task], [d])[task.label]["splits"]["validation"] for d in (before, after)]
    assert ids[0]["sha256"] != ids[1]["sha256"]  # data_sha256 of the split follows the bytes
    assert ids[0]["files"][0]["sha256"] != ids[1]["files"][0]["sha256"]
    assert ids[1]["files"][0] == {"path": str(dev.resolve()), "bytes": dev.stat().st_size,
                                  "sha256": fingerprint.stream_sha256(dev)}


def test_the_large_file_shortcut_is_not_fooled_by_a_kept_mtime(sst_like, monkeypatch):
    monkeypatch.setattr(fingerprint, "ALWAYS_HASH_BELOW", 0)  # every file goes through the shortcut
    dev = sst_like / "dev.tsv"
    first = fingerprint.file_sha256(dev)
    assert fingerprint.file_sha256(dev) == first  # unchanged: the stored pair answers
    _rewrite_keeping_mtime(dev, dev.read_text().replace("fine", "good"))
    assert fingerprint.file_sha256(dev) == fingerprint.stream_sha256(dev) != first


def test_parsed_copies_stay_in_nlpbench_cache_one_per_file(sst_like, tmp_path, monkeypatch):
    monkeypatch.setenv("NLPBENCH_CACHE", str(tmp_path / "nb"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf")  # read by load_dataset at each call
    task = _task(sst_like)
    load_task_data(task, None, 0)
    _rewrite_keeping_mtime(sst_like / "dev.tsv", (sst_like / "dev.tsv").read_text().replace("fine", "good"))
    load_task_data(task, None, 0)
    entries = sorted(p for p in (tmp_path / "nb" / cache.TABLES).iterdir() if not p.name.startswith("."))
    assert len(entries) == 2  # train and the new dev: the old dev's copy was replaced
    assert not any((tmp_path / "hf").rglob("*.arrow"))
    assert cache.usage(tmp_path / "nb")[cache.TABLES][0] == 2
    assert cache.clean(tmp_path / "nb") > 0 and not (tmp_path / "nb" / cache.TABLES).exists()


def test_an_unwritable_home_falls_back_to_a_private_cache(sst_like, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("a file, so nothing can be made under it (even for root)")
    monkeypatch.delenv("NLPBENCH_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    data = load_task_data(_task(sst_like), None, 0)
    assert len(data.train) == 40
    assert cache.root() != cache.configured_root() and cache.root().is_dir()
