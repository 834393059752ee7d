"""Adapter registry: `@register_adapter("name")` plus the `nlpbench.adapters` entry-point group.

As lm-evaluation-harness's `@register_model`: adapters in `models/` register on
import; third-party packages add theirs through an entry point
(`[project.entry-points."nlpbench.adapters"] myname = "mypkg.mod:MyAdapter"`)
without editing this repo. Only registered names are ever imported from a suite.
"""
from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from nlpbench.contract import static_problems
from nlpbench.errors import BadInput, clip, shown, unknown_name

_ADAPTERS: dict[str, type] = {}
_loaded = False


def register_adapter(name: str):
    """Class decorator: registers an adapter class under `name` (sets `cls.name`)."""

    def wrap(cls):
        if name in _ADAPTERS and _ADAPTERS[name] is not cls:
            raise ValueError(f"adapter '{name}' registered twice")
        if problems := static_problems(cls):  # lm-eval asserts its base class; we check the protocol
            raise TypeError(f"adapter '{name}' ({cls.__module__}.{cls.__qualname__}) breaks the adapter contract: "
                            + "; ".join(problems))
        if ":" not in name or "name" not in vars(cls):  # `module:Class` keeps a short name it registered under
            cls.name = name
        _ADAPTERS[name] = cls
        return cls

    return wrap


def register_object(name: str, cls: type) -> type:
    """The Python API's `adapters={name: cls}` (nlpbench.plugins, which checks it first): registered under
    `name`, replacing an earlier object of that name (a notebook cell run again)."""
    _ADAPTERS.pop(name, None)
    return register_adapter(name)(cls)


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from nlpbench.models import BUILTIN

    for name in BUILTIN:
        import_module(f"nlpbench.models.{name}")  # registers it

    for ep in entry_points(group="nlpbench.adapters"):
        if ep.name not in _ADAPTERS:
            register_adapter(ep.name)(ep.load())


def adapters() -> dict[str, type]:
    _load_all()
    return dict(sorted(_ADAPTERS.items()))


def import_adapter(ref: str) -> type:
    """`module:Class` named in a suite: imported and registered under that reference (contract checked)."""
    module, _, qualname = ref.partition(":")
    try:
        obj = import_module(module)
    except (ImportError, ValueError, TypeError) as e:  # also an empty or relative module name (':X', '.x:X')
        raise BadInput(f"adapter {shown(ref)}: cannot import module {shown(module)} ({clip(str(e))})") from None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise BadInput(f"adapter {shown(ref)}: module {shown(module)} has no class {shown(qualname)}")
    if ref not in _ADAPTERS:  # a class that registered itself under a short name is registered here again
        try:
            register_adapter(ref)(obj)
        except TypeError as e:
            raise BadInput(str(e)) from None
    return _ADAPTERS[ref]


def get_adapter(name: str) -> type:
    """The adapter class for `name` (a registered name, or `module:Class`); a built-in one is imported alone
    (a perf child starts fast)."""
    if ":" in name:
        return _ADAPTERS.get(name) or import_adapter(name)
    module = name.replace("-", "_")  # `hf-classifier` lives in models/hf_classifier.py
    if name not in _ADAPTERS and module.isidentifier():
        try:
            import_module(f"nlpbench.models.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"nlpbench.models.{module}":
                raise
    if name in _ADAPTERS:
        return _ADAPTERS[name]
    table = adapters()
    if name not in table:
        raise BadInput(unknown_name("adapter", name, table))
    return table[name]
