"""The executors by launcher name (nlpbench.launch.jobs): `inline`, `process`, `ray`."""
from __future__ import annotations

from collections.abc import Callable

from nlpbench.launch.jobs import Queue, inline


def get_executor(launcher: str, **options) -> Callable[[Queue], None]:
    """The executor for a launcher name: `inline`, `process` (options: workers, progress lines), `ray` (address)."""
    if launcher == "inline":
        return inline
    if launcher == "process":
        from nlpbench.launch.process import Processes

        return Processes(**options)
    if launcher == "ray":
        from nlpbench.launch.ray import OnRay

        return OnRay(**options)
    raise ValueError(f"no executor named '{launcher}'")
