"""Errors the CLI turns into exit codes.

`BadInput` carries *every* problem found (config, paths, data), one line each,
so a user fixes them all in one go; the CLI prints them and exits 2.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

import torch


class BadInput(Exception):
    """Bad config, paths or data. `problems` is a list of one-line messages."""

    def __init__(self, problems: str | Iterable[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """' — did you mean 'x'?' or '' when nothing is close."""
    close = difflib.get_close_matches(str(given), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def unknown_name(kind: str, given: str, choices: Iterable[str]) -> str:
    """The standard lookup error line: unknown adapter 'lstmm' — did you mean 'lstm'? available: ..."""
    choices = sorted(choices)
    hint = did_you_mean(given, choices)
    sep = "" if hint else " —"
    return f"unknown {kind} '{given}'{hint}{sep} available: {', '.join(choices)}"


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text  # also when torch.compile re-wraps it


def error_message(exc: BaseException, limit: int = 600) -> str:
    text = "; ".join(exc.problems) if isinstance(exc, BadInput) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 3] + "..."
