"""The `transformer` adapter: shapes, padding, training, save/load, incremental decoding."""
from __future__ import annotations

import copy
import dataclasses
import io

import datasets
import pytest
import torch

from nlpbench.adapter import TaskInfo
from nlpbench.errors import BadInput
from nlpbench.models.transformer import BOS, EOS, PAD, TransformerAdapter, TransformerConfig

TINY = dict(d_model=16, n_heads=2, n_layers=2, n_decoder_layers=2, d_ff=32, dropout=0.0, vocab_size=80, min_frequency=1)
TEXTS = ["a fine and moving film", "dull", "the plot is a mess and the cast is bored", "great fun", "not good at all"]
LABELS = [1, 0, 0, 1, 0]
SRC = ["ein kleiner hund läuft", "zwei katzen", "der mann liest ein buch im park", "eine frau", "kinder spielen"]
TGT = ["a small dog runs", "two cats", "the man reads a book in the park", "a woman", "children play"]


def make(task: str, seed: int = 0, **params) -> TransformerAdapter:
    adapter = TransformerAdapter(TransformerConfig(**{**TINY, **params}), TaskInfo(task=task, seed=seed))
    adapter.setup(train(task))
    return adapter


def train(task: str) -> datasets.Dataset:
    if task == "classification":
        return datasets.Dataset.from_dict({"text": TEXTS, "label": LABELS})
    return datasets.Dataset.from_dict({"src": SRC, "tgt": TGT})


def batch(adapter: TransformerAdapter, task: str) -> dict:
    return adapter.collate(adapter.encode(train(task)))


def test_bad_params_are_listed_at_once():
    with pytest.raises(BadInput) as e:
        TransformerConfig(d_model=10, n_heads=4, beam_size=0, dropout=1.0)
    assert [p.split(":")[0] for p in e.value.problems] == ["d_model", "beam_size", "dropout"]
    with pytest.raises(BadInput, match="task: allowed classification, translation; given 'tagging'"):
        TransformerAdapter(TransformerConfig(), TaskInfo(task="tagging"))


def test_suite_validation_reports_bad_params():
    from nlpbench.suite.schema import ModelSpec, model_problems

    spec = ModelSpec(adapter="transformer", params={"d_model": 30, "pooling": "max"})
    problems = model_problems(spec, "classification", "tasks.0.models.1")
    assert len(problems) == 1 and problems[0].startswith("tasks.0.models.1.params.pooling")
    spec = ModelSpec(adapter="transformer", params={"d_model": 30})
    assert model_problems(spec, "translation", "m")[0].startswith("m.params.d_model: allowed a positive multiple")


def test_classification_shapes():
    a = make("classification", pooling="first")
    b = batch(a, "classification")
    assert (b["ids"][:, 0] == BOS).all()  # every text starts with <bos>, the pooled token
    assert a.forward(b).shape == (5, 2)
    assert all(p in (0, 1) for p in a.predict(b))
    s = a.synthetic_batch(3, 7, torch.Generator().manual_seed(0))
    assert s["ids"].shape == (3, 7) and s["label"].shape == (3,)
    assert a.forward(s).shape == (3, 2)


def test_translation_shapes():
    a = make("translation")
    b = batch(a, "translation")
    assert b["tgt_in"].shape == b["tgt_out"].shape and (b["tgt_in"][:, 0] == BOS).all()
    assert (b["tgt_out"] == EOS).sum() == 5 and (b["src"] == EOS).sum() == 5
    assert a.forward(b).shape == (*b["tgt_in"].shape, a.tokenizer.get_vocab_size())
    s = a.synthetic_batch(2, 9, torch.Generator().manual_seed(0))
    assert s["src"].shape == s["tgt_in"].shape == s["tgt_out"].shape == (2, 9)
    assert a.forward(s).shape == (2, 9, 80)


def test_setup_without_data_builds_at_vocab_size():
    a = TransformerAdapter(TransformerConfig(**TINY), TaskInfo(task="translation"))
    a.setup(None)
    assert a.model.embed.tok.num_embeddings == 80


