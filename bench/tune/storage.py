"""The Optuna JournalStorage file of a run's tune stage, opened quietly (nlpbench.tune.journal and .prune share it;
this module imports nothing else of nlpbench, so a training unit can reach it without importing the stage)."""
from __future__ import annotations

from pathlib import Path


def optuna_quiet():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own log lines say what runs
    return optuna


def open_storage(path: Path):
    optuna_quiet()
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))
