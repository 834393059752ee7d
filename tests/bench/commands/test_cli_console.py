"""The console of `nlpbench`: --version, -v/-q over Python logging, RUN_DIR/run.log, eval --data-dir,
and validate listing every problem of every stage at once."""
from __future__ import annotations

import json
import logging
from importlib.metadata import version

import pytest

from nlpbench.cli import main
from nlpbench.context import LOGGER, configure_logging
from tests.bench.quality.test_trained import only_dir
from tests.conftest import files_suite, tiny_suite


@pytest.fixture(autouse=True)
def default_verbosity():
    yield
    configure_logging(0)  # later tests expect the default console level


def test_version_comes_from_the_installed_distribution(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"nlpbench {version('nlpbench')}"


def test_verbose_quiet_and_the_run_log(write_suite, tmp_path, capsys):
    path = write_suite(tiny_suite())
    assert main(["-v", "run", str(path), "--no-progress", "--out", str(tmp_path / "runs")]) == 0
    out, err = capsys.readouterr()
    run = only_dir(tmp_path / "runs")
    assert "run folder:" in err and "cell quality/classification/d1/test: ok" in err  # -v: debug lines
    assert "Quality: classification" in out and "Performance" not in out  # the summary is stdout, not logging
    log = (run / "run.log").read_text()
    assert "INFO run folder:" in log and "DEBUG cell quality/classification/d2/validation: ok" in log
    assert log[:4].isdigit()  # timestamped
    # -q after the subcommand: warnings only on the console; the log file still gets everything (appended)
    assert main(["run", str(path), "--no-progress", "--resume", str(run), "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "Quality: classification" in out
    assert (run / "run.log").read_text().count("INFO run folder:") == 2
    assert not any(isinstance(h, logging.FileHandler) for h in LOGGER.handlers)  # closed with the run


def test_default_console_shows_info_but_not_debug(write_suite, tmp_path, capsys):
    assert main(["run", str(write_suite(tiny_suite())), "--no-progress", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "run folder:" in err and "cell quality/" not in err


def test_eval_takes_data_dir_for_relative_paths(sst_like, write_suite, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NLPBENCH_DATA", raising=False)
    suite = files_suite(sst_like)
    suite["tasks"][0]["dataset"]["files"] = {"train": "train.tsv", "validation": "dev.tsv"}  # relative
    path = write_suite(suite)
    assert main(["run", str(path), "--no-progress", "--data-dir", str(sst_like), "--out", str(tmp_path / "runs")]) == 0
    src = only_dir(tmp_path / "runs")
    (sst_like / "new.tsv").write_text("label\tcontent\n1\tfine film\n0\tdull film\n")
    capsys.readouterr()
    # as README's example, with the data directory given as --data-dir
    args = ["eval", str(src), "tasks.0.dataset.files.test=new.tsv", "--no-progress", "--out", str(tmp_path / "e")]
    assert main([*args, "--data-dir", str(sst_like)]) == 0
    new = only_dir(tmp_path / "e")
    recs = [json.loads(line) for line in (new / "records.jsonl").read_text().splitlines()]
    assert {r["split"]: r["n_eval"] for r in recs}["test"] == 2
    assert (new / "run.log").is_file()
    capsys.readouterr()
    assert main(args) == 2  # without it the relative path has no base: one line, exit 2
    assert "file not found" in capsys.readouterr().err


def test_validate_lists_problems_of_every_stage_at_once(sst_like, write_suite, capsys):
    good_files = files_suite(sst_like)["tasks"][0]
    bad_column = json.loads(json.dumps(good_files))
    bad_column["dataset"]["columns"] = {"text": "nosuch", "label": "label"}  # found only when the data loads
    missing = json.loads(json.dumps(good_files))
    missing["dataset"]["files"] = {"train": str(sst_like / "missing.tsv")}
    missing["models"] = [{"adapter": "dumy"}]  # an adapter typo: the schema stage
    suite = tiny_suite(tasks=[bad_column, missing], perf={"modes": ["forward"], "batch_sizes": [1], "seq_lens": [8]})
    assert main(["validate", str(write_suite(suite))]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert any("tasks.1.dataset.files.train: file not found" in x for x in lines)
    assert any("tasks.1.models.0.adapter: unknown adapter 'dumy'" in x for x in lines)
    assert any(x.startswith("nlpbench: tasks.0.dataset.columns.text: column 'nosuch'") for x in lines), lines
    assert len(lines) == len(set(lines)) == 3 and all(x.startswith("nlpbench: ") for x in lines)


def test_validate_goes_on_after_a_schema_error(sst_like, write_suite, capsys):
    task = files_suite(sst_like)["tasks"][0]
    task["dataset"]["columns"] = {"text": "nosuch", "label": "label"}
    task["models"] = [{"adapter": "dummy", "train": {"epochs": "one"}}]
    suite = {**tiny_suite(tasks=[task]), "seedd": 1}  # the suite's shape fails: models and data still checked
    assert main(["validate", str(write_suite(suite))]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3, lines
    assert "seedd" in lines[0] and "tasks.0.models.0.train.epochs" in lines[1] and "column 'nosuch'" in lines[2]
