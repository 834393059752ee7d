"""Every registered adapter (built-ins and entry points) meets the contract; a broken one is named precisely."""
from __future__ import annotations

from importlib.metadata import entry_points
from types import SimpleNamespace

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
SHIPPED = {ep.name for ep in entry_points(group="nlpbench.adapters")}
CASES = [(name, task) for name, cls in adapters().items()
         if name in SHIPPED or cls.__module__.removeprefix("nlpbench.models.") in BUILTIN for task in cls.tasks]


# Adapters that need a checkpoint: a fixture building a tiny one (tests/conftest.py).
CHECKPOINTS = {"hf-classifier": "hf_classifier_dir", "hf-translator": "hf_translator_dir"}


@pytest.mark.parametrize(("name", "task"), CASES, ids=[f"{n}-{t}" for n, t in CASES])
def test_every_registered_adapter_meets_the_contract(name, task, request):
    cls = adapters()[name]
    params = SMALL.get(name, {})
    if name in CHECKPOINTS:
        params = {"checkpoint": str(request.getfixturevalue(CHECKPOINTS[name]))}
    assert static_problems(cls) == []
    assert exercise(cls, task, params) == []


def test_the_built_ins_are_all_checked():
    assert {"dummy", "lstm", "seq2seq", "transformer", "bert", "hf-classifier", "hf-translator"} <= {n for n, _ in CASES}


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


class WrongHookKinds(DummyAdapter):
    decoding_methods = "encode"  # a string, not a tuple of names
    predict_proba = 3
    export_onnx = "model.onnx"
    train_defaults = [("lr", 1)]


def test_optional_hooks_of_the_wrong_kind_are_named_at_registration():
    assert static_problems(WrongHookKinds) == [
        "predict_proba: a method predict_proba(batch) -> per-row class probabilities; given 3",
        "export_onnx: a method export_onnx(example, session) -> OnnxExport; given 'model.onnx'",
        "train_defaults: a dict of TrainConfig values; given [('lr', 1)]",
        "decoding_methods: a tuple of model method names (str) that decoding calls; given 'encode'",
    ]
    with pytest.raises(TypeError, match="breaks the adapter contract: predict_proba: a method"):
        register_adapter("wrong-hooks")(WrongHookKinds)


class BadHookValues(DummyAdapter):
    def setup(self, train=None):
        super().setup(train)
        self.cfg = SimpleNamespace(**vars(self.cfg))  # the same fields, but not the Config instance
        self.checkpoint = 7  # not a checkpoint's name
        self.checkpoint_sha256 = "abc"

    def predict_proba(self, batch):
        return [[1.0]]  # one row of one class, for a batch of two


class GoodProba(DummyAdapter):
    def predict_proba(self, batch):
        return self.forward(batch).softmax(-1).tolist()


def test_optional_hook_values_are_checked_in_the_smoke_run():
    assert exercise(BadHookValues, "classification") == [
        "cfg: the Config instance the adapter was given; given 'SimpleNamespace'",
        "checkpoint: None or the checkpoint name the suite gave (a folder, pkg: name or hub name); given 7",
        "checkpoint_sha256: None or a sha256 hex digest; given 'abc'",
        "predict_proba: allowed 2 rows of 2 probabilities summing to 1; given 1 rows of sizes [1]",
    ]
    assert exercise(GoodProba, "classification") == []


def test_decoding_methods_must_be_methods_of_the_model():
    from nlpbench.models.seq2seq import Seq2SeqAdapter

    class Misnamed(Seq2SeqAdapter):
        decoding_methods = ("encode", "decode_step")

    assert exercise(Misnamed, "translation", SMALL["seq2seq"]) == [
        "decoding_methods: 'decode_step' is not a method of the model (Seq2Seq)"]
