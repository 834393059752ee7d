"""The tune stage's Optuna side: the JournalStorage file, Sobol studies, telling results, TPE rounds.

The records are the source of truth (what `--resume` skips); the journal mirrors them for Optuna: each
trial's params when it is asked, its validation score (or FAIL) when its record is stored. A run that
stopped between the two is caught up from the records at the next start (`Teller.catch_up`).
"""
from __future__ import annotations

from nlpbench.context import log
from nlpbench.store.results import read_records
from nlpbench.tune import space as S
from nlpbench.tune.storage import open_storage, optuna_quiet
from nlpbench.tune.trials import run_items, score_of, trial_item


def load(storage, arm, suite, sampler=None):
    optuna = optuna_quiet()
    return optuna.create_study(storage=storage, study_name=arm.study_name, direction="maximize",
                               sampler=sampler or optuna.samplers.RandomSampler(seed=suite.seed), load_if_exists=True)


def sobol_study(storage, arm, suite) -> tuple[object, list[tuple[int, dict]]]:
    """The arm's study with its N Sobol points asked (once: a resumed run finds them there); (study, [(n, params)])."""
    optuna = optuna_quiet()
    tune = suite.tasks[arm.task_index].tune
    study = load(storage, arm, suite)
    points = S.sobol_points(arm.space, tune.trials, suite.seed)
    dists = S.optuna_distributions(arm.space)
    have = {t.number: t for t in study.get_trials(deepcopy=False)}
    for n in range(tune.trials):
        if n not in have:
            study.enqueue_trial(points[n], skip_if_exists=False)
            study.ask(dists)
        elif have[n].state == optuna.trial.TrialState.WAITING:  # enqueued, then the run stopped before asking
            study.ask(dists)
    return study, list(enumerate(points))


class Teller:
    """Tells each arm's study the result of a trial record as it is stored (the TagStore's `on_record`)."""

    def __init__(self, storage, suite, arms_):
        self.storage, self.suite = storage, suite
        self.arms = {(a.task_label, a.label, a.space_name): a for a in arms_}
        self.studies: dict = {}

    def study(self, arm):
        if arm.study_name not in self.studies:
            self.studies[arm.study_name] = load(self.storage, arm, self.suite)
        return self.studies[arm.study_name]

    def __call__(self, rec: dict) -> None:
        arm = self.arms.get((rec.get("tune_task"), rec.get("tune_model"), rec.get("space")))
        if rec.get("tune_role") != "trial" or arm is None:
            return
        optuna = optuna_quiet()
        study = self.study(arm)
        trial = next((t for t in study.get_trials(deepcopy=False) if t.number == rec["trial"]), None)
        if trial is None or trial.state != optuna.trial.TrialState.RUNNING:
            return
        value = score_of(rec, self.suite.tasks[arm.task_index])
        if value is not None and (rec.get("fit") or {}).get("stopped") == "pruned":
            study.tell(trial.number, state=optuna.trial.TrialState.PRUNED)
        elif value is None:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial.number, value)

    def catch_up(self, records: list[dict]) -> None:
        for rec in records:
            if rec.get("split") == "validation":
                self(rec)


def run_tpe(ctx, data, storage, arms_, teller: Teller, workers: int) -> None:
    """TPE arms in rounds of `workers` trials per arm, each round asked from the results told so far; trials a
    stopped run had asked but not finished are run again with the params the journal holds."""
    optuna = optuna_quiet()
    suite = ctx.suite
    while True:
        teller.catch_up(read_records(ctx.run_dir))  # results a stopped run stored but did not tell
        items = []
        for arm in arms_:
            tune = suite.tasks[arm.task_index].tune
            study = load(storage, arm, suite)
            trials = study.get_trials(deepcopy=False)
            study.sampler = optuna.samplers.TPESampler(seed=suite.seed + len(trials))  # seeded per round
            pending = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
            for _ in range(min(workers, tune.trials - len(trials)) if not pending else 0):
                pending.append(study.ask(S.optuna_distributions(arm.space)))
            items += [trial_item(suite, arm, t.number, {**t.params}) for t in pending]
        if not items:
            return
        log(f"tune: TPE round of {len(items)} trial(s)")
        run_items(ctx, data, items, splits=["validation"], on_record=teller)
        teller.studies.clear()  # reload: the next round's sampler sees every result told
