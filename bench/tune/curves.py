"""Expected best validation score after n trials (Dodge et al. 2019, "Show Your Work"), its band, P(A > B).

Given the N validation scores of an architecture's trials, the expected maximum of n of them:

- `without` replacement (the report's curve): the mean of max(S) over every n-subset S of the N trials,
  E = Σ_i v_(i) · C(i−1, n−1) / C(N, n) with v sorted ascending (the i-th smallest is the maximum of exactly
  C(i−1, n−1) subsets). Unbiased for the expected maximum of n fresh trials, defined for n ≤ N.
- `with` replacement (the paper's formula): max of n draws from the empirical distribution,
  E = Σ_i v_(i) · ((i/N)^n − ((i−1)/N)^n); it is biased low for n near N, and is given beside it in the CSVs.

Ties are handled by position (sorting is stable), which gives the same expectation as enumerating subsets.
The band: percentiles of the curve over bootstrap resamples of the N scores (seeded). P(A > B) at n: the
probability that the best of n trials of A beats the best of n of B, each an n-subset drawn uniformly
without replacement (ties count one half).
"""
from __future__ import annotations

from math import comb

import numpy as np


def max_weights(N: int, n: int, replace: bool = False) -> np.ndarray:
    """P(the i-th smallest of N is the maximum of n draws), i = 1..N."""
    i = np.arange(1, N + 1)
    if replace:
        return (i / N) ** n - ((i - 1) / N) ** n
    if n > N:
        raise ValueError(f"without replacement n ({n}) must be at most N ({N})")
    return np.array([comb(k - 1, n - 1) for k in i], dtype=float) / comb(N, n)


def expected_max(values, n: int, replace: bool = False) -> float:
    v = np.sort(np.asarray(values, dtype=float), kind="stable")
    return float(v @ max_weights(len(v), n, replace))


def curve(values, replace: bool = False) -> list[float]:
    """E[max of n] for n = 1..N."""
    return [expected_max(values, n, replace) for n in range(1, len(values) + 1)]


def band(values, n_boot: int = 1000, seed: int = 0, level: float = 0.95, replace: bool = False) -> tuple[list, list]:
    """(low, high) per n: percentiles of the curve over bootstrap resamples of the trials."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return list(map(float, v)), list(map(float, v))
    rng = np.random.default_rng(seed)
    draws = np.sort(v[rng.integers(0, len(v), size=(n_boot, len(v)))], axis=1, kind="stable")
    w = np.stack([max_weights(len(v), n, replace) for n in range(1, len(v) + 1)])  # [n, N]
    curves = draws @ w.T  # [boot, n]
    tail = (1 - level) / 2 * 100
    return np.percentile(curves, tail, axis=0).tolist(), np.percentile(curves, 100 - tail, axis=0).tolist()


def max_distribution(values, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(support, probabilities) of the maximum of an n-subset drawn without replacement."""
    v = np.sort(np.asarray(values, dtype=float), kind="stable")
    w = max_weights(len(v), n)
    support = np.unique(v)
    return support, np.array([w[v == s].sum() for s in support])


def p_beats(a, b, n: int) -> float:
    """P(max of n trials of A > max of n trials of B), ties one half; n at most both trial counts."""
    xa, pa = max_distribution(a, n)
    xb, pb = max_distribution(b, n)
    greater = (xa[:, None] > xb[None, :]).astype(float) + 0.5 * (xa[:, None] == xb[None, :])
    return float(pa @ greater @ pb)


def crossings(ea: list[float], eb: list[float]) -> list[int]:
    """The n (1-based) where the curves swap order: the sign of E_A − E_B differs from the last nonzero one."""
    out, last = [], 0.0
    for n, (x, y) in enumerate(zip(ea, eb), start=1):
        d = np.sign(x - y)
        if d and last and d != last:
            out.append(n)
        if d:
            last = d
    return out
