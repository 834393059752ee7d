"""Validate refuses what a run would record as failures (issue 33): seeds out of range or repeated, and perf
lengths beyond an adapter's position limit (its `max_positions` hook)."""
import pytest

from nlpbench.commands.validate import collect
from nlpbench.suite.schema import validate
from nlpbench.errors import BadInput
from tests.conftest import tiny_suite


@pytest.mark.parametrize("over, expected", [
    ({"seed": -1}, "seed: Input should be greater than or equal to 0; given -1"),
    ({"seed": 2**32}, "seed: Input should be less than or equal to 4294967295; given 4294967296"),
    ({"seeds": [1, -3]}, "seeds.1: Input should be greater than or equal to 0; given -3"),
    ({"seeds": [0, 0]}, "seeds: each seed once; 0 repeated in [0, 0]"),
])  # fmt: skip
def test_seeds_must_be_distinct_and_in_range(over, expected):
    with pytest.raises(BadInput) as e:
        validate(tiny_suite(**over))
    assert e.value.problems == [expected]
    validate(tiny_suite(seed=2**32 - 1, seeds=[0, 1]))


def _transformer_suite(**params) -> dict:
    suite = tiny_suite(perf={"modes": ["forward"], "batch_sizes": [1], "seq_lens": [16, 64, 128]})
    suite["tasks"][0]["models"] = [{"adapter": "transformer", "name": "t", "params": {"d_model": 8, "n_heads": 2, "n_layers": 1, "d_ff": 8, **params}}]
    return suite


def test_a_perf_seq_len_beyond_a_learned_position_table_fails_validate():
    _, _, problems = collect(_transformer_suite(positional="learned", max_positions=32), None)
    assert problems == ["perf.seq_lens: t (transformer) takes at most 32 positions; forward at seq_len 64, 128 can't "
                        "run (drop them, or give forward its own perf.limits.forward.seq_lens)"]
    suite = _transformer_suite(positional="learned", max_positions=32)
    suite["perf"]["limits"] = {"forward": {"seq_lens": [16, 32]}}
    assert collect(suite, None)[2] == []
    assert collect(_transformer_suite(), None)[2] == []  # sinusoidal positions: no limit
