"""Pruning TPE trials (`tune.pruner: median`): the worker reports each validation pass to the trial's study.

The tune stage writes `tune.report_to: {journal, study, number}` into a trial's model entry; the training unit
(wherever it runs, as long as it sees the run folder) opens the same JournalStorage file — the journal's
several writers — reports each validation score at step = the validation pass's number, and asks Optuna's
MedianPruner whether to stop. A pruned trial stops like an early-stopped one (best weights restored, scored,
`fit.stopped: pruned`), and is told PRUNED; the report counts pruned trials, whose scores bias the
expected-max curves low (they assume complete, independent trials: Sobol without a pruner).
"""
from __future__ import annotations

from pathlib import Path


def watch(score_fn, model, run_dir: Path):
    """`score_fn` reporting to the trial's study, with `.stop` set once the pruner says so (else as given)."""
    target = getattr(getattr(model, "tune", None), "report_to", None)
    journal = Path(run_dir) / str((target or {}).get("journal", ""))
    if score_fn is None or not target or not journal.is_file():
        return score_fn
    from nlpbench.tune.storage import open_storage, optuna_quiet

    optuna = optuna_quiet()
    storage = open_storage(journal)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    study = optuna.load_study(study_name=target["study"], storage=storage, pruner=pruner)
    trial_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(target["study"]),
                                                               target["number"])
    trial = optuna.trial.Trial(study, trial_id)

    def reporting() -> float:
        value = score_fn()
        reporting.passes += 1
        trial.report(value, reporting.passes)
        reporting.stop = trial.should_prune()
        return value

    reporting.passes, reporting.stop = 0, False
    return reporting
