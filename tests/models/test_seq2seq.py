"""The `seq2seq` adapter: shapes, padding mask, learning, checkpoints, decoding."""
import datasets
import pytest
import torch
import torch.nn.functional as F

from nlpbench.adapter import TaskInfo
from nlpbench.decoding import beam_search
from nlpbench.errors import BadInput
from nlpbench.models.seq2seq import BOS, EOS, Seq2SeqAdapter, Seq2SeqConfig, _reorder
from nlpbench.registry import get_adapter

DATA = {
    "src": ["the cat sees a dog", "a big red car", "some birds sing today",
            "the old farmer helped the girls near the tree", "dogs bark", "the queen visits a small house again"] * 4,
    "tgt": ["lo tamo la rike vedat", "una car rossa grande", "unos pajaren cantan oggi",
            "lo farmero vekio la ragazen pi albero ajutot", "caen abbaian", "la regina una casa picola visitat ankora"] * 4,
}
TINY = {"vocab_size": 200, "min_frequency": 1, "emb_size": 16, "hidden_size": 24, "attn_size": 16, "dropout": 0.0}


def make(tmp_path=None, **params) -> Seq2SeqAdapter:
    torch.manual_seed(0)
    info = TaskInfo(task="translation", cache_dir=tmp_path)
    adapter = get_adapter("seq2seq")(Seq2SeqConfig(**{**TINY, **params}), info)
    adapter.setup(datasets.Dataset.from_dict(DATA))
    adapter.model.eval()
    return adapter


def batch_of(adapter, rows=slice(0, 6)):
    ds = datasets.Dataset.from_dict({k: v[rows] for k, v in DATA.items()})
    return adapter.collate(adapter.encode(ds))


def test_shapes_and_registration():
    a = make()
    assert get_adapter("seq2seq") is Seq2SeqAdapter and a.tasks == ("translation",)
    b = batch_of(a)
    B, T = b["tgt_in"].shape
    assert (b["tgt_in"][:, 0] == BOS).all() and b["tgt_out"].shape == (B, T) and b["src"].shape[0] == B
    assert ((b["tgt_out"] == EOS).sum(1) == 1).all()
    assert a.forward(b).shape == (B, T, a.model.emb.num_embeddings)
    with torch.inference_mode():
        preds = a.predict(b)
        assert len(preds) == B and all(isinstance(p, str) for p in preds)
        assert a.generate(b, 7, fixed_length=True).shape == (B, 7)
        assert a.generate(b, 7).shape[1] <= 7


def test_synthetic_batch_for_perf_cells_has_exact_shapes():
    torch.manual_seed(0)
    a = Seq2SeqAdapter(Seq2SeqConfig(**{**TINY, "vocab_size": 300}), TaskInfo(task="translation"))
    a.setup(None)
    b = a.synthetic_batch(3, 11, torch.Generator().manual_seed(0))
    assert b["src"].shape == b["tgt_in"].shape == b["tgt_out"].shape == (3, 11)
    assert a.forward(b).shape == (3, 11, 300)
    assert a.generate(b, 5, fixed_length=True).shape == (3, 5)


def test_padding_does_not_change_the_output():
    a = make()
    b = batch_of(a)
    short = int(b["src_len"].argmin())
    alone = batch_of(a, slice(short, short + 1))
    assert b["src"].shape[1] > alone["src"].shape[1]  # the batched copy really is padded
    T = alone["tgt_in"].shape[1]
    with torch.inference_mode():
        batched, single = a.forward(b)[short, :T], a.forward(alone)[0]
        assert torch.allclose(batched, single, atol=1e-5)
        assert a.predict(b)[short] == a.predict(alone)[0]


def test_one_training_step_lowers_the_loss():
    a = make()
    b = batch_of(a)
    opt = torch.optim.AdamW(a.model.parameters(), lr=1e-2)
    a.model.train()
    before = a.loss(b)
    before.backward()
    opt.step()
    assert a.loss(b).item() < before.item()


