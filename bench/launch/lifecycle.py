"""A run's process lifecycle: SIGTERM and SIGHUP end it as Ctrl-C does, and workers die with their driver.

- `interrupt_on_signals`: SIGTERM (what CI cancellation, `timeout`, docker and systemd send) and SIGHUP (a
  closed terminal) raise `Interrupted`, a KeyboardInterrupt, in the driver's main thread, so they take the
  Ctrl-C path: workers stopped, finished cells kept, run.json `interrupted`, the resume command printed,
  exit 130. A signal the caller already ignores (`nohup`) stays ignored.
- `die_with_parent`: a worker gets SIGKILL from Linux when its driver dies (prctl PR_SET_PDEATHSIG, set as
  the worker starts), so a driver killed by SIGKILL leaves no worker training into its run folder.
- `sweep_stale_temp`: temporary folders named after a driver that no longer lives are removed (a SIGKILLed
  driver can't clean up after itself).
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import psutil

SIGNALS = (signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C; `signal` names it (run.json `interrupted_by`)."""

    def __init__(self, signum: int):
        self.signal = signal.Signals(signum).name
        super().__init__(self.signal)


def interrupted_by(exc: KeyboardInterrupt) -> str:
    return exc.signal if isinstance(exc, Interrupted) else "SIGINT"


@contextmanager
def interrupt_on_signals():
    """SIGTERM and SIGHUP raise `Interrupted` while inside; the previous handlers come back after. Only the
    main thread may set handlers: elsewhere (nlpbench.run from a thread) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in SIGNALS}

    def handler(signum, frame):
        for s in SIGNALS:  # the cleanup (stop workers, write run.json) runs once, not cut short by a second one
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    for s, h in old.items():
        if h is not signal.SIG_IGN:
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def die_with_parent() -> None:
    """A worker's `preexec_fn`: Linux sends it SIGKILL when the driver dies (a no-op elsewhere). Set between
    fork and exec, while the driver is surely alive, so no window is left; it only calls prctl, resolved
    beforehand (nothing to import or look up in a forked child of a threaded driver)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def temp_prefix(kind: str) -> str:
    """`nlpbench-pool-<pid>-`: a temporary folder that names its owner, for `sweep_stale_temp`."""
    return f"nlpbench-{kind}-{os.getpid()}-"


def sweep_stale_temp(kind: str) -> list[Path]:
    """Removes `nlpbench-<kind>-<pid>-*` temporary folders whose pid is dead; returns them."""
    gone = []
    for path in Path(tempfile.gettempdir()).glob(f"nlpbench-{kind}-*-*"):
        pid = path.name.removeprefix(f"nlpbench-{kind}-").split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone
