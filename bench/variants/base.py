"""What every variant module shares: the variant record, the "can't do this one" exception, and copying an
adapter with another model (imported by build and the ONNX modules, so neither imports the other)."""
from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn


class Unsupported(Exception):
    """This variant cannot be built or run for this model; the message says why."""


@dataclass
class Variant:
    name: str
    adapter: object  # the adapter to score and time (a copy, except fp32)
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    size_bytes: int | None = None  # serialised model: torch.save of the state dict, or the ONNX file
    build_s: float = 0.0
    info: dict = field(default_factory=dict)  # what was done (quantised modules, exporter, providers)


def state_dict_bytes(model: nn.Module) -> int:
    """Size of the model as `torch.save` writes it (int8 weights and packed params included)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def copy_with_model(adapter, model: nn.Module):
    out = copy.copy(adapter)  # tokenizer, config and methods shared; only the model differs
    out.model = model
    return out