def test_teacher_forcing_ratio_feeds_back_predictions_in_training_only():
    a = make(teacher_forcing=0.0)
    b = batch_of(a)
    eval_loss = a.loss(b).item()
    a.model.train()
    assert a.loss(b).item() != pytest.approx(eval_loss)  # own (wrong) guesses fed back
    a.cfg.teacher_forcing = 1.0
    assert a.loss(b).item() == pytest.approx(eval_loss)


def test_save_load_round_trip(tmp_path):
    a = make(tmp_path, dropout=0.1)
    b = batch_of(a)
    _train(a, b, 5)
    torch.save(a.model.state_dict(), tmp_path / "best.pt")
    assert list((tmp_path / "tokenizers").glob("bpe-*.json"))  # vocabulary cached in the run folder
    fresh = make(tmp_path, dropout=0.1)
    fresh.model.load_state_dict(torch.load(tmp_path / "best.pt", weights_only=True))
    with torch.inference_mode():
        assert torch.equal(fresh.forward(b), a.forward(b))
        assert fresh.predict(b) == a.predict(b)


def _logprob(a, b, row: int, seq: list[int], closed: bool) -> float:
    """Model log-probability of one output (plus EOS when it closed with one), by teacher-forced rescoring."""
    out = seq + [EOS] if closed else seq
    tgt_in = torch.tensor([[BOS] + out[:-1]])
    lp = F.log_softmax(a.model(b["src"][row : row + 1], b["src_len"][row : row + 1], tgt_in), -1)
    return float(lp[0].gather(-1, torch.tensor(out).unsqueeze(-1)).sum())


def _train(a, b, steps: int) -> None:
    opt = torch.optim.AdamW(a.model.parameters(), lr=1e-2)
    a.model.train()
    for _ in range(steps):
        opt.zero_grad()
        a.loss(b).backward()
        opt.step()
    a.model.eval()


def test_beam_one_equals_greedy_and_wider_beams_score_higher():
    """Beam vs greedy compared on raw model log-probability (length_penalty=0)."""
    a = make(length_penalty=0.0)
    b = batch_of(a)
    _train(a, b, 15)  # half-trained: emits EOS sometimes, unsure elsewhere, so beams matter
    with torch.inference_mode():
        limit = b["src_len"] + 3
        greedy = a.decode(b, limit, 1)
        mem = a.model.encode(b["src"], b["src_len"])
        assert beam_search(a._step, _reorder, mem, len(greedy), BOS, EOS, 1, limit, 0.0) == greedy
        greedy, beam = a.decode(b, 30, 1), a.decode(b, 30, 4)
        g_lp = [_logprob(a, b, i, s, len(s) < 30) for i, s in enumerate(greedy)]
        b_lp = [_logprob(a, b, i, s, len(s) < 30) for i, s in enumerate(beam)]
        assert all(x >= y - 1e-4 for x, y in zip(b_lp, g_lp))
        assert sum(b_lp) > sum(g_lp) + 1e-3


def test_bad_params_raise_bad_input():
    with pytest.raises(BadInput) as e:
        Seq2SeqConfig(teacher_forcing=1.5, beam_size=0)  # refused by the config: at validate time
    assert len(e.value.problems) == 2 and "teacher_forcing" in e.value.problems[0]
    with pytest.raises(BadInput, match="task"):
        Seq2SeqAdapter(Seq2SeqConfig(), TaskInfo(task="classification"))


def test_generate_honours_beam_size_at_fixed_length():
    from nlpbench.adapter import TaskInfo
    from nlpbench.models.seq2seq import Seq2SeqAdapter, Seq2SeqConfig

    info = TaskInfo(task="translation", num_labels=None, device=torch.device("cpu"), dtype="fp32", seed=0, progress=False)
    a = Seq2SeqAdapter(Seq2SeqConfig(vocab_size=30, emb_size=8, hidden_size=8, attn_size=8, beam_size=3), info)
    a.setup(None)
    a.model.eval()
    b = a.synthetic_batch(2, 5, torch.Generator().manual_seed(0))
    calls = []
    step = a._step
    a._step = lambda mem, prev: (calls.append(prev.shape[0]), step(mem, prev))[1]
    with torch.inference_mode():
        out = a.generate(b, 6, fixed_length=True)
    assert out.shape == (2, 6) and calls == [2 * 3] * 6  # 3 beams per row, every one of the 6 steps
