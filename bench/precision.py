"""Precision names (`fp32`, `bf16`, `fp16`) and the one autocast the harness uses for them."""
from __future__ import annotations

import contextlib

import torch

TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
NAMES = tuple(TORCH_DTYPES)


def autocast(device: torch.device, dtype: str) -> contextlib.AbstractContextManager:
    """`torch.autocast` to `dtype` on `device`; nothing for fp32 (reduced precision is autocast, never a cast
    of the weights, so the same checkpoint serves every dtype)."""
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=TORCH_DTYPES[dtype])
