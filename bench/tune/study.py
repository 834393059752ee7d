"""The tune stage: each model of a task with `tune:` trained N times at one equal budget, then confirmed.

For every (task, model, space) — an *arm* — an Optuna study in the run folder's JournalStorage file
(`RUN_DIR/tune/journal.log`, `JournalFileBackend`: resumable, several writers may share it) holds the
trials. Sobol (the default): all N configs are the scrambled Sobol points of the space (nlpbench.tune.space),
enqueued into the study and asked at once, so they run side by side; TPE (`sampler: tpe`): rounds of as
many trials as there are workers, each round asked from the results told so far.

Every trial, the untuned config at the same budget (`<model>.default`) and every confirmation rerun is
a training unit through nlpbench.launch.units (inline, `--workers N`, Ray), in a derived suite whose task
lists gain those model entries (`<model>.t003`, `<model>.default`, `<model>.tuned`; with several spaces the
space's name is in them too). A trial unit scores the validation split only: the test split never steers
a choice. Its records are ordinary quality records plus `tune_role`, `tune_task`, `tune_model`, `trial`,
`study`, `space`, `tune_params` and `budget`; `--resume` runs no unit whose records exist, and the journal
is told each result as its record is stored.

Confirmation: each arm's best trial on validation is rerun with `confirm_seeds` fresh seeds (data order,
init and dropout all follow the seed), scored on validation and test once; nlpbench.tune.report compares
them with the seed-honest paired tests.
"""
from __future__ import annotations

from pathlib import Path

from nlpbench.context import log
from nlpbench.errors import BadInput
from nlpbench.launch.units import quality_launcher
from nlpbench.store.results import read_records
from nlpbench.suite.schema import model_problems
from nlpbench.tune import journal
from nlpbench.tune.spec import tune_problems
from nlpbench.tune.storage import open_storage
from nlpbench.tune.trials import JOURNAL, Arm, Item, adapter_space, arms, default_items, run_items, score_of, trial_item



def suite_problems(suite) -> list[str]:
    return [p for ti, t in enumerate(suite.tasks) if t.tune
            for p in tune_problems(t, f"tasks.{ti}", adapter_space, model_problems)]


def _counts(suite) -> tuple[int, int, int, int]:
    """(arms, trial units, untuned units, confirmation units) the stage will run."""
    arms_ = arms(suite)
    n = sum(suite.tasks[a.task_index].tune.trials for a in arms_)
    k = sum(suite.tasks[a.task_index].tune.confirm_seeds for a in arms_)
    return len(arms_), n, len({(a.task_index, a.model_index) for a in arms_}), k


def unit_count(suite) -> int:
    """Training units the stage adds: trials, the untuned configs, the confirmation reruns (the run's plan)."""
    return sum(_counts(suite)[1:])


def plan_line(suite) -> str:
    """What `validate` says the tune stage will run."""
    n_arms, n, models, k = _counts(suite)
    return (f"tune: {n_arms} arm(s) (model x space): {n} trial unit(s), {models} untuned at the trial budget, "
            f"{k} confirmation unit(s)")


def run_tune(ctx, data) -> list[str]:
    """The stage: trials and defaults of every arm, then each arm's best config confirmed over fresh seeds."""
    suite = ctx.suite
    for ti, task in enumerate(suite.tasks):
        if task.tune and "validation" not in data[ti].splits:
            raise BadInput(f"tasks.{ti}.tune: trials are scored on a validation split, and this dataset has none "
                           "(give it one, or holdout: 0.1)")
    arms_ = arms(suite)
    storage = open_storage(Path(ctx.run_dir) / JOURNAL)
    log(f"tune: {len(arms_)} arm(s) (task, model, space); journal {Path(ctx.run_dir) / JOURNAL}")
    run_items(ctx, data, default_items(suite, arms_), splits=["validation"])
    sobol = [a for a in arms_ if suite.tasks[a.task_index].tune.sampler == "sobol"]
    tpe = [a for a in arms_ if suite.tasks[a.task_index].tune.sampler == "tpe"]
    studies = {a.study_name: journal.sobol_study(storage, a, suite) for a in sobol}
    items = [trial_item(suite, a, n, p) for a in sobol for n, p in studies[a.study_name][1]]
    teller = journal.Teller(storage, suite, arms_)
    teller.catch_up(read_records(ctx.run_dir))
    run_items(ctx, data, items, splits=["validation"], on_record=teller)
    if tpe:
        journal.run_tpe(ctx, data, storage, tpe, teller, workers=_parallel(ctx))
    confirm(ctx, data, arms_)
    return []


def _parallel(ctx) -> int:
    from nlpbench.launch.process import worker_count

    return worker_count(ctx.suite) if quality_launcher(ctx.suite) == "process" else 1


def best_trials(records: list[dict], suite, arms_: list[Arm]) -> dict[str, dict]:
    """study name -> the best ok trial record on validation (ties: the lower trial number)."""
    out: dict[str, dict] = {}
    for arm in arms_:
        task = suite.tasks[arm.task_index]
        mine = [r for r in records if r.get("tune_role") == "trial" and r.get("tune_task") == arm.task_label
                and r.get("tune_model") == arm.label and r.get("space") == arm.space_name
                and score_of(r, task) is not None]
        if mine:
            out[arm.study_name] = max(mine, key=lambda r: (score_of(r, task), -r["trial"]))
    return out


def confirm_seeds(suite, k: int) -> list[int]:
    """k seeds none of the trials used (trials train at the suite's seed)."""
    return [suite.seed + 1 + j for j in range(k)]


def confirm(ctx, data, arms_: list[Arm]) -> None:
    suite = ctx.suite
    best = best_trials(read_records(ctx.run_dir), suite, arms_)
    by_k: dict[int, list[Item]] = {}
    for arm in arms_:
        rec, tune = best.get(arm.study_name), suite.tasks[arm.task_index].tune
        if rec is None or not tune.confirm_seeds:
            continue
        item = trial_item(suite, arm, rec["trial"], rec["tune_params"])
        item.entry["name"] = arm.name("tuned")
        item.entry.pop("tune", None)  # a confirmation reports to no study
        item.tags = {**item.tags, "tune_role": "confirm"}
        by_k.setdefault(tune.confirm_seeds, []).append(item)
    for k, items in by_k.items():
        log(f"tune: confirming {len(items)} best config(s) over {k} fresh seed(s)")
        run_items(ctx, data, items, seeds=confirm_seeds(suite, k))
