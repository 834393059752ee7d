"""Optional extras (`pip install -e '.[NAME]'`): is one installed, and the one-line problem when it is not.

Checked with `importlib.util.find_spec`, so asking never imports the (often heavy) package."""
from __future__ import annotations

import importlib.util
import sys


def installed(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None  # None: the import is blocked (as tests do)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def install_command(extra: str) -> str:
    return f"pip install -e '.[{extra}]'"


def missing_extra(module: str, extra: str, what: str) -> list[str]:
    """[] when `module` imports, else the one line naming the install command (for BadInput)."""
    if installed(module):
        return []
    return [f"{what} needs the {extra} extra, which is not installed; run: {install_command(extra)}"]
