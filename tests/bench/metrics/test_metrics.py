import numpy as np
import pytest

from nlpbench import metrics
from nlpbench.errors import BadInput


def test_accuracy_and_macro_f1_from_local_evaluate_modules():
    preds, refs = [1, 0, 1, 1, 0, 2], [1, 1, 1, 0, 0, 2]
    assert metrics.compute("accuracy", preds, refs) == {"accuracy": pytest.approx(4 / 6)}
    # per class F1: c0 P=1/2 R=1/2 -> .5 ; c1 P=2/3 R=2/3 -> 2/3 ; c2 -> 1
    assert metrics.compute("f1_macro", preds, refs)["f1_macro"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)


def test_metric_modules_load_without_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "accuracy" in metrics.available()
    assert type(metrics.load("accuracy")).__module__.endswith("accuracy")


def test_unknown_metric_suggests():
    with pytest.raises(BadInput, match="did you mean 'accuracy'"):
        metrics.load("acuracy")


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    x = np.r_[np.ones(830), np.zeros(170)]
    lo, hi = metrics.bootstrap_ci(x, seed=0)
    assert lo < 0.83 < hi and 0.04 < hi - lo < 0.06  # ~ 2*1.96*sqrt(.83*.17/1000) = 0.047
    assert metrics.bootstrap_ci(x, seed=0) == [lo, hi]
