"""FLOP counting: attention and fused RNN kernels counted, against analytic counts; gaps reported."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import nlpbench.models  # noqa: F401  (registers the adapters)
from nlpbench.perf.cell import build_adapter
from nlpbench.perf.flops import EXTRA_FORMULAS, SDPA_KERNELS, CountingMode, is_real_work, track_flops
from nlpbench.perf.modes import make_workload

B, S, D, L, FF, C = 2, 64, 64, 2, 128, 2  # a small shape: attention is ~20% of the total here


def forward_flops(make_spec, adapter: str, params: dict) -> tuple[int, list]:
    spec = make_spec(adapter=adapter, name=adapter, params=params, batch_size=B, seq_len=S)
    adapter, batch = build_adapter(spec)
    work = make_workload(adapter, batch, "forward", "fp32")
    with track_flops() as counted, work.context():
        work.step()
    return counted.result.flops, counted.result.uncounted


def encoder_analytic(b: int, s: int, d: int, ff: int, layers: int) -> int:
    """Linears (q, k, v, out, two feed-forward) at 2 FLOPs per multiply-add, plus QKᵀ and ·V: 4·b·s²·d."""
    linears = 2 * b * s * (4 * d * d + 2 * d * ff)
    return layers * (linears + 4 * b * s * s * d)


def test_transformer_classifier_forward_matches_analytic_count(make_spec):
    params = {"vocab_size": 500, "d_model": D, "n_heads": 2, "n_layers": L, "d_ff": FF}
    flops, uncounted = forward_flops(make_spec, "transformer", params)
    analytic = encoder_analytic(B, S, D, FF, L) + 2 * B * D * C  # + the head on the pooled vector
    assert uncounted == []
    assert flops == pytest.approx(analytic, rel=0.02)


def test_bert_forward_matches_analytic_count(make_spec):
    params = {"vocab_size": 500, "hidden_size": D, "num_layers": L, "num_heads": 2, "intermediate_size": FF}
    flops, uncounted = forward_flops(make_spec, "bert", params)
    analytic = encoder_analytic(B, S, D, FF, L) + 2 * B * D * D + 2 * B * D * C  # + pooler + classifier
    assert uncounted == []
    assert flops == pytest.approx(analytic, rel=0.02)


def test_plain_flop_counter_misses_cpu_attention():
    """Why the extra formulas exist: torch's own counter counts SDPA on CPU as 0."""
    q = torch.randn(1, 2, 32, 16)
    with FlopCounterMode(display=False) as plain, torch.no_grad():
        torch.nn.functional.scaled_dot_product_attention(q, q, q)
    with track_flops() as ours, torch.no_grad():
        torch.nn.functional.scaled_dot_product_attention(q, q, q)
    assert plain.get_total_flops() == 0
    assert ours.result.flops == 4 * 2 * 32 * 32 * 16  # 4·(b·h)·s²·d_head


def test_every_sdpa_kernel_has_a_formula():
    registry = CountingMode().flop_registry
    for name in SDPA_KERNELS:
        assert getattr(torch.ops.aten, name) in registry, name
        backward = getattr(torch.ops.aten, name + "_backward", None)
        if backward is not None and not name.startswith("_flash") and not name.startswith("_efficient"):
            assert backward in registry, name + "_backward"


def lstm_matrices(inp: int, h: int, layers: int, dirs: int, gates: int = 4) -> int:
    first, rest = gates * h * (inp + h), gates * h * (h * dirs + h)
    return dirs * (first + (layers - 1) * rest)


def test_lstm_forward_and_backward_count_the_fused_kernel():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
    x = torch.randn(5, 3, 8)  # [T, B, in]: 15 tokens
    forward = 2 * 15 * lstm_matrices(8, 16, 2, 2)
    with track_flops() as inference, torch.no_grad():
        lstm(x)
    with track_flops() as training:  # with gradients CPU dispatches to mkldnn_rnn_layer, once uncounted
        lstm(x)[0].sum().backward()
    assert inference.result.flops == forward and training.result.flops == 3 * forward
    assert training.result.uncounted == []


def test_cudnn_rnn_formula_on_meta_tensors():
    """`_cudnn_rnn` cannot run on a CPU machine; its formula is checked on the argument shapes cuDNN gets."""
    T, Bt, I, H = 7, 3, 10, 20
    weights = [torch.empty(3 * H, I, device="meta"), torch.empty(3 * H, H, device="meta"),
               torch.empty(3 * H, device="meta"), torch.empty(3 * H, device="meta")]  # fmt: skip  (one GRU layer)
    fwd = EXTRA_FORMULAS[torch.ops.aten._cudnn_rnn](torch.empty(T, Bt, I, device="meta"), weights)
    assert fwd == 2 * T * Bt * 3 * H * (I + H)
    bwd = EXTRA_FORMULAS[torch.ops.aten._cudnn_rnn_backward](
        torch.empty(T, Bt, I, device="meta"), weights, output_mask=[True, True, False, True]
    )
    assert bwd == 2 * fwd


def test_uncounted_real_work_is_named():
    mode = CountingMode()
    del mode.flop_registry[torch.ops.aten._scaled_dot_product_flash_attention_for_cpu]  # as if torch lacked it
    q = torch.randn(1, 2, 8, 4)
    with mode, torch.no_grad():
        torch.nn.functional.scaled_dot_product_attention(q, q, q)
        torch.relu(q)  # elementwise: not real work
    assert mode.uncounted == {"aten._scaled_dot_product_flash_attention_for_cpu"}


def test_real_work_names():
    assert is_real_work("aten.mm") and is_real_work("aten._cudnn_rnn") and is_real_work("aten.convolution")
    assert not is_real_work("aten.relu") and not is_real_work("aten._convert_indices_from_coo_to_csr")
    assert not is_real_work("aten._thnn_fused_lstm_cell") and not is_real_work("aten.native_layer_norm")
