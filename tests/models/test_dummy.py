"""The `dummy` adapter's Config checks its sizes at validate."""
import pytest

from nlpbench.errors import BadInput
from nlpbench.models.dummy import DummyConfig
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite


@pytest.mark.parametrize("params, line", [
    ({"dim": 0}, "dim: allowed >= 1; given 0"), ({"dim": -4}, "dim: allowed >= 1; given -4"),
    ({"vocab_size": 0}, "vocab_size: allowed > 4 (ids 0-3 are specials); given 0"),
    ({"max_len": -1}, "max_len: allowed >= 1; given -1"), ({"fail_above": -1}, "fail_above: allowed >= 0 or null; given -1"),
])  # fmt: skip
def test_zero_and_negative_sizes_are_refused_at_validate(params, line):
    raw = tiny_suite()
    raw["tasks"][0]["models"][0]["params"] = params
    with pytest.raises(BadInput) as e:
        validate(raw)
    assert e.value.problems == [f"tasks.0.models.0.params.{line}"]  # before: accepted


def test_every_bad_size_at_once_and_defaults_pass():
    with pytest.raises(BadInput) as e:
        DummyConfig(vocab_size=1, dim=0, max_len=0)
    assert len(e.value.problems) == 3
    assert DummyConfig(fail_above=0).dim == 16
