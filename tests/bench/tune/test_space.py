"""Search spaces: layers, checks, Sobol points, applying a point to a model entry; every adapter's default."""
from __future__ import annotations

import pytest

from nlpbench.registry import adapters
from nlpbench.tune import space as S

SPACE = {"train.lr": {"log_uniform": [1e-4, 1e-2]}, "train.warmup": {"uniform": [0.0, 0.2]},
         "params.n_layers": {"int": [1, 4]}, "train.schedule": {"choice": ["linear", "cosine"]}}


def test_points_are_seeded_sobol_inside_the_space():
    pts = S.sobol_points(SPACE, 16, seed=3)
    assert pts == S.sobol_points(SPACE, 16, seed=3) and pts != S.sobol_points(SPACE, 16, seed=4)
    assert all(1e-4 <= p["train.lr"] <= 1e-2 and 0 <= p["train.warmup"] <= 0.2 for p in pts)
    assert {p["params.n_layers"] for p in pts} == {1, 2, 3, 4} and {p["train.schedule"] for p in pts} == {"linear", "cosine"}
    assert S.sobol_points(SPACE, 4, seed=3) == pts[:4]  # trial i depends on i, not on N


def test_layers_merge_key_by_key_and_null_drops():
    out = S.merged({"train.lr": {"uniform": [0, 1]}, "params.dropout": {"uniform": [0, 0.5]}},
                   {"train.lr": {"log_uniform": [1e-3, 1e-2]}, "params.dropout": None, "params.dim": 8})
    assert out == {"params.dim": 8, "train.lr": {"log_uniform": [1e-3, 1e-2]}}
    assert S.pinned(out) == {"params.dim": 8} and list(S.dims(out)) == ["train.lr"]


def test_apply_sets_nested_dotted_keys_on_a_copy():
    entry = {"adapter": "bert", "params": {"hidden_size": 32}, "train": {"lr": 1.0}}
    out = S.apply(entry, {"train.lr": 0.5, "params.pretrain.lr": 0.1}, {"params.hidden_size": 64})
    assert out == {"adapter": "bert", "params": {"hidden_size": 64, "pretrain": {"lr": 0.1}}, "train": {"lr": 0.5}}
    assert entry["train"]["lr"] == 1.0


@pytest.mark.parametrize("bad, words", [
    ({"lr": {"uniform": [0, 1]}}, "params. or train."),
    ({"train.lr": {"log_uniform": [0, 1]}}, "both ends > 0"),
    ({"train.lr": {"uniform": [2, 1]}}, "low <= high"),
    ({"params.n": {"int": [1.5, 3]}}, "whole numbers"),
    ({"params.n": {"choice": []}}, "non-empty"),
    ({"params.n": {"normal": [0, 1]}}, "one of"),
])
def test_problems_name_the_key(bad, words):
    (line,) = S.problems(bad, "tasks.0.tune.space")
    assert line.startswith("tasks.0.tune.space.") and words in line


@pytest.mark.parametrize("name", ["lstm", "transformer", "seq2seq", "bert", "dummy"])
def test_every_shipped_adapter_declares_a_valid_space(name):
    space = adapters()[name].search_space
    assert space and not S.problems(space, name)
    assert S.optuna_distributions(space).keys() == S.dims(space).keys()


def test_the_contract_refuses_a_malformed_search_space():
    from nlpbench.contract import hook_problems

    class Bad:
        search_space = {"lr": {"uniform": [0, 1]}}

    class Good:
        search_space = {"train.lr": {"uniform": [0, 1]}}

    assert [p.split(":")[0] for p in hook_problems(Bad)] == ["search_space"] and not hook_problems(Good)
