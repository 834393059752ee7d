"""Memory: weights, optimizer state and activations apart; the same cell reads the same peak anywhere."""
import pytest
import torch

from nlpbench.launch.cells import run_in_process, run_inline
from nlpbench.perf.footprint import cpu_allocations, weight_bytes

TINY = {"vocab_size": 500, "d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64}


def test_same_cell_reads_the_same_peak_inline_three_times_and_in_a_process(make_spec):
    spec = make_spec(adapter="transformer", name="t", params=TINY, batch_size=4, seq_len=64, min_iters=3)
    records = [run_inline(spec) for _ in range(3)] + [run_in_process(spec)]
    assert [r["status"] for r in records] == ["ok"] * 4, [r.get("error") for r in records]
    peaks = [r["peak_memory_mb"] for r in records]
    assert max(peaks) <= 1.10 * min(peaks), peaks
    assert all(r["activations_mb"] > 0 and r["weights_mb"] > 0 for r in records)


def test_train_step_keeps_adamw_state_apart_from_activations(make_spec):
    rec = run_inline(make_spec(adapter="transformer", name="t", params=TINY, mode="train_step", min_iters=2))
    assert rec["state_mb"] == pytest.approx(2 * rec["weights_mb"], rel=1e-3)  # AdamW: exp_avg, exp_avg_sq, steps
    assert rec["peak_memory_mb"] == pytest.approx(rec["weights_mb"] + rec["state_mb"] + rec["activations_mb"])


def test_allocator_peak_sees_a_tensor_freed_inside():
    with cpu_allocations() as a:
        x = torch.ones(2**20)  # 4 MiB
        del x
        y = torch.ones(2**18)  # 1 MiB, after the 4 MiB went back
    assert a.peak == 4 * 2**20
    del y


def test_weight_bytes_counts_tied_weights_once():
    emb = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    assert weight_bytes(torch.nn.ModuleList([emb, head])) == 10 * 4 * 4
