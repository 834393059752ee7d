"""FLOPs of one step: `FlopCounterMode` plus the kernels it has no formula for, and what stayed uncounted.

torch's counter knows mm/addmm/bmm/baddbmm, convolutions, and the CUDA
attention kernels (flash, efficient, cuDNN). It has no entry for what SDPA runs
on CPU (`_scaled_dot_product_flash_attention_for_cpu`), for the fused
"overrideable" backend, nor for the fused RNN kernels (`_cudnn_rnn`, and on CPU
`mkldnn_rnn_layer`, which LSTM uses when it needs gradients), so those counted
0. The formulas added here (`EXTRA_FORMULAS`):

- attention (CPU flash, overrideable): torch's own `sdpa_flop_count` /
  `sdpa_backward_flop_count` on the q/k/v shapes, as for the CUDA kernels
  (2·b·h·s_q·s_k·d for QKᵀ plus the same for ·V; the backward is 2.5× that);
  the math path decomposes into bmm, which is counted already;
- fused RNNs (cuDNN, MIOpen, oneDNN): every 2-D weight matrix (w_ih, w_hh,
  and w_hr with projections) is applied once per token per direction, so a
  forward is 2·tokens·Σ numel(weight matrices) (biases and gate
  nonlinearities are elementwise, left out as everywhere else); a backward
  is the same again for input/hidden gradients plus again for weight
  gradients when they are asked for;
- matrix-vector and dot products (`mv`, `dot`, `vdot`): 2 FLOPs per element of the matrix/vector.

"Real work" is an op whose name says matrix products: matmuls, convolutions,
attention, fused recurrences (`REAL_WORK`). Elementwise ops, norms, softmax
and embedding lookups are O(elements) and, as in torch's counter and in the
usual analytic counts (6·N·tokens), not counted. An op with real work but no
formula is named in `uncounted`, and the record says `flops_complete: false`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

aten = torch.ops.aten

REAL_WORK = re.compile(r"mm|matmul|conv(?!ert)|attention|rnn|lstm|gru|linear|einsum|addmv|^mv$|^dot$|vdot")
ELEMENTWISE_CELLS = {"aten._thnn_fused_lstm_cell", "aten._thnn_fused_gru_cell", "aten._thnn_fused_lstm_cell_backward_impl",
                     "aten._thnn_fused_gru_cell_backward", "aten._thnn_differentiable_lstm_cell_backward",
                     "aten._thnn_differentiable_gru_cell_backward"}  # fmt: skip  (gates only: the matmuls run before them)


def _shape(t) -> tuple:
    return tuple(t.shape)


def _attention(query, key, value, *args, out_val=None, **kwargs) -> int:
    return sdpa_flop_count(_shape(query), _shape(key), _shape(value))


def _attention_backward(grad_out, query, key, value, *args, out_val=None, **kwargs) -> int:
    return sdpa_backward_flop_count(_shape(grad_out), _shape(query), _shape(key), _shape(value))


def _matrices(weights) -> int:
    """Sum of numel of the 2-D weight tensors (biases are 1-D)."""
    return sum(w.numel() for w in weights if isinstance(w, torch.Tensor) and w.dim() == 2)


def _tokens(x: torch.Tensor) -> int:
    """Time steps × batch rows of an RNN input: [T, B, in], [B, T, in] or packed [sum_T, in]."""
    return x.numel() // x.shape[-1]


def _cudnn_rnn(input, weight, *args, out_val=None, **kwargs) -> int:
    return 2 * _tokens(input) * _matrices(weight)


def _cudnn_rnn_backward(input, weight, *args, out_val=None, **kwargs) -> int:
    mask = kwargs.get("output_mask", args[-1] if args else (True,) * 4)
    return 2 * _tokens(input) * _matrices(weight) * (1 + bool(mask[3]))


def _mkldnn_rnn_layer(input, w0, w1, *args, out_val=None, **kwargs) -> int:
    return 2 * _tokens(input) * _matrices([w0, w1])


def _mkldnn_rnn_layer_backward(input, w1, w2, *args, out_val=None, **kwargs) -> int:
    return 2 * 2 * _tokens(input) * _matrices([w1, w2])  # input/hidden gradients + weight gradients


def _mv(a, x, *args, out_val=None, **kwargs) -> int:
    return 2 * a.numel()  # [m, n] @ [n]


def _dot(a, b, *args, out_val=None, **kwargs) -> int:
    return 2 * a.numel()


def _raw(fn):
    fn._get_raw = True  # FlopCounterMode passes tensors (not shapes) to formulas marked raw
    return fn


EXTRA_FORMULAS = {
    aten._scaled_dot_product_flash_attention_for_cpu: _raw(_attention),
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _raw(_attention_backward),
    aten._scaled_dot_product_fused_attention_overrideable: _raw(_attention),
    aten._scaled_dot_product_fused_attention_overrideable_backward: _raw(_attention_backward),
    aten._cudnn_rnn: _raw(_cudnn_rnn),
    aten._cudnn_rnn_backward: _raw(_cudnn_rnn_backward),
    aten.miopen_rnn: _raw(_cudnn_rnn),
    aten.miopen_rnn_backward: _raw(_cudnn_rnn_backward),
    aten.mkldnn_rnn_layer: _raw(_mkldnn_rnn_layer),
    aten.mkldnn_rnn_layer_backward: _raw(_mkldnn_rnn_layer_backward),
    aten.mv: _raw(_mv),
    aten.dot: _raw(_dot),
    aten.vdot: _raw(_dot),
}

# Every kernel `F.scaled_dot_product_attention` can dispatch to, forward and backward (the math
# path decomposes into bmm). A test checks each has a formula.
SDPA_KERNELS = (
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable", "_flash_attention_forward", "_efficient_attention_forward",
)  # fmt: skip


def is_real_work(op_name: str) -> bool:
    return op_name not in ELEMENTWISE_CELLS and bool(REAL_WORK.search(op_name.split(".", 1)[-1]))


class CountingMode(FlopCounterMode):
    """FlopCounterMode with `EXTRA_FORMULAS`, remembering the real-work ops it had no formula for."""

    def __init__(self):
        super().__init__(display=False, custom_mapping=EXTRA_FORMULAS)
        self.uncounted: set[str] = set()

    def _count_flops(self, func_packet, out, args, kwargs):
        if func_packet not in self.flop_registry and is_real_work(str(func_packet)):
            self.uncounted.add(str(func_packet))
        return super()._count_flops(func_packet, out, args, kwargs)


@dataclass
class Work:
    flops: int  # floating-point operations of one iteration (0 when none counted)
    uncounted: list[str] = field(default_factory=list)  # real-work ops with no formula

    @property
    def complete(self) -> bool:
        return not self.uncounted


class track_flops:
    """`with track_flops() as work: step()` -> `work.result` (Work: flops, uncounted op names)."""

    def __enter__(self) -> track_flops:
        self._mode = CountingMode()
        self._mode.__enter__()
        self.result: Work | None = None
        return self

    def __exit__(self, *exc) -> None:
        self._mode.__exit__(*exc)
        self.result = Work(int(self._mode.get_total_flops()), sorted(self._mode.uncounted))
