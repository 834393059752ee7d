"""FLOP budgets: counting never changes what trains, a FLOP budget ends training, schedules span it."""
from __future__ import annotations

import torch

from nlpbench.adapter import TaskInfo, TrainConfig
from nlpbench.data import load_task_data
from nlpbench.quality.train import fit
from nlpbench.registry import get_adapter
from nlpbench.suite.schema import TaskSpec
from nlpbench.tune import budget as B

TASK = TaskSpec.model_validate({"task": "classification", "models": [{"adapter": "dummy"}],
                                "dataset": {"source": "synthetic", "name": "sentiment", "size": {"train": 120, "validation": 40}}})


def trained(cfg: dict, count: bool = True, monkeypatch=None):
    data = load_task_data(TASK, None, 0)
    cls = get_adapter("dummy")
    torch.manual_seed(0)
    adapter = cls(cls.Config(), TaskInfo(num_labels=data.num_labels))
    adapter.setup(data.train)
    if not count:
        monkeypatch.setattr(B.StepFlops, "__call__", lambda self, batch: 0)
    result = fit(adapter, adapter.encode(data.train), TrainConfig(**cfg), seed=0, progress=False)
    return adapter, result


def test_counting_flops_changes_nothing_that_trains(monkeypatch):
    cfg = {"epochs": 2, "batch_size": 16}
    counted, r1 = trained(cfg)
    with monkeypatch.context() as m:
        plain, r2 = trained(cfg, count=False, monkeypatch=m)
    for (k, a), (_, b) in zip(counted.model.state_dict().items(), plain.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert r1.flops > 0 and r2.flops == 0 and r1.steps == r2.steps


def test_a_flop_budget_stops_at_the_first_step_past_it():
    _, r = trained({"max_flops": 2e6, "epochs": 1000, "batch_size": 16})
    assert r.stopped == "flops" and 2e6 <= r.flops < 2e6 + 16 * 64 * 16 * 2 * 3 * 4  # past it by under one step
    _, again = trained({"max_flops": 2e6, "epochs": 1000, "batch_size": 16})
    assert (again.flops, again.steps, again.best_score) == (r.flops, r.steps, r.best_score)


def test_the_schedule_decays_over_the_flop_budget():
    from nlpbench.quality.train import make_optimizer

    model = torch.nn.Linear(2, 2)
    spent = {"f": 0.0}
    cfg = TrainConfig(max_flops=100.0, schedule="linear", warmup=0.0, lr=1.0)
    opt, sched = make_optimizer(model, cfg, total_steps=10, spent=lambda: spent["f"])
    lrs = []
    for f in (30.0, 50.0, 100.0):
        spent["f"] = f
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [0.7, 0.5, 0.0]  # linear decay by the fraction of the budget spent, not by steps


def test_budget_kinds_become_train_keys():
    assert B.train_overrides({"flops": "2.0e9"}) == {"max_flops": 2e9, "epochs": B.OPEN_EPOCHS, "max_steps": None}
    assert B.train_overrides({"steps": 50}) == {"max_steps": 50}
    assert B.train_overrides({"minutes": 2})["clock_schedule"] is True
    assert B.budget_problems({"flops": -1}, "b") and B.budget_problems({"hours": 1}, "b")
    assert not B.budget_problems({"flops": "2.0e9"}, "b")
