"""What every variant module shares: the variant record and the serialised size of a model.

The "can't do this one" exception and copying an adapter with another model (`Unsupported`,
`copy_with_model`) live in `nlpbench.export`, below the models, whose ONNX exporters use them too."""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn


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
