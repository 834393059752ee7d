"""`compile: true` for every mode: what a step calls is what gets compiled.

`torch.compile(model)` wraps only `model.__call__`. `forward` and `train_step`
go through it; decoding does not: it calls model methods such as `encode`,
`decode` or `step` directly, so a wrapped model would decode eagerly (0 dynamo
frames) under a "+compile" label. For `generate`, the adapter names the model
methods decoding calls (`decoding_methods`, a class attribute) and each is
replaced on the model instance by its compiled version. An adapter that names
none cannot have its decoding compiled: the cell is refused before the run
(`check_generate_compile`, exit 2) rather than timed eagerly.
"""

from __future__ import annotations

import contextlib

import torch

from nlpbench.adapter import hook
from nlpbench.errors import BadInput


def decoding_methods(adapter_cls) -> tuple[str, ...]:
    return tuple(hook(adapter_cls, "decoding_methods", ()))


def check_generate_compile(adapter_cls, label: str, at: str) -> list[str]:
    """Problems (one line each) with compiling `label`'s generate cells; empty when it can be done."""
    if decoding_methods(adapter_cls):
        return []
    return [f"{at}: compile with mode 'generate' needs adapter '{getattr(adapter_cls, 'name', label)}' to name the "
            f"model methods decoding calls (decoding_methods); model '{label}' names none. "
            f"Allowed: perf.compile=false, or drop 'generate' from perf.modes"]  # fmt: skip


def compile_model(adapter, mode: str, backend: str = "inductor") -> None:
    """Compiles in place what `mode`'s step calls (the model, and for generate its decoding methods)."""
    adapter.model = torch.compile(adapter.model, backend=backend)
    if mode != "generate":
        return
    names = decoding_methods(type(adapter))
    if not names:
        raise BadInput(f"perf.compile: adapter '{type(adapter).__name__}' names no decoding_methods to compile")
    inner = adapter.model._orig_mod
    for name in names:
        method = getattr(inner, name, None)
        if not callable(method):
            raise BadInput(f"perf.compile: decoding method '{name}' is not on {type(inner).__name__}")
        setattr(inner, name, torch.compile(method, backend=backend))  # an instance attribute shadows the class's method


@contextlib.contextmanager
def eager(adapter):
    """The uncompiled model and methods for the duration (the FLOP pass counts the eager step)."""
    compiled = adapter.model
    inner = getattr(compiled, "_orig_mod", compiled)
    shadowed = {n: inner.__dict__.pop(n) for n in decoding_methods(type(adapter)) if n in inner.__dict__}
    adapter.model = inner
    try:
        yield
    finally:
        adapter.model = compiled
        inner.__dict__.update(shadowed)


def compiled_frames() -> int:
    """Frames dynamo has compiled since the last `torch._dynamo.reset()`-and-counters-clear."""
    from torch._dynamo.utils import counters

    return int(counters["frames"]["ok"])
