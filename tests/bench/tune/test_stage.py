"""The tune stage end to end on the dummy adapter (seconds): records, journal, report, resume, determinism."""
from __future__ import annotations

import json

import pytest

import nlpbench
from nlpbench.store.results import read_records
from nlpbench.tune import trials
from tests.conftest import tiny_suite

TUNE = {"trials": 4, "studies": 2, "confirm_seeds": 2, "budget": {"flops": "4e5"}}


def tune_suite(**tune) -> dict:
    suite = tiny_suite(threads=1)
    suite["tasks"][0]["tune"] = {**TUNE, **tune}
    return suite


def trial_scores(run_dir) -> dict:
    return {r["cell"]: (r["tune_params"], r["metrics"]["accuracy"], r["train_flops"])
            for r in read_records(run_dir) if r.get("tune_role") == "trial"}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return nlpbench.run(tune_suite(), out=tmp_path_factory.mktemp("full"))


def test_trials_defaults_and_confirmations_are_recorded(full):
    assert full.exit_code == 0
    recs = [r for r in full.records if r.get("tune_role")]
    by_role = {role: [r for r in recs if r["tune_role"] == role] for role in ("trial", "default", "confirm")}
    assert len(by_role["trial"]) == 2 * 4 and {r["split"] for r in by_role["trial"]} == {"validation"}  # test unseen
    assert {r["study"] for r in by_role["trial"]} == {0, 1}
    assert all(r["budget"] == {"flops": 4e5} and r["wall_s"] > 0 for r in by_role["trial"])
    assert all(4e5 <= r["train_flops"] and r["fit"]["stopped"] == "flops" for r in by_role["trial"])
    assert len(by_role["default"]) == 2
    assert {(r["name"], r["split"], r["seed"]) for r in by_role["confirm"]} == {
        (f"{m}.tuned", s, k) for m in ("d1", "d2") for s in ("validation", "test") for k in (1, 2)}
    plain = [r for r in full.records if r.get("kind") == "quality" and not r.get("tune_role")]
    assert plain and all(r["train_flops"] > 0 and r["peak_fraction"] > 0 for r in plain)  # every unit: its FLOPs


def test_the_journal_holds_every_trial_told(full):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    storage = JournalStorage(JournalFileBackend(str(full.dir / "tune" / "journal.log")))
    study = optuna.load_study(study_name="classification/d1/default", storage=storage)
    scores = {r["trial"]: r["metrics"]["accuracy"] for r in full.records
              if r.get("tune_role") == "trial" and r["tune_model"] == "d1"}
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
    assert {t.number: t.value for t in study.trials} == pytest.approx(scores)


def test_the_report_has_the_tune_section(full):
    for name in ("tune_curves_classification_default", "tune_best_of_budget_classification_default",
                 "tune_crossings_classification_default", "tune_time_to_target_classification_default",
                 "tune_configs", "tune_confirm_classification_default", "tune_verdict_classification"):
        assert (full.dir / f"{name}.csv").is_file(), name
    assert (full.dir / "plots" / "tune_classification_default.png").is_file()
    report = (full.dir / "report.md").read_text()
    assert "expected best validation score" in report and "Holm" in report
    assert "d1.t000" not in (full.dir / "quality_classification.csv").read_text()  # trials stay in their section
    configs = (full.dir / "tune_configs.yaml").read_text()
    assert "classification/default/d1" in configs


def test_same_seed_gives_the_same_trials(full, tmp_path):
    again = nlpbench.run(tune_suite(), out=tmp_path)
    assert trial_scores(again.dir) == trial_scores(full.dir)


