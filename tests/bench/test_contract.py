"""Every registered adapter (built-ins and entry points) meets the contract; a broken one is named precisely."""
from __future__ import annotations

from importlib.metadata import entry_points

import pytest
import torch

from nlpbench.contract import exercise, static_problems
from nlpbench.models import BUILTIN
from nlpbench.models.dummy import DummyAdapter
from nlpbench.registry import adapters, register_adapter

# Small params so the smoke run takes seconds; an adapter not listed runs at its defaults.
SMALL = {
    "lstm": {"vocab_size": 200, "embed_dim": 16, "hidden_size": 16},
    "transformer": {"vocab_size": 200, "d_model": 16, "n_heads": 2, "n_layers": 1, "n_decoder_layers": 1, "d_ff": 32},
    "seq2seq": {"vocab_size": 200, "emb_size": 16, "hidden_size": 16, "attn_size": 16},
    "bert": {"vocab_size": 200, "hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32},
}
# Built-ins and installed plugins (entry points); adapters other tests register for themselves are not shipped.
SHIPPED = set(BUILTIN) | {ep.name for ep in entry_points(group="nlpbench.adapters")}
CASES = [(name, task) for name, cls in adapters().items() if name in SHIPPED for task in cls.tasks]


@pytest.mark.parametrize(("name", "task"), CASES, ids=[f"{n}-{t}" for n, t in CASES])
def test_every_registered_adapter_meets_the_contract(name, task):
    cls = adapters()[name]
    assert static_problems(cls) == []
    assert exercise(cls, task, SMALL.get(name, {})) == []


def test_the_built_ins_are_all_checked():
    assert {"dummy", "lstm", "seq2seq", "transformer", "bert"} <= {n for n, _ in CASES}


class KeepsItsOwnModel(DummyAdapter):
    """Breaks the contract: forward uses a private reference, so a compiled/DDP `model` is bypassed."""

    def setup(self, train=None):
        super().setup(train)
        self.net = self.model

    def forward(self, batch):
        return self.net(batch["ids"])

    def loss(self, batch):
        return torch.nn.functional.cross_entropy(self.forward(batch), batch["label"])


class ScalarlessLoss(DummyAdapter):
    def loss(self, batch):
        return self.forward(batch)  # logits, not a scalar loss


def test_a_broken_adapter_is_named_with_what_it_breaks():
    assert exercise(KeepsItsOwnModel, "classification") == [
        "model: forward/loss never used `adapter.model` (the harness replaces it; don't keep another reference)"]
    assert exercise(ScalarlessLoss, "classification") == ["loss: must return a scalar tensor that requires grad"]


def test_registering_a_class_that_lacks_the_protocol_fails_with_one_line():
    class NoConfig:
        tasks = ("translation",)

        def setup(self, train=None): ...

    with pytest.raises(TypeError, match=r"breaks the adapter contract: Config: a dataclass of params is required; "
                                        r"encode: method missing; .*generate: required"):
        register_adapter("no-config")(NoConfig)
    assert "no-config" not in adapters()
