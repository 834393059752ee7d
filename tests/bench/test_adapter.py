"""The optional hooks: declared once (`Hooks`, `HOOKS`), read through `hook()`, the vocabulary size from either
kind of tokenizer."""
from __future__ import annotations

import pytest

from nlpbench.adapter import HOOKS, METHOD_HOOKS, Hooks, hook, vocab_size
from nlpbench.tokenize import train_tokenizer


def test_hooks_table_and_protocol_declare_the_same_hooks():
    declared = set(Hooks.__annotations__) | {n for n, v in vars(Hooks).items() if callable(v) and not n.startswith("_")}
    assert declared == set(HOOKS)
    assert set(METHOD_HOOKS) == {n for n in HOOKS if callable(getattr(Hooks, n, None))}


class Some:
    decoding_methods = ("encode", "step")
    predict_proba = None  # declared but switched off
    export_onnx = "not a method"

    def generate(self, batch, max_new_tokens, fixed_length=False):
        return "ids"


def test_hook_reads_what_is_there_and_falls_back_for_what_is_not():
    assert hook(Some, "decoding_methods") == ("encode", "step")
    assert hook(Some(), "generate")(None, 3) == "ids"
    assert hook(Some, "train_defaults", {}) == {}  # absent
    assert hook(Some, "predict_proba") is None  # None
    assert hook(Some, "export_onnx", "default") == "default"  # a method hook that is not callable


def test_a_misspelt_hook_name_is_an_error_not_a_silent_none():
    with pytest.raises(KeyError, match="'predict_probs' is not an optional adapter hook"):
        hook(Some, "predict_probs")


def test_vocab_size_from_tokenizers_transformers_style_and_the_legacy_attribute():
    trained = train_tokenizer("word", ["a b c", "a b"], 100)

    class Tok:
        tokenizer = trained

    class Sized:
        tokenizer = ["x"] * 7  # a transformers tokenizer has len(), not get_vocab_size()

    class Legacy:
        tok = trained  # the README template's attribute before `tokenizer`

    assert vocab_size(Tok) == trained.get_vocab_size() == vocab_size(Legacy)
    assert vocab_size(Sized) == 7 and vocab_size(Some) is None
