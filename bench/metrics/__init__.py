"""Metrics as local `evaluate` modules shipped in this package (no hub, no network).

Each metric is a folder `bench/metrics/<name>/<name>.py` holding an
`evaluate.Metric`; `compute(name, predictions, references)` loads it from disk
with `evaluate.load(<folder>)` and returns its dict. Confidence intervals come
from `bootstrap_ci` (percentile bootstrap over examples, seeded).
"""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np

from nlpbench.errors import BadInput, unknown_name

HERE = Path(__file__).parent


def available() -> list[str]:
    return sorted(p.name for p in HERE.iterdir() if (p / f"{p.name}.py").exists())


@cache
def load(name: str):
    if name not in available():
        raise BadInput(unknown_name("metric", name, available()))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local module never needs the hub
    import evaluate

    return evaluate.load(str(HERE / name))


def compute(name: str, predictions: list, references: list, **kwargs) -> dict:
    return load(name).compute(predictions=predictions, references=references, **kwargs)


def bootstrap_ci(per_example: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of the mean of `per_example` scores (e.g. 0/1 correctness)."""
    x = np.asarray(per_example, dtype=float)
    if len(x) == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]