def test_interrupted_tune_resumes_without_rerunning_a_trial(full, tmp_path, monkeypatch):
    real, stored = trials.TagStore.append, []

    def stop_after_three(self, rec):
        real(self, rec)
        stored.append(rec["cell"])
        if len([c for c in stored if ".t0" in c]) == 3:  # the third trial's record is stored, then Ctrl-C
            raise KeyboardInterrupt

    monkeypatch.setattr(trials.TagStore, "append", stop_after_three)
    with pytest.raises(nlpbench.Interrupted) as stopped:  # the API raises Ctrl-C on, once it is recorded
        nlpbench.run(tune_suite(), out=tmp_path)
    cut = stopped.value.run
    assert cut.exit_code == 130
    monkeypatch.setattr(trials.TagStore, "append", real)
    resumed = nlpbench.run(tune_suite(), resume=cut.dir)
    assert resumed.exit_code == 0
    cells = [json.loads(line)["cell"] for line in (cut.dir / "records.jsonl").read_text().splitlines()]
    assert len(cells) == len(set(cells))  # no unit ran twice
    assert trial_scores(cut.dir) == trial_scores(full.dir)


def test_bad_tune_settings_are_listed_at_once():
    suite = tune_suite(budget={"seconds": 3}, studies=3, space={"params.dimm": {"choice": [4, 8]},
                                                               "train.lr": {"log_uniform": [0, 1]}})
    with pytest.raises(nlpbench.BadInput) as e:
        nlpbench.run(suite, out="/nonexistent")
    text = "\n".join(e.value.problems)
    assert "tune.budget" in text and "tune.studies" in text and "log_uniform" in text


def test_a_model_space_typo_is_named(tmp_path):
    suite = tune_suite()
    suite["tasks"][0]["models"][0]["tune"] = {"space": {"params.dimm": {"choice": [4, 8]}}}
    with pytest.raises(nlpbench.BadInput, match="dimm"):
        nlpbench.run(suite, out=tmp_path)


def test_tpe_runs_in_rounds_and_tells_the_journal(tmp_path):
    run = nlpbench.run(tune_suite(sampler="tpe", trials=3, studies=1, confirm_seeds=0), out=tmp_path, models="d1")
    assert run.exit_code == 0
    trials_ = sorted((r["trial"], r["tune_params"]["train.lr"]) for r in run.records if r.get("tune_role") == "trial")
    assert [t for t, _ in trials_] == [0, 1, 2] and len({lr for _, lr in trials_}) == 3
    assert not [r for r in run.records if r.get("tune_role") == "confirm"]


@pytest.mark.parametrize("name", ["quick-tune", "sst2-tune", "multi30k-tune"])
def test_shipped_tune_suites_are_valid(name):
    from nlpbench.suite.schema import read_suite, validate
    from nlpbench.tune.study import plan_line

    suite = validate(read_suite(name), check_files=False)  # data files: `nlpbench validate` checks them
    assert "trial unit(s)" in plan_line(suite) and all(t.tune for t in suite.tasks)


def test_a_median_pruner_stops_tpe_trials_and_says_so(tmp_path):
    suite = tune_suite(sampler="tpe", pruner="median", trials=5, studies=1, confirm_seeds=0,
                       budget={"flops": "3e6"}, space={"train.lr": {"log_uniform": [1e-5, 1e-1]}})
    run = nlpbench.run(suite, out=tmp_path, models="d1")
    assert run.exit_code == 0
    trials_ = [r for r in run.records if r.get("tune_role") == "trial"]
    assert len(trials_) == 5 and all(r["pruner"] == "median" for r in trials_)
    stopped = {r["trial"]: r["fit"]["stopped"] for r in trials_}
    assert set(stopped.values()) == {"flops", "pruned"}  # seeded TPE, one thread: the same trials every time
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    study = optuna.load_study(study_name="classification/d1/default",
                              storage=JournalStorage(JournalFileBackend(str(run.dir / "tune" / "journal.log"))))
    states = {t.number: t.state.name for t in study.trials}
    assert states == {n: "PRUNED" if s == "pruned" else "COMPLETE" for n, s in stopped.items()}
    assert all(t.intermediate_values for t in study.trials)  # every trial reported its validation passes
    assert "pruned" in (run.dir / "tune_best_of_budget_classification_default.csv").read_text()


def test_a_pruner_needs_tpe():
    with pytest.raises(nlpbench.BadInput, match="pruner"):
        nlpbench.run(tune_suite(pruner="median"), out="/nonexistent")