@pytest.mark.parametrize("pooling", ["mean", "first"])
@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_padding_does_not_change_classification(pooling, positional):
    a = make("classification", pooling=pooling, positional=positional)
    a.model.eval()
    ex = a.encode(train("classification"))
    together = a.forward(a.collate(ex))  # padded to the longest text
    alone = torch.cat([a.forward(a.collate([e])) for e in ex])  # no padding at all
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_translation_encoder_or_logits():
    a = make("translation")
    a.model.eval()
    ex = a.encode(train("translation"))
    b = a.collate(ex)
    memory = a.model.encoder(a.model.embed(b["src"]), (b["src"] != PAD)[:, None, None, :])
    logits = a.forward(b)
    for i, e in enumerate(ex):
        one = a.collate([e])
        n, t = one["src"].size(1), one["tgt_in"].size(1)
        mem1 = a.model.encoder(a.model.embed(one["src"]), (one["src"] != PAD)[:, None, None, :])
        torch.testing.assert_close(memory[i, :n], mem1[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(logits[i, :t], a.forward(one)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("task", ["classification", "translation"])
def test_one_training_step_lowers_loss(task):
    a = make(task)
    b = batch(a, task)
    opt = torch.optim.AdamW(a.model.parameters(), lr=1e-2)
    a.model.train()
    before = a.loss(b)
    before.backward()
    opt.step()
    assert a.loss(b).item() < before.item() - 1e-3


@pytest.mark.parametrize("task", ["classification", "translation"])
def test_state_dict_round_trip(task):
    a, fresh = make(task, seed=0), make(task, seed=1)
    b = batch(a, task)
    a.model.eval(), fresh.model.eval()
    assert not torch.equal(a.forward(b), fresh.forward(b))  # different seeds: loading has to matter
    buf = io.BytesIO()
    torch.save(a.model.state_dict(), buf)
    buf.seek(0)
    fresh.model.load_state_dict(torch.load(buf, weights_only=True))
    assert torch.equal(a.forward(b), fresh.forward(b))


@pytest.fixture(scope="module")
def fitted() -> TransformerAdapter:
    """A tiny translator fitted a little, so its output distribution is peaked like a real one."""
    a = make("translation")
    b = batch(a, "translation")
    opt = torch.optim.AdamW(a.model.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        a.loss(b).backward()
        opt.step()
    a.model.eval()
    return a


def variant(a: TransformerAdapter, **params) -> TransformerAdapter:
    """The same model with other decoding params (the shared fixture stays untouched)."""
    b = copy.copy(a)
    b.cfg = dataclasses.replace(a.cfg, **params)
    return b


@torch.inference_mode()
def test_incremental_decoding_matches_full_recomputation_at_every_step(fitted):
    src = batch(fitted, "translation")["src"]
    cached_state, cached_step, _ = fitted.decoder_fns(src, kv_cache=True)
    full_state, full_step, _ = fitted.decoder_fns(src, kv_cache=False)
    last = torch.full((src.size(0),), BOS)
    for _ in range(12):
        lp_cached, cached_state = cached_step(cached_state, last)
        lp_full, full_state = full_step(full_state, last)
        torch.testing.assert_close(lp_cached, lp_full, atol=1e-4, rtol=1e-4)
        assert torch.equal(lp_cached.argmax(-1), lp_full.argmax(-1))
        last = lp_cached.argmax(-1)
    assert cached_state["past"][0][0].shape[2] == 12  # one cached key per step, per layer


@torch.inference_mode()
def test_reorder_follows_rows_of_the_cache(fitted):
    src = batch(fitted, "translation")["src"]
    state, step, reorder = fitted.decoder_fns(src)
    lp, state = step(state, torch.full((5,), BOS))
    index = torch.tensor([4, 4, 0])
    lp_re, _ = step(reorder(state, index), lp.argmax(-1)[index])
    state2, step2, _ = fitted.decoder_fns(src[index])
    lp2, state2 = step2(state2, torch.full((3,), BOS))
    torch.testing.assert_close(step2(state2, lp2.argmax(-1))[0], lp_re, atol=1e-5, rtol=1e-5)


@pytest.fixture
def decoding():
    return pytest.importorskip("nlpbench.decoding", reason="bench/decoding.py not written yet")


@torch.inference_mode()
def test_greedy_with_and_without_cache_and_beam_one_agree(fitted, decoding):
    src = batch(fitted, "translation")["src"]
    greedy = fitted.search(src, 15)
    assert any(greedy) and max(map(len, greedy)) <= 15
    assert variant(fitted, kv_cache=False).search(src, 15) == greedy
    state, step, reorder = fitted.decoder_fns(src)
    assert decoding.beam_search(step, reorder, state, 5, BOS, EOS, beam_size=1, max_len=15) == greedy


@torch.inference_mode()
def test_predict_gives_text_and_generate_fixed_length_ids(fitted, decoding):
    a = variant(fitted, beam_size=3)
    b = batch(a, "translation")
    out = a.predict(b)
    assert len(out) == 5 and all(isinstance(s, str) for s in out)
    assert "the" in " ".join(out)  # fitted on these pairs, it has learnt some target words
    ids = a.generate(b, max_new_tokens=7, fixed_length=True)
    assert ids.shape == (5, 7) and not (ids == EOS).any() and not (ids == PAD).any()


def log_prob(adapter: TransformerAdapter, src: torch.Tensor, tokens: list[int], max_len: int) -> float:
    """Model log-probability of a decoded sequence (with its EOS unless it hit the limit)."""
    state, step, _ = adapter.decoder_fns(src[None])
    total, last = 0.0, BOS
    for tok in tokens + ([EOS] if len(tokens) < max_len else []):
        lp, state = step(state, torch.tensor([last]))
        total, last = total + lp[0, tok].item(), tok
    return total


@torch.inference_mode()
def test_beam_never_scores_below_greedy(fitted, decoding):
    src = batch(fitted, "translation")["src"]
    greedy = fitted.search(src, 15)
    beam = variant(fitted, beam_size=4, length_penalty=0.0).search(src, 15)  # 0: rank by raw log-probability
    for i, (g, b) in enumerate(zip(greedy, beam)):
        assert log_prob(fitted, src[i], b, 15) >= log_prob(fitted, src[i], g, 15) - 1e-5
