"""Search spaces: what a trial may set, how points are drawn, and how a point becomes a model entry.

A space maps dotted keys relative to a suite's model entry (`train.lr`, `params.dropout`,
`params.pretrain.lr`) to one dimension: `{log_uniform: [lo, hi]}`, `{uniform: [lo, hi]}`, `{int: [lo, hi]}`
(both ends included) or `{choice: [a, b, ...]}`; a plain value pins the key, `null` drops a dimension an
earlier layer declared. Layers, later winning key by key: the adapter class's `search_space` (beside its
Config), the task's `tune.space`, the task's `tune.spaces[<name>]`, the model entry's `tune.space`, then
its `tune.spaces[<name>]`.

Points are quasi-random: a scrambled, seeded Sobol sequence (`torch.quasirandom.SobolEngine`, the
sequence Optuna's QMCSampler draws through scipy), one coordinate per dimension in sorted key order, all
N points drawn at once — including the first, which QMCSampler would draw at random to infer the space — so
trial i's config depends only on (space, seed, i) and the trials are independent draws for the curves.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import torch

KINDS = ("log_uniform", "uniform", "int", "choice")
ROOTS = ("params", "train")


def merged(*layers: dict | None) -> dict:
    """The space from its layers (later wins per key; a `None` value removes the key)."""
    out: dict = {}
    for layer in layers:
        for key, dim in (layer or {}).items():
            if dim is None:
                out.pop(key, None)
            else:
                out[key] = dim
    return dict(sorted(out.items()))


def dims(space: dict) -> dict:
    """The searched dimensions (dicts), without the pinned keys."""
    return {k: v for k, v in space.items() if isinstance(v, dict)}


def problems(space: Any, at: str) -> list[str]:
    """One line per malformed key or dimension."""
    if not isinstance(space, dict):
        return [f"{at}: a mapping of dotted keys to dimensions; given {type(space).__name__}"]
    out = []
    for key, dim in space.items():
        where = f"{at}.{key}"
        if not isinstance(key, str) or key.split(".")[0] not in ROOTS or key.count(".") < 1:
            out.append(f"{where}: keys are dotted paths into a model entry starting with params. or train.")
        elif isinstance(dim, dict):
            out += _dim_problems(dim, where)
    return out


def _dim_problems(dim: dict, at: str) -> list[str]:
    if len(dim) != 1 or next(iter(dim)) not in KINDS:
        return [f"{at}: one of {{log_uniform: [lo, hi]}}, {{uniform: [lo, hi]}}, {{int: [lo, hi]}}, {{choice: [...]}}; "
                f"given {str(dim)[:80]}"]
    (kind, arg), = dim.items()
    if kind == "choice":
        return [] if isinstance(arg, list) and arg else [f"{at}.choice: a non-empty list of values"]
    ok = isinstance(arg, list) and len(arg) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in arg)
    if not ok or arg[0] > arg[1]:
        return [f"{at}.{kind}: [low, high] with low <= high; given {arg!r}"[:160]]
    if kind == "log_uniform" and arg[0] <= 0:
        return [f"{at}.log_uniform: both ends > 0; given {arg!r}"]
    if kind == "int" and not all(float(v).is_integer() for v in arg):
        return [f"{at}.int: whole numbers; given {arg!r}"]
    return []


def value_at(dim: dict, u: float):
    """The dimension's value at u in [0, 1)."""
    (kind, arg), = dim.items()
    if kind == "choice":
        return arg[min(int(u * len(arg)), len(arg) - 1)]
    lo, hi = arg
    if kind == "int":
        return int(min(lo + math.floor(u * (hi - lo + 1)), hi))
    if kind == "log_uniform":
        return float(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))))
    return float(lo + u * (hi - lo))


def sobol_points(space: dict, n: int, seed: int) -> list[dict]:
    """n configs of the space's searched dimensions from a scrambled Sobol sequence seeded with `seed`."""
    searched = dims(space)
    if not searched:
        return [{} for _ in range(n)]
    engine = torch.quasirandom.SobolEngine(dimension=len(searched), scramble=True, seed=seed)
    u = engine.draw(n, dtype=torch.float64).tolist()
    return [{k: value_at(d, row[j]) for j, (k, d) in enumerate(searched.items())} for row in u]


def midpoint(space: dict) -> dict:
    """A representative config (each dimension at u = 0.5): what validation checks a space's keys with."""
    return {k: value_at(d, 0.5) for k, d in dims(space).items()}


def apply(entry: dict, params: dict, pinned: dict | None = None) -> dict:
    """A copy of a model entry (a suite mapping) with each dotted key set: pinned keys first, then `params`."""
    out = copy.deepcopy(entry)
    for key, value in {**(pinned or {}), **params}.items():
        node = out
        *path, last = key.split(".")
        for part in path:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = value
    return out


def pinned(space: dict) -> dict:
    return {k: v for k, v in space.items() if not isinstance(v, dict)}


def optuna_distributions(space: dict) -> dict:
    """The space as Optuna distributions (for `study.ask` and the TPE sampler)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for key, dim in dims(space).items():
        (kind, arg), = dim.items()
        if kind == "choice":
            out[key] = CategoricalDistribution(arg)
        elif kind == "int":
            out[key] = IntDistribution(int(arg[0]), int(arg[1]))
        else:
            out[key] = FloatDistribution(float(arg[0]), float(arg[1]), log=kind == "log_uniform")
    return out
