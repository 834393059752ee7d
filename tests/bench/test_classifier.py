"""`TextClassifier`: the README's adapter template is a working classifier; inputs, empty texts and
unlabelled splits behave as the base class documents."""
from __future__ import annotations

import re
from pathlib import Path

import datasets
import pytest
import torch

from nlpbench import registry
from nlpbench.adapter import TaskInfo
from nlpbench.classifier import TextClassifier
from nlpbench.contract import exercise, static_problems
from nlpbench.models.dummy import BagClassifier, DummyConfig

README = Path(__file__).resolve().parents[2] / "README.md"
DATA = datasets.Dataset.from_dict({"text": ["a good film", "a bad film", "", "very good"], "label": [1, 0, 0, 1]})


def readme_template() -> str:
    section = README.read_text().split("## Adding an adapter", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def private_registry(monkeypatch):
    """Adapters registered by a test stay out of the shared registry."""
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry.adapters()))


def test_readme_template_meets_the_contract_and_trains(private_registry):
    scope: dict = {}
    exec(compile(readme_template(), "README.md", "exec"), scope)
    cls = registry.adapters()["bow"]
    assert issubclass(cls, TextClassifier) and static_problems(cls) == []
    assert exercise(cls, "classification", {"vocab_size": 50, "dim": 4}) == []
    torch.manual_seed(0)
    a = cls(cls.Config(dim=4), TaskInfo(num_labels=2, progress=False))
    a.setup(DATA)
    assert a.vocab == a.tokenizer.get_vocab_size() < 50  # the trained vocabulary, not the config's bound
    batch = a.collate(a.encode(DATA))
    opt = torch.optim.SGD(a.model.parameters(), lr=0.5)
    before = a.loss(batch).item()
    for _ in range(5):
        opt.zero_grad()
        a.loss(batch).backward()
        opt.step()
    assert a.loss(batch).item() < before and len(a.predict(batch)) == 4


class BagWithLengths(BagClassifier):
    def forward(self, ids, lengths):
        assert lengths.device.type == "cpu" and lengths.shape == ids.shape[:1]  # as packing wants them
        return super().forward(ids)


class Packed(TextClassifier):
    """Takes lengths as a second input and keeps empty texts one <unk> long, as the lstm does."""

    Config = DummyConfig
    inputs = ("ids", "lengths")
    unk_for_empty = True

    def build(self, vocab_size, num_labels):
        return BagWithLengths(vocab_size, self.cfg.dim, num_labels)


def test_lengths_input_empty_text_and_synthetic_batch():
    a = Packed(DummyConfig(dim=4), TaskInfo(num_labels=3, progress=False))
    a.setup(DATA)
    examples = a.encode(DATA)
    assert examples[2]["ids"] == [1] and examples[2]["length"] == 1  # the empty text
    batch = a.collate(examples)
    assert list(batch) == ["ids", "lengths", "label"] and batch["lengths"].tolist() == [3, 3, 1, 2]
    assert a.forward(batch).shape == (4, 3)
    syn = a.synthetic_batch(2, 5, torch.Generator().manual_seed(0))
    assert list(syn) == ["ids", "lengths", "label"] and syn["ids"].shape == (2, 5)
    assert syn["lengths"].tolist() == [5, 5] and int(syn["ids"].max()) < a.vocab


def test_unlabelled_split_encodes_and_empty_text_stays_empty_by_default():
    from nlpbench.models.dummy import DummyAdapter

    a = DummyAdapter(DummyConfig(), TaskInfo(progress=False))
    a.setup(DATA)
    examples = a.encode(DATA.remove_columns("label"))
    assert [e["label"] for e in examples] == [0, 0, 0, 0] and examples[2]["ids"] == []


def test_a_subclass_without_build_is_named_by_the_contract():
    class NoBuild(TextClassifier):
        Config = DummyConfig

    assert exercise(NoBuild, "classification") == [
        "setup(None): raised NotImplementedError: NoBuild.build(vocab_size, num_labels) must return the model"]
