"""train_step is the trainer's update: clipping, scheduler and scaler included."""
import torch

from nlpbench.perf.cell import build_adapter
from nlpbench.perf.modes import make_workload


def test_train_step_clips_and_steps_the_schedule_like_the_trainer(make_spec, monkeypatch):
    clipped = []
    real_clip = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda p, n, **kw: (clipped.append(n), real_clip(p, n, **kw))[1])
    adapter, batch = build_adapter(make_spec(mode="train_step"))
    work = make_workload(adapter, batch, "train_step", "fp32", train={"clip_norm": 0.5, "schedule": "linear", "warmup": 10})
    lrs = []
    for _ in range(3):
        work.step()
        lrs.append(work.optimizer.param_groups[0]["lr"])
    assert clipped == [0.5] * 3
    assert lrs[0] < lrs[1] < lrs[2]  # linear warm-up over 10 steps: the scheduler steps every iteration


def test_train_step_without_clip_norm_does_not_clip(make_spec, monkeypatch):
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    adapter, batch = build_adapter(make_spec(mode="train_step"))
    make_workload(adapter, batch, "train_step", "fp32", train={"clip_norm": None}).step()

