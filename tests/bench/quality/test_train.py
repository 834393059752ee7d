import numpy as np
import pytest
import torch

from nlpbench.adapter import TaskInfo
from nlpbench.data.synthetic import make_sentiment
from nlpbench.models.dummy import DummyAdapter, DummyConfig
from nlpbench.quality.train import Diverged, bucketed_batches, fit, predict_all
from nlpbench.suite.schema import TrainConfig


def test_bucketed_batches_cover_every_index_once_and_group_lengths():
    rng = np.random.default_rng(0)
    lengths = list(rng.integers(1, 100, size=1000))
    batches = bucketed_batches(lengths, 10, np.random.default_rng(1), pool=10)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 10  # random batches would spread ~80


def _adapter(seed=0):
    import datasets

    data = make_sentiment(300, seed=0)
    labels = [("negative", "positive").index(y) for y in data["label"]]
    ds = datasets.Dataset.from_dict({"text": data["text"], "label": labels})
    torch.manual_seed(seed)
    a = DummyAdapter(DummyConfig(dim=8), TaskInfo(num_labels=2, seed=seed))
    a.setup(ds)
    return a, a.encode(ds)


def test_fit_is_deterministic_for_a_seed(tmp_path):
    runs = []
    for _ in range(2):
        a, ex = _adapter()
        result = fit(a, ex[:250], TrainConfig(epochs=2, batch_size=16, lr=0.05), seed=3, progress=False,
                     score_fn=lambda: float(np.mean(np.array(predict_all(a, ex[250:], 32)) == [e["label"] for e in ex[250:]])))  # fmt: skip
        runs.append((result.history, [p.detach().clone() for p in a.model.parameters()]))
    assert runs[0][0] == [{**h, "minutes": runs[0][0][i]["minutes"]} for i, h in enumerate(runs[1][0])]
    assert all(torch.equal(x, y) for x, y in zip(runs[0][1], runs[1][1]))


def test_best_checkpoint_is_restored_with_weights_only(tmp_path, monkeypatch):
    a, ex = _adapter()
    scores = iter([0.9, 0.1, 0.2])
    saved = {}
    original_save = torch.save

    def spy_save(state, path):
        saved["state"] = {k: v.clone() for k, v in state.items()}
        original_save(state, path)

    monkeypatch.setattr(torch, "save", spy_save)
    loads = []
    original_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(k) or original_load(*a, **k))
    result = fit(a, ex, TrainConfig(epochs=3, batch_size=32, lr=0.1), score_fn=lambda: next(scores),
                 ckpt=tmp_path / "best.pt", progress=False)  # fmt: skip
    assert result.best_score == 0.9 and result.best_step == result.history[0]["step"]
    assert loads and loads[-1]["weights_only"] is True
    assert all(torch.equal(v, a.model.state_dict()[k]) for k, v in saved["state"].items())


def test_time_budget_and_patience_stop_training():
    a, ex = _adapter()
    r = fit(a, ex, TrainConfig(epochs=50, batch_size=8, max_minutes=1e-4), score_fn=lambda: 0.5, progress=False)
    assert r.stopped == "time" and r.steps < 50 * len(ex) / 8
    a, ex = _adapter()
    r = fit(a, ex, TrainConfig(epochs=50, batch_size=64, patience=2), score_fn=lambda: 0.5, progress=False)
    assert r.stopped == "patience" and len(r.history) == 3


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine", "inverse_sqrt"])
def test_schedules_train(schedule):
    a, ex = _adapter()
    r = fit(a, ex, TrainConfig(epochs=1, batch_size=32, schedule=schedule, warmup=0.2), progress=False)
    assert r.steps == 10 and r.examples == 300


def test_a_step_budget_runs_exactly_that_many_steps_across_epochs():
    from nlpbench.quality.train import fit
    from nlpbench.suite.schema import TrainConfig

    class Lin:  # the least a trainer needs: model, collate, loss, name
        name = "lin"

        def __init__(self):
            self.model = torch.nn.Linear(2, 2)

        def collate(self, ex):
            return torch.tensor([e["x"] for e in ex], dtype=torch.float)

        def loss(self, batch):
            return torch.nn.functional.cross_entropy(self.model(batch), torch.zeros(len(batch), dtype=torch.long))

    a, train = Lin(), [{"x": [i, 1.0], "length": 1} for i in range(10)]
    result = fit(a, train, TrainConfig(max_steps=7, batch_size=4, epochs=100), progress=False)
    assert result.steps == 7 and result.epochs == 7 / 3  # three batches an epoch: the budget crossed two epochs


def test_a_non_finite_loss_stops_training_at_that_step():
    a, ex = _adapter()
    calls, real_loss = [], a.loss

    def loss(batch):  # finite twice, then NaN: the third step diverges
        calls.append(1)
        value = real_loss(batch)
        return value * float("nan") if len(calls) == 3 else value

    a.loss = loss
    scores = []
    with pytest.raises(Diverged) as e:
        fit(a, ex, TrainConfig(epochs=5, batch_size=16, eval_every=2), score_fn=lambda: scores.append(1) or 0.5,
            progress=False)  # fmt: skip
    assert (e.value.step, str(e.value.loss)) == (3, "nan") and len(calls) == 3  # stopped there, not after 5 epochs
    assert len(scores) == 1  # the evaluation at step 2 ran; none after the NaN


def test_a_diverged_unit_is_recorded_diverged_with_step_and_loss(write_suite, tmp_path):
    import json

    from nlpbench.cli import main
    from nlpbench.store.results import read_records
    from tests.conftest import tiny_suite

    suite = tiny_suite()
    suite["tasks"][0]["models"][0]["train"] = {"epochs": 1, "lr": 1e30}  # finite, so valid; the loss blows up
    out = tmp_path / "runs"
    assert main(["run", str(write_suite(suite)), "--no-progress", "--out", str(out)]) == 0  # d1 is not required
    (run,) = list(out.iterdir())
    recs = {(r["name"], r["split"]): r for r in read_records(run)}
    d1 = recs[("d1", "test")]
    assert d1["status"] == "diverged" and d1["diverged_loss"] in ("nan", "inf") and d1["diverged_step"] >= 1
    assert d1["error"] == f"training diverged: loss {d1['diverged_loss']} at step {d1['diverged_step']}"
    assert recs[("d2", "test")]["status"] == "ok"  # before: d1 recorded ok at chance accuracy
    json.loads((run / "run.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in run.json"))
    suite["tasks"][0]["models"][0]["required"] = True
    assert main(["run", str(write_suite(suite)), "--no-progress", "--out", str(tmp_path / "req")]) == 1
