"""The dynamic batcher alone (no LoadGen): batch closing rules, answers in request order, the test faults."""
import threading
import time

import pytest
import torch

from nlpbench.adapter import TaskInfo
from nlpbench.models.dummy import DummyAdapter, DummyConfig
from nlpbench.serve.batcher import DynamicBatcher, Fault


@pytest.fixture(scope="module")
def adapter():
    a = DummyAdapter(DummyConfig(vocab_size=50, dim=4), TaskInfo(num_labels=3, progress=False))
    a.setup(None)
    torch.manual_seed(0)
    return a


def examples(n):
    return [{"ids": list(range(4, 5 + i % 7)), "label": 0, "length": 1 + i % 7} for i in range(n)]


def run(adapter, exs, items, fault=None, **kw):
    got, done = [], threading.Event()

    def complete(answers):
        got.append(answers)
        if sum(map(len, got)) >= len(items) - (fault.drop if fault else 0):
            done.set()

    b = DynamicBatcher(adapter, exs, complete, fault=fault, **kw)
    b.start()
    t0 = time.perf_counter()
    b.submit(items)
    assert done.wait(10)
    wall = time.perf_counter() - t0
    b.stop()
    return b, got, wall


def test_full_batches_close_at_once_and_the_rest_after_max_wait(adapter):
    exs = examples(10)
    b, got, wall = run(adapter, exs, [(100 + i, i) for i in range(10)], max_batch=4, max_wait_ms=200)
    assert [len(a) for a in got] == [4, 4, 2] and dict(b.batch_sizes) == {4: 2, 2: 1}
    assert wall >= 0.2  # the last two waited for company that never came
    with torch.inference_mode():
        want = adapter.predict(adapter.collate(exs))
    assert [(q, i, p) for a in got for q, i, p in a] == [(100 + i, i, want[i]) for i in range(10)]
    assert b.padded_tokens >= b.real_tokens == sum(e["length"] for e in exs)


def test_no_wait_answers_a_lone_request_at_once(adapter):
    _, got, wall = run(adapter, examples(1), [(7, 0)], max_batch=8, max_wait_ms=0)
    assert [len(a) for a in got] == [1] and wall < 0.2


def test_faults_drop_and_reorder(adapter):
    exs = examples(4)
    _, got, _ = run(adapter, exs, [(i, i) for i in range(4)], fault=Fault(drop=1), max_batch=4, max_wait_ms=50)
    assert [q for a in got for q, _, _ in a] == [1, 2, 3]
    _, got, _ = run(adapter, exs, [(i, i) for i in range(4)], fault=Fault(reorder=True), max_batch=4, max_wait_ms=50)
    with torch.inference_mode():
        want = adapter.predict(adapter.collate(exs))
    assert [p for a in got for _, _, p in a] == want[::-1]
