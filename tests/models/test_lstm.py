import datasets
import pytest
import torch

from nlpbench.adapter import TaskInfo
from nlpbench.errors import BadInput
from nlpbench.models.lstm import LSTMAdapter, LSTMConfig

TEXTS = ["a good film", "a bad film", "not good at all really", "very good", "bad"]


def make(pooling="max", bidirectional=True, num_layers=1):
    torch.manual_seed(0)
    ds = datasets.Dataset.from_dict({"text": TEXTS, "label": [1, 0, 0, 1, 0]})
    cfg = LSTMConfig(embed_dim=16, hidden_size=8, dropout=0.0, pooling=pooling, bidirectional=bidirectional, num_layers=num_layers)
    a = LSTMAdapter(cfg, TaskInfo(num_labels=2))
    a.setup(ds)
    return a, a.encode(ds)


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_shapes_and_padding_does_not_change_a_prediction(pooling, bidirectional):
    a, ex = make(pooling, bidirectional, num_layers=2)
    a.model.eval()
    with torch.no_grad():
        batch = a.collate(ex)  # padded to the longest (5 tokens)
        logits = a.forward(batch)
        assert logits.shape == (5, 2)
        for i, e in enumerate(ex):
            alone = a.forward(a.collate([e]))  # no padding at all
            torch.testing.assert_close(alone[0], logits[i], rtol=1e-5, atol=1e-6)


def test_one_training_step_lowers_the_loss():
    a, ex = make()
    batch = a.collate(ex)
    opt = torch.optim.AdamW(a.model.parameters(), lr=1e-2)
    before = a.loss(batch)
    before.backward()
    opt.step()
    assert a.loss(batch).item() < before.item()


def test_save_and_load_give_identical_outputs(tmp_path):
    a, ex = make()
    torch.save(a.model.state_dict(), tmp_path / "m.pt")
    b, _ = make()
    torch.nn.init.zeros_(b.model.head.weight)
    b.model.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    a.model.eval(), b.model.eval()
    torch.testing.assert_close(a.forward(a.collate(ex)), b.forward(b.collate(ex)))


def test_synthetic_batch_has_the_exact_shape():
    a, _ = make()
    batch = a.synthetic_batch(3, 17, torch.Generator().manual_seed(0))
    assert batch["ids"].shape == (3, 17) and a.forward(batch).shape == (3, 2)


def test_bad_pooling_is_a_clear_error():
    with pytest.raises(BadInput, match="pooling: allowed max, mean, last; given 'avg'"):
        LSTMConfig(pooling="avg")  # the config refuses it, so `nlpbench validate` does too


def test_validate_names_a_bad_lstm_or_seq2seq_param(capsys):
    from nlpbench.cli import main

    assert main(["validate", "quick", "tasks.0.models.0.params.pooling=avg", "tasks.1.models.0.params.beam_size=0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["nlpbench: tasks.0.models.0.params.pooling: allowed max, mean, last; given 'avg'",
                   "nlpbench: tasks.1.models.0.params.beam_size: allowed >= 1; given 0"], err
